// Decision ids: the key that binds a job's tag, its spooled record and every audit record about
// it. Every part that makes one makes it here, in one shape:
//
//   <13 hex digits: microseconds since the epoch>-<6 hex digits: the maker's nonce>-<kind><hex counter>
//
// Time first, so that ids sort by time; a random per-process nonce and a counter keep them
// unique across processes, restarts and a backup controller. The Slurm plugin and sovereignd's
// Decide make decision ids (no kind); sovereignd's register impact marks its records "r";
// sovereign-prolog names a refused start by its job: <time>-prolog-<hex job id>.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/time/time.h"

namespace sovereign {

class DecisionIds {
 public:
  // `kind` is "" for decisions, or a short lower-case mark for another maker's records.
  explicit DecisionIds(std::string kind = "");

  // Thread-safe.
  std::string Next(absl::Time now);

 private:
  const std::string kind_;
  const uint32_t nonce_;  // 24 random bits
  std::atomic<uint64_t> counter_{0};
};

// sovereign-prolog's id for the refusal of job `job_id`'s start.
std::string PrologDecisionId(absl::Time now, uint32_t job_id);

// True for an id a client may choose (Decide's decision_id): 1..64 of [A-Za-z0-9._-].
bool IsValidDecisionId(std::string_view id);

}  // namespace sovereign
