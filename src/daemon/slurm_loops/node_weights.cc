#include "slurm_loops/node_weights.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace sovereign::service {

const char* FigureSourceName(FigureSource s) {
  return s == FigureSource::kMeasured ? "measured" : "register";
}

const char* WeightActionName(WeightAction a) {
  switch (a) {
    case WeightAction::kKeep:
      return "keep";
    case WeightAction::kFirst:
      return "first";
    case WeightAction::kChange:
      return "change";
    case WeightAction::kReapply:
      return "reapply";
  }
  return "keep";
}

std::optional<NodeFigure> FigureOf(const std::vector<std::string>& partitions, const Register& reg,
                                   const power::PowerReading* reading) {
  for (const std::string& name : partitions) {
    const int index = reg.PartitionIndex(name);
    if (index < 0) {
      continue;
    }
    const Register::PartitionFigures& f = reg.figures(index);
    NodeFigure out;
    out.partition = name;
    if (reading != nullptr && reading->samples > 0) {
      out.source = FigureSource::kMeasured;
      out.gpu_watts = reading->watts_per_gpu;
      out.samples = reading->samples;
      out.measured_at = reading->newest;
    } else {
      out.gpu_watts = f.gpu_watts;
    }
    const double overhead = f.gpus_per_node > 0 ? f.node_watts / f.gpus_per_node : 0;
    out.watts_per_gpu = (out.gpu_watts + overhead) * f.pue;
    return out;
  }
  return std::nullopt;
}

uint32_t WeightOf(double watts_per_gpu) {
  if (!std::isfinite(watts_per_gpu)) {
    return kMaxWeight;
  }
  const double rounded = std::round(watts_per_gpu);
  return static_cast<uint32_t>(
      std::clamp(rounded, static_cast<double>(kMinWeight), static_cast<double>(kMaxWeight)));
}

WeightStep NextWeight(const NodeWeightState& state, uint32_t current, uint32_t desired,
                      absl::Time now, const WeightPolicy& policy) {
  WeightStep step;
  if (!state.set.has_value()) {
    step.action = WeightAction::kFirst;
    step.weight = desired;
  } else {
    const uint32_t set = *state.set;
    const double moved = std::abs(static_cast<double>(desired) - static_cast<double>(set));
    const bool far = moved > policy.hysteresis * static_cast<double>(set);
    const bool due = now - state.changed_at >= policy.min_interval;
    step.weight = set;
    if (desired != set && far && due) {
      step.action = WeightAction::kChange;
      step.weight = desired;
    } else if (current != set) {
      step.action = WeightAction::kReapply;
    }
  }
  step.write = current != step.weight;
  return step;
}

}  // namespace sovereign::service
