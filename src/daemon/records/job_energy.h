// A finished job's measured energy, from a power source's integrals over its nodes and run.
//
// The job's GPUs' share of each node's measured GPU energy is its GPUs there (its allocated
// GPUs split evenly over its nodes) times the node's integral of power per allocated GPU
// (power::PowerSource): idle GPUs of a partly used node are shared among the jobs on it. The
// part of the run without readings is filled in at the measured mean (the record says how much
// was measured); a run measured on less than `min_coverage` of its length on any node is not
// measured. Node power besides the GPUs (CPUs, memory, fans) and the facility's overhead are
// not measured here: the register's node_watts and PUE of the partition complete the figure, so
// that it compares with the decision's estimate.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sovereign::service {

// A node's measured GPU energy over a range (power::HostEnergy, as the reconciler needs it).
struct NodeEnergy {
  double joules_per_allocated_gpu = 0;
  absl::Duration covered;                    // how much of the range was measured
  absl::Time newest = absl::InfinitePast();  // the newest reading the source has of the node
};
using NodeEnergyFn =
    std::function<std::optional<NodeEnergy>(const std::string& node, absl::Time, absl::Time)>;

// x to six decimals (a Wh in a kWh figure): the figures records keep, without float noise.
double Round6(double x);

// Every figure to six decimals, as the outcome record keeps it.
struct MeasuredJobEnergy {
  double gpu_kwh = 0;    // the job's GPUs, measured (scaled to the whole run)
  double node_kwh = 0;   // the rest of its nodes, from the register (node_watts)
  double pue = 1;        // from the register
  double kwh = 0;        // (gpu_kwh + node_kwh) x pue: comparable to the decision's estimate
  double gpu_hours = 0;  // GPUs x run time
  double coverage = 0;   // the share of the run measured, on its least measured node
  std::string from = "dcgm";
};

struct JobEnergyInput {
  std::vector<std::string> nodes;
  int gpus = 0;  // allocated, all nodes together
  absl::Time start, end;
  double node_watts = 0;
  double pue = 1;
};

// The job's measured energy. UNAVAILABLE while a node has no reading after the job's end yet
// and `now` is less than `patience` after it (ask again later); FAILED_PRECONDITION, saying
// why, when it cannot be measured (no GPUs, a node the source does not measure, too little of
// the run measured).
absl::StatusOr<MeasuredJobEnergy> MeasureJobEnergy(const NodeEnergyFn& energy_over,
                                                   const JobEnergyInput& job, absl::Time now,
                                                   absl::Duration patience,
                                                   double min_coverage = 0.8);

}  // namespace sovereign::service
