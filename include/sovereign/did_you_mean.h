// The one "did you mean" rule of every message about an unknown name: a register key or
// reference, a dataset, a key of sovereignd's config or of the plugin's settings.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sovereign {

// The closest of `candidates` to `word` when it is an obvious typo (a small edit distance and
// no tie), else nullopt.
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates);

}  // namespace sovereign
