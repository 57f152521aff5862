#include "records/job_energy.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace sovereign::service {

double Round6(double x) { return std::round(x * 1e6) / 1e6; }

absl::StatusOr<MeasuredJobEnergy> MeasureJobEnergy(const NodeEnergyFn& energy_over,
                                                   const JobEnergyInput& job, absl::Time now,
                                                   absl::Duration patience, double min_coverage) {
  if (job.gpus <= 0 || job.nodes.empty()) {
    return absl::FailedPreconditionError("the job had no GPUs");
  }
  const absl::Duration run = job.end - job.start;
  if (run < absl::Seconds(1)) {
    return absl::FailedPreconditionError("the job ran for less than a second");
  }
  const double gpus_per_node = static_cast<double>(job.gpus) / job.nodes.size();
  double joules = 0;
  double coverage = 1;
  std::string least;  // the least measured node
  for (const std::string& node : job.nodes) {
    std::optional<NodeEnergy> e = energy_over(node, job.start, job.end);
    if (!e.has_value()) {
      return absl::FailedPreconditionError(
          absl::StrCat("the power source has no readings of node ", node));
    }
    if (e->newest < job.end && now - job.end < patience) {
      return absl::UnavailableError(
          absl::StrCat("waiting for a reading of node ", node, " after the job's end"));
    }
    joules += gpus_per_node * e->joules_per_allocated_gpu;
    const double c = std::min(1.0, absl::FDivDuration(e->covered, run));
    if (c < coverage) {
      coverage = c;
      least = node;
    }
  }
  if (coverage < min_coverage || coverage <= 0) {
    return absl::FailedPreconditionError(
        absl::StrFormat("node %s was measured over %.0f%% of the run (%.0f%% needed)", least,
                        100 * coverage, 100 * min_coverage));
  }
  const double hours = absl::ToDoubleHours(run);
  MeasuredJobEnergy m;
  m.gpu_kwh = Round6(joules / coverage / 3.6e6);
  m.node_kwh = Round6(job.node_watts * static_cast<double>(job.nodes.size()) * hours / 1000.0);
  m.pue = job.pue;
  m.kwh = Round6((m.gpu_kwh + m.node_kwh) * m.pue);
  m.gpu_hours = Round6(job.gpus * hours);
  m.coverage = Round6(coverage);
  return m;
}

}  // namespace sovereign::service
