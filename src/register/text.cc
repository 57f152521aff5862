#include "sovereign/text.h"

#include "register_internal.h"

namespace sovereign {

std::optional<absl::Duration> ParseDuration(std::string_view text) {
  return register_internal::ParseDuration(absl::string_view(text.data(), text.size()));
}

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  return register_internal::ClosestMatch(absl::string_view(word.data(), word.size()), candidates);
}

}  // namespace sovereign
