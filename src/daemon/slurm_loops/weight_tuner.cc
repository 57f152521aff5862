#include "slurm_loops/weight_tuner.h"

#include "absl/strings/str_format.h"
#include "records/audit_records.h"
#include "spdlog/spdlog.h"

namespace sovereign::service {
namespace {

// Why a node gets the weight of `figure`, for the log.
std::string Why(const NodeFigure& figure) {
  if (figure.source == FigureSource::kMeasured) {
    return absl::StrFormat(
        "measured %.0f W/GPU at the facility (%.0f W per GPU, mean of %d DCGM reading%s, with "
        "partition %s's node overhead and PUE)",
        figure.watts_per_gpu, figure.gpu_watts, figure.samples, figure.samples == 1 ? "" : "s",
        figure.partition);
  }
  return absl::StrFormat(
      "register figure %.0f W/GPU at the facility for partition %s (no fresh "
      "power reading)",
      figure.watts_per_gpu, figure.partition);
}

constexpr char kReappliedWhy[] =
    "set again, slurmctld had reset it (scontrol reconfigure or a restart)";

const char* RecordVerdict(WeightAction a) {
  switch (a) {
    case WeightAction::kFirst:
      return "set";
    case WeightAction::kChange:
      return "changed";
    case WeightAction::kReapply:
      return "reapplied";
    case WeightAction::kKeep:
      break;
  }
  return "kept";  // not written, never recorded
}

// The record of a weight written: `figure` is the one the weight comes from.
audit::AuditRecord WeightRecord(const slurm::NodeWeightRow& node, const WeightStep& step,
                                const NodeFigure& figure, const std::string& why,
                                const Register& reg, absl::Time now) {
  NodeWeightWrite w;
  w.node = node.name;
  w.partitions = node.partitions;
  w.action = RecordVerdict(step.action);
  w.old_weight = node.weight;
  w.new_weight = step.weight;
  w.watts_per_gpu = figure.watts_per_gpu;
  w.source = FigureSourceName(figure.source);
  w.figure_partition = figure.partition;
  w.gpu_watts = figure.gpu_watts;
  w.samples = figure.samples;
  w.measured_at = figure.measured_at;
  w.why = why;
  w.register_version = reg.version();
  return NodeWeightRecord(w, now);
}

// The options, with slurmctld (libslurm) where a test gave no fake.
WeightTunerOptions WithDefaults(WeightTunerOptions o) {
  if (!o.read_nodes) {
    o.read_nodes = [] { return slurm::ReadNodeWeights(); };
  }
  if (!o.set_weight) {
    o.set_weight = [](const std::string& node, uint32_t weight) {
      return slurm::SetNodeWeight(node, weight);
    };
  }
  return o;
}

}  // namespace

WeightTuner::WeightTuner(WeightTunerOptions options,
                         std::function<std::shared_ptr<const Register>()> current)
    : options_(WithDefaults(std::move(options))), current_(std::move(current)) {}

WeightTuner::~WeightTuner() { worker_.Stop(); }

void WeightTuner::Start() {
  worker_.Start(options_.interval, PeriodicWorker::FirstRound::kAtOnce,
                [this] { RunOnce().IgnoreError(); });  // logged and counted inside
}

absl::Status WeightTuner::RunOnce() {
  std::lock_guard<std::mutex> lock(mu_);
  std::shared_ptr<const Register> reg = current_();
  if (reg == nullptr) {
    return absl::OkStatus();
  }
  ++counters_.rounds;
  absl::StatusOr<std::vector<slurm::NodeWeightRow>> nodes = options_.read_nodes();
  if (!nodes.ok()) {
    ++counters_.failures;
    counters_.error = std::string(nodes.status().message());
    if (!failing_) {
      failing_ = true;
      spdlog::warn("node weights: {}; weights are checked again every {} ms", counters_.error,
                   options_.interval.count());
    }
    return nodes.status();
  }
  if (failing_) {
    spdlog::info("node weights: slurmctld answers again");
  }
  failing_ = false;
  counters_.error.clear();
  const std::map<std::string, power::PowerReading> readings =
      options_.readings ? options_.readings() : std::map<std::string, power::PowerReading>();
  const absl::Time now = options_.clock();
  std::vector<audit::AuditRecord> records;  // of the weights written this round
  for (const slurm::NodeWeightRow& node : *nodes) {
    std::optional<NodeFigure> figure =
        FigureOf(node.partitions, *reg, power::FindReading(readings, node.name));
    if (!figure.has_value()) {
      views_.erase(node.name);
      continue;  // not the register's: its weight is the admin's
    }
    const uint32_t desired = WeightOf(figure->watts_per_gpu);
    NodeWeightState& state = state_[node.name];
    const WeightStep step = NextWeight(state, node.weight, desired, now, options_.policy);
    if (step.write) {
      if (absl::Status s = options_.set_weight(node.name, step.weight); !s.ok()) {
        ++counters_.set_failures;
        counters_.error = std::string(s.message());
        if (refused_.insert(node.name).second) {  // once, until a write to the node works
          spdlog::warn("node {}: weight {} -> {} refused: {}; tried again every {} ms", node.name,
                       node.weight, step.weight, counters_.error, options_.interval.count());
        }
        continue;
      }
      refused_.erase(node.name);
      if (step.action == WeightAction::kReapply) {
        ++counters_.reapplied;
        spdlog::info("node {}: weight {} -> {}: {}", node.name, node.weight, step.weight,
                     kReappliedWhy);
        records.push_back(
            WeightRecord(node, step, state.figure.value_or(*figure), kReappliedWhy, *reg, now));
      } else {
        ++counters_.changes;
        const std::string why = Why(*figure);
        spdlog::info("node {}: weight {} -> {}: {}", node.name, node.weight, step.weight, why);
        records.push_back(WeightRecord(node, step, *figure, why, *reg, now));
      }
    }
    if (step.action == WeightAction::kFirst || step.action == WeightAction::kChange) {
      state.set = step.weight;
      state.changed_at = now;
      state.figure = *figure;
    }
    NodeView& view = views_[node.name];
    view.node = node.name;
    view.weight = state.set.value_or(0);
    view.desired = desired;
    view.figure = *std::move(figure);
    view.changed_at = state.changed_at;
  }
  Record(std::move(records));
  return absl::OkStatus();
}

void WeightTuner::Record(std::vector<audit::AuditRecord> records) {
  if (options_.log == nullptr || records.empty()) {
    return;
  }
  const size_t n = records.size();
  // One transaction for the round (the first round writes every node's weight).
  absl::StatusOr<std::vector<audit::AuditRecord>> appended =
      options_.log->AppendAll(std::move(records));
  if (!appended.ok()) {
    counters_.record_failures += static_cast<int64_t>(n);
    if (!record_failing_) {  // once, until an append works again
      spdlog::warn("node weights: {} weight{} written but not recorded in the audit log: {}", n,
                   n == 1 ? "" : "s", std::string(appended.status().message()));
    }
    record_failing_ = true;
    return;
  }
  if (record_failing_) {
    spdlog::info("node weights: weights written are recorded in the audit log again");
  }
  record_failing_ = false;
}

WeightTuner::Stats WeightTuner::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s = counters_;
  for (const auto& [name, view] : views_) {
    s.nodes.push_back(view);
  }
  return s;
}

}  // namespace sovereign::service
