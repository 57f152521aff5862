#include "sovereign/did_you_mean.h"

#include "register_internal.h"

namespace sovereign {

std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string>& candidates) {
  return register_internal::ClosestMatch(absl::string_view(word.data(), word.size()), candidates);
}

}  // namespace sovereign
