#include "sovereign/decision_id.h"

#include <sys/random.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/str_format.h"
#include "absl/time/clock.h"

namespace sovereign {
namespace {

uint32_t RandomNonce() {
  uint64_t n = 0;
  if (getrandom(&n, sizeof n, 0) != sizeof n) {
    n = static_cast<uint64_t>(getpid()) ^ static_cast<uint64_t>(absl::GetCurrentTimeNanos());
  }
  return static_cast<uint32_t>(n & 0xffffff);
}

}  // namespace

DecisionIds::DecisionIds(std::string kind) : kind_(std::move(kind)), nonce_(RandomNonce()) {}

std::string DecisionIds::Next(absl::Time now) {
  return absl::StrFormat("%013x-%06x-%s%x", absl::ToUnixMicros(now), nonce_, kind_,
                         counter_.fetch_add(1, std::memory_order_relaxed));
}

std::string PrologDecisionId(absl::Time now, uint32_t job_id) {
  return absl::StrFormat("%013x-prolog-%x", absl::ToUnixMicros(now), job_id);
}

bool IsValidDecisionId(std::string_view id) {
  if (id.empty() || id.size() > 64) {
    return false;
  }
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.';
  });
}

}  // namespace sovereign
