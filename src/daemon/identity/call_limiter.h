// How much a caller without a role may ask of sovereignd: calls per second per uid, and
// streams open at once per uid. What such a caller can do (Explain, read its own decisions and
// the register, watch its own decisions) writes nothing, but it costs CPU and, for a stream, a
// server thread for as long as the stream stays open; without a bound one local user could
// starve the Slurm controller's calls.
//
// Calls: a token bucket per uid, `burst` calls at once, refilled at `calls_per_second`.
// Streams: at most `streams` open at once per uid. Callers with a role (service, admin,
// auditor) are trusted and never limited: slurmctld's user is never slowed by anyone's load.
//
// Thread-safety: thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "identity/caller.h"

namespace sovereign::service {

struct CallLimits {
  double calls_per_second = 20;
  int burst = 40;
  int streams = 4;
};

class CallLimiter {
 public:
  explicit CallLimiter(CallLimits limits, std::function<absl::Time()> now = absl::Now);
  CallLimiter(const CallLimiter&) = delete;
  CallLimiter& operator=(const CallLimiter&) = delete;

  // OK, or RESOURCE_EXHAUSTED saying which limit and when to try again: "uid=65534(nobody)
  // is over its limit of 20 calls a second (40 at once; limits.user_calls_per_second and
  // limits.user_burst in sovereignd.yaml): try again in 50ms".
  absl::Status Admit(const Caller& caller);

  // A stream's slot, held until the slot is destroyed (the stream ends).
  class StreamSlot {
   public:
    StreamSlot() = default;
    StreamSlot(StreamSlot&& other) noexcept;
    StreamSlot& operator=(StreamSlot&& other) noexcept;
    ~StreamSlot();

   private:
    friend class CallLimiter;
    StreamSlot(CallLimiter* limiter, uint32_t uid) : limiter_(limiter), uid_(uid) {}
    CallLimiter* limiter_ = nullptr;  // null: nothing held (a caller with a role)
    uint32_t uid_ = 0;
  };
  // For a stream (after Admit): a slot while fewer than `streams` of the caller's are open;
  // RESOURCE_EXHAUSTED otherwise: "uid=65534(nobody) already has 4 streams open
  // (limits.user_streams in sovereignd.yaml): end one first".
  absl::Status OpenStream(const Caller& caller, StreamSlot* slot);

  // Calls and streams refused since start.
  int64_t refused() const { return refused_.load(std::memory_order_relaxed); }
  const CallLimits& limits() const { return limits_; }

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time at;
    int streams = 0;
  };
  static bool Limited(const Caller& caller);
  // The bucket of `uid`, made full when it has none. Needs mu_.
  Bucket& BucketLocked(uint32_t uid, absl::Time now);
  absl::Status AdmitLocked(const Caller& caller, absl::Time now);
  void CloseStream(uint32_t uid);

  const CallLimits limits_;
  const std::function<absl::Time()> now_;
  std::mutex mu_;
  absl::flat_hash_map<uint32_t, Bucket> buckets_;  // guarded by mu_
  std::atomic<int64_t> refused_{0};
};

}  // namespace sovereign::service
