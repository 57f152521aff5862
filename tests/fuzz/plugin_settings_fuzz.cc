// Fuzz target: the job_submit plugin's sovereign-plugin.conf (ParsePluginSettings), read by the
// plugin inside slurmctld, by sovereign-prolog and by sovereignd.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "absl/time/time.h"
#include "sovereign/plugin_settings.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto settings = sovereign::ParsePluginSettings(text, "sovereign-plugin.conf");
  // The header's promise: durations are never negative.
  if (settings.ok() && (settings->max_cluster_age < absl::ZeroDuration() ||
                        settings->user_cache_ttl < absl::ZeroDuration())) {
    std::abort();
  }
  return 0;
}
