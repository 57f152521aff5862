// Small text helpers shared by the register, placement and sovereignctl.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"

namespace sovereign {

// "90s", "30m", "2h", "1d", "1h30m": the duration syntax of the register, also used for
// `sovereignctl explain --time`. nullopt when malformed or longer than 10 years.
std::optional<absl::Duration> ParseDuration(std::string_view text);

// The closest of `candidates` to `word` when it is an obvious typo (a small edit distance and
// no tie), else nullopt. Used for "did you mean" hints.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

}  // namespace sovereign
