// Fuzz target: sovereignd's configuration file, sovereignd.yaml (ParseDaemonConfig: YAML, every
// key and value, durations, users and groups of the roles).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wiring/daemon_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view yaml(reinterpret_cast<const char*>(data), size);
  (void)sovereign::service::ParseDaemonConfig(yaml, "sovereignd.yaml");
  return 0;
}
