// How sovereignd chooses each node's Slurm Weight: select/cons_tres gives a job the nodes of
// lowest Weight first, so a node that spends less facility power per GPU gets a lower Weight.
//
// A node's figure is facility watts per busy GPU, from the register's partition it belongs to
// (the first of its partitions the register declares) and the site of that partition:
//   measured:  (mean fresh DCGM watts per GPU of the node + node_watts / gpus_per_node) x PUE
//   register:  (gpu_watts                                 + node_watts / gpus_per_node) x PUE
// The measurement replaces only the GPUs' part: DCGM reports GPU power, not the node's CPUs,
// memory and fans, nor the building's cooling, so the register's share of those stays in both
// and measured and register figures compare fairly. A node in no partition of the register has
// no figure, and its Weight is left alone.
//
// The Weight is that figure in whole watts, clamped to 1..65000 (WeightOf). A figure is a
// physical quantity an admin can read back in `scontrol show node`, and it stays comparable
// across partitions and across rounds, where a rank would renumber every node whenever one
// node moves.
//
// When a node's Weight changes (NextWeight): the first time sovereignd sees a node it sets the
// figure's weight at once; a Weight slurmctld reset (scontrol reconfigure, a restart) is set
// back at once to what sovereignd set last; a new figure replaces the one set only when it moved
// by more than `hysteresis` (a fraction of the weight set) and at least `min_interval` after the
// node's last change, so that noisy readings do not reshuffle the cluster.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "power/power_source.h"
#include "sovereign/register.h"

namespace sovereign::service {

inline constexpr uint32_t kMinWeight = 1;
inline constexpr uint32_t kMaxWeight = 65000;

enum class FigureSource { kMeasured, kRegister };
const char* FigureSourceName(FigureSource s);  // "measured", "register"

struct NodeFigure {
  double watts_per_gpu = 0;  // facility watts per busy GPU
  FigureSource source = FigureSource::kRegister;
  std::string partition;  // the register partition the node's overheads come from
  double gpu_watts = 0;   // the GPUs' part: measured, or the register's gpu_watts
  int samples = 0;        // measured: the readings averaged
  absl::Time measured_at = absl::InfinitePast();  // measured: the newest of them
};

// The figure of a node in `partitions` (Slurm's list), with its fresh power reading if any;
// nullopt when none of its partitions is in the register.
std::optional<NodeFigure> FigureOf(const std::vector<std::string>& partitions, const Register& reg,
                                   const power::PowerReading* reading);

// The Weight of a figure: round(watts per GPU), clamped to kMinWeight..kMaxWeight.
uint32_t WeightOf(double watts_per_gpu);

struct WeightPolicy {
  // A new figure replaces the weight set only after this long since the node's last change.
  absl::Duration min_interval = absl::Minutes(5);
  // ... and only when it differs from the weight set by more than this fraction of it.
  double hysteresis = 0.05;
};

// What sovereignd last did to a node's Weight.
struct NodeWeightState {
  std::optional<uint32_t> set;                   // the weight it set; none yet
  absl::Time changed_at = absl::InfinitePast();  // when `set` last changed
  std::optional<NodeFigure> figure;              // the figure `set` came from
};

enum class WeightAction {
  kKeep,     // the node keeps its weight (also: a new figure held back by the policy)
  kFirst,    // sovereignd's first weight for the node
  kChange,   // a new figure's weight
  kReapply,  // slurmctld forgot the weight set (reconfigure, restart): set it again
};
const char* WeightActionName(WeightAction a);

struct WeightStep {
  WeightAction action = WeightAction::kKeep;
  uint32_t weight = 0;  // what the node should have now
  bool write = false;   // slurmctld's weight differs from it
};

// The step for a node whose Weight in slurmctld is `current` and whose figure now gives
// `desired`.
WeightStep NextWeight(const NodeWeightState& state, uint32_t current, uint32_t desired,
                      absl::Time now, const WeightPolicy& policy);

}  // namespace sovereign::service
