// The Prometheus text exposition format (version 0.0.4), as exporters such as NVIDIA's DCGM
// exporter serve it on /metrics: one sample a line,
//   metric_name{label="value",...} value [timestamp_ms]
// with `#` lines (comments, # HELP, # TYPE) and blank lines in between.
//
// A pure function: sovereignd's power source (power_source.h) fetches the text, this reads it.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace sovereign::power {

struct PromSample {
  std::string name;
  // In the order written, escapes (\\, \", \n) resolved.
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;                     // NaN, +Inf and -Inf as written
  std::optional<int64_t> timestamp_ms;  // milliseconds since the Unix epoch, when given

  // The value of label `key`, or nullptr.
  const std::string* Label(std::string_view key) const;
};

// Every sample of `text`. INVALID_ARGUMENT at the first line that is not a sample, a comment or
// blank: "<source>:<line>: <what is wrong>: <the line, quoted>".
absl::StatusOr<std::vector<PromSample>> ParsePrometheusText(std::string_view text,
                                                            std::string_view source);

}  // namespace sovereign::power
