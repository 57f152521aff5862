// The figure AI factories report, jobs per kWh, from the audit log: for every placed job that
// ran and ended, its energy and CO2 over the time it really ran, and what its green window
// saved; summed by partition, account, region or day.
//
// A job's figures come from two records: its outcome ("ended": the start and end times Slurm
// gave) and its placement decision (the chosen partition's estimate for the job's time limit,
// and the green window's two starts). The estimate is scaled by run time / time limit. Where an
// outcome carries a measured figure ("energy_kwh_measured", from a power source), it is used
// instead and counted apart: measured and estimated kWh are never added into one column
// without saying so.
//
// Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sovereign/audit_log.h"

namespace sovereign::service {

// One ended job, from its outcome and its placement.
struct EnergyJob {
  std::string partition, account, region;
  absl::Time start = absl::InfinitePast(), end = absl::InfinitePast();
  double estimated_kwh = 0;             // the placement's estimate, scaled to the run
  double co2_grams = 0;                 // likewise
  std::optional<double> measured_kwh;   // from the outcome, when a power source measured it
  bool green_moved = false;             // the green window moved its start or partition
  double green_saved_grams = 0;         // immediate minus chosen estimate, scaled to the run
};

// INVALID_ARGUMENT naming the record when a body lacks what is needed (an outcome without
// start/end times, a decision without a chosen candidate).
absl::StatusOr<EnergyJob> EnergyJobOf(const audit::AuditRecord& outcome,
                                      const audit::AuditRecord& decision);

enum class EnergyGrouping { kPartition, kAccount, kRegion, kDay };
// "partition", "account", "region", "day"; nullopt for anything else.
std::optional<EnergyGrouping> ParseEnergyGrouping(std::string_view name);

struct EnergyRow {
  std::string key;  // the partition, account ("" = none), region, or UTC day of the job's end
  int jobs = 0;
  int measured_jobs = 0;     // of them, with a measured figure
  double measured_kwh = 0;   // their measured energy
  double estimated_kwh = 0;  // the others' estimated energy
  double co2_kg = 0;
  int green_jobs = 0;        // jobs whose green window moved them
  double green_saved_kg = 0;
  // jobs / (measured_kwh + estimated_kwh); 0 without energy.
  double jobs_per_kwh() const;
};

// One row per key, sorted by key, then the total (key "total").
std::vector<EnergyRow> SummariseEnergy(const std::vector<EnergyJob>& jobs,
                                       EnergyGrouping grouping);

// The ended jobs of [since, until) in `log`: each "ended" outcome, newest first, paired with its
// placement (looked up by decision id). A job whose placement is missing or unreadable is
// skipped and counted, the first one with why. RESOURCE_EXHAUSTED past `max_jobs` outcomes.
struct EnergyJobs {
  std::vector<EnergyJob> jobs;
  int64_t skipped = 0;
  std::string first_skipped;
};
absl::StatusOr<EnergyJobs> CollectEnergyJobs(audit::AuditLog& log, std::optional<absl::Time> since,
                                             std::optional<absl::Time> until, int64_t max_jobs);

}  // namespace sovereign::service
