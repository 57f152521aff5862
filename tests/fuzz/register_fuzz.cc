// Fuzz target: the sovereignty register, as an admin writes it (Register::Parse: YAML, every
// field, every cross-reference, the canonical form and its version). A register that parses is
// parsed again from the same text and must get the same version: the version is what the
// audit log, the snapshot and every job tag name a register by.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "sovereign/register.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  auto reg = sovereign::Register::Parse(yaml, "fuzz.yaml");
  if (reg.ok()) {
    auto again = sovereign::Register::Parse(yaml, "fuzz.yaml");
    if (!again.ok() || (*again)->version() != (*reg)->version()) {
      std::abort();
    }
  }
  return 0;
}
