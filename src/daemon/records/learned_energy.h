// What each partition's GPUs really draw per allocated GPU, learnt from its finished jobs'
// measured energy (the "ended" outcomes that carry "energy_measured", MeasureJobEnergy).
//
// A partition's learnt figure is its jobs' measured GPU kWh over their GPU-hours (so a busy
// GPU's idle neighbours on a partly used node are in it), as watts per GPU. Placement uses it
// when no live reading of the partition is fresh, and only once `min_jobs` jobs back it (the
// register's policy.learned_energy_min_jobs); it is then blended with the register's gpu_watts,
// the prior, weighted as if the register's figure were `min_jobs` jobs more:
//   (min_jobs x register + jobs x learnt) / (min_jobs + jobs).
// At start-up sovereignd reads the outcomes of the last `window` from the log, then adds every
// job it measures.
//
// Thread-safety: LearnedEnergy may be used from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "sovereign/audit_log.h"
#include "sovereign/cluster.h"

namespace sovereign::service {

// A partition's measured jobs, summed.
struct LearnedPartition {
  int64_t jobs = 0;
  double gpu_kwh = 0;
  double gpu_hours = 0;
  absl::Time newest = absl::InfinitePast();  // the end of the newest of them
  // Their GPUs' measured watts per GPU-hour (0 without GPU-hours).
  double watts_per_gpu() const { return gpu_hours > 0 ? gpu_kwh * 1000 / gpu_hours : 0; }
};

class LearnedEnergy {
 public:
  // One finished job's measured GPU energy on `partition` (jobs without GPU-hours are not).
  void Add(const std::string& partition, double gpu_kwh, double gpu_hours, absl::Time ended);
  // Adds every "ended" outcome of the log since `since` that carries a measured figure; the
  // number of jobs added.
  absl::StatusOr<int64_t> Load(audit::AuditLog& log, absl::Time since);
  std::map<std::string, LearnedPartition> Partitions() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, LearnedPartition> partitions_;
};

// The figure placement uses for a partition whose register gpu_watts is `register_watts`
// (above), or nullopt below `min_jobs` jobs (or min_jobs 0: never).
std::optional<MeasuredPower> LearnedPower(const LearnedPartition& learned, double register_watts,
                                          int min_jobs);

}  // namespace sovereign::service
