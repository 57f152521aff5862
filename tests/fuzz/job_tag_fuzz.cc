// Fuzz target: the tag in a job's admin_comment (ParseJobTag), read back by the plugin's
// job_modify guard, sovereign-prolog, the reconciler and the register impact. A tag that
// parses, formatted again (FormatJobTag), must parse to the same tag.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "sovereign/job_tag.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // admin_comment is a C string: it ends at its first NUL.
  std::string comment(reinterpret_cast<const char*>(data), size);
  auto tag = sovereign::ParseJobTag(comment.c_str());
  if (!tag.ok()) {
    return 0;
  }
  std::string formatted = sovereign::FormatJobTag(*tag);
  auto again = sovereign::ParseJobTag(formatted.c_str());
  if (!again.ok() || again->decision_id != tag->decision_id ||
      again->datasets != tag->datasets || again->region != tag->region ||
      again->register_version != tag->register_version) {
    std::abort();
  }
  return 0;
}
