#include "identity/call_limiter.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "absl/strings/str_cat.h"

namespace sovereign::service {
namespace {

// Buckets kept before the full and idle ones are forgotten (a full bucket without open streams
// is what a new one would be).
constexpr size_t kBucketsKept = 4096;

}  // namespace

CallLimiter::CallLimiter(CallLimits limits, std::function<absl::Time()> now)
    : limits_(limits), now_(std::move(now)) {}

bool CallLimiter::Limited(const Caller& caller) {
  return caller.roles == 0 && caller.transport == Caller::Transport::kUnix;
}

CallLimiter::Bucket& CallLimiter::BucketLocked(uint32_t uid, absl::Time now) {
  auto [it, fresh] = buckets_.try_emplace(uid);
  if (fresh) {  // a new caller starts with a full bucket
    it->second.tokens = limits_.burst;
    it->second.at = now;
  }
  return it->second;
}

absl::Status CallLimiter::AdmitLocked(const Caller& caller, absl::Time now) {
  Bucket& b = BucketLocked(caller.uid, now);
  b.tokens = std::min<double>(
      limits_.burst, b.tokens + absl::ToDoubleSeconds(now - b.at) * limits_.calls_per_second);
  b.at = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return absl::OkStatus();
  }
  refused_.fetch_add(1, std::memory_order_relaxed);
  const absl::Duration wait =
      absl::Milliseconds(std::ceil((1 - b.tokens) / limits_.calls_per_second * 1000));
  return absl::ResourceExhaustedError(absl::StrCat(
      caller.Describe(), " is over its limit of ", limits_.calls_per_second,
      " calls a second (", limits_.burst,
      " at once; limits.user_calls_per_second and limits.user_burst in sovereignd.yaml): try "
      "again in ",
      absl::FormatDuration(wait)));
}

absl::Status CallLimiter::Admit(const Caller& caller) {
  if (!Limited(caller)) {
    return absl::OkStatus();
  }
  const absl::Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  if (buckets_.size() > kBucketsKept) {
    absl::erase_if(buckets_, [&](const auto& entry) {
      const Bucket& b = entry.second;
      return b.streams == 0 &&
             b.tokens + absl::ToDoubleSeconds(now - b.at) * limits_.calls_per_second >=
                 limits_.burst;
    });
  }
  return AdmitLocked(caller, now);
}

absl::Status CallLimiter::OpenStream(const Caller& caller, StreamSlot* slot) {
  if (!Limited(caller)) {
    return absl::OkStatus();
  }
  const absl::Time now = now_();
  std::lock_guard<std::mutex> lock(mu_);
  Bucket& b = BucketLocked(caller.uid, now);
  if (b.streams >= limits_.streams) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    return absl::ResourceExhaustedError(
        absl::StrCat(caller.Describe(), " already has ", b.streams,
                     " streams open (limits.user_streams in sovereignd.yaml): end one first"));
  }
  ++b.streams;
  *slot = StreamSlot(this, caller.uid);
  return absl::OkStatus();
}

void CallLimiter::CloseStream(uint32_t uid) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(uid);
  if (it != buckets_.end() && it->second.streams > 0) {
    --it->second.streams;
  }
}

CallLimiter::StreamSlot::StreamSlot(StreamSlot&& other) noexcept
    : limiter_(std::exchange(other.limiter_, nullptr)), uid_(other.uid_) {}

CallLimiter::StreamSlot& CallLimiter::StreamSlot::operator=(StreamSlot&& other) noexcept {
  if (this != &other) {
    if (limiter_ != nullptr) {
      limiter_->CloseStream(uid_);
    }
    limiter_ = std::exchange(other.limiter_, nullptr);
    uid_ = other.uid_;
  }
  return *this;
}

CallLimiter::StreamSlot::~StreamSlot() {
  if (limiter_ != nullptr) {
    limiter_->CloseStream(uid_);
  }
}

}  // namespace sovereign::service
