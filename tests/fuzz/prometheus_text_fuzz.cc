// Fuzz target: the Prometheus text format (ParsePrometheusText), what a power exporter (NVIDIA's
// DCGM exporter) serves to sovereignd over HTTP.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "power/prometheus_text.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto samples = sovereign::power::ParsePrometheusText(text, "metrics");
  if (!samples.ok()) {
    // Every error names the line it is about.
    if (samples.status().message().substr(0, 8) != "metrics:") {
      std::abort();
    }
    return 0;
  }
  // Every sample read has a metric name and named labels.
  for (const sovereign::power::PromSample& s : *samples) {
    if (s.name.empty()) {
      std::abort();
    }
    for (const auto& [key, value] : s.labels) {
      if (key.empty()) {
        std::abort();
      }
    }
  }
  return 0;
}
