// Keeps each node's Slurm Weight in step with its efficiency (node_weights.h), so that
// select/cons_tres fills the nodes that spend the least facility power per GPU first.
//
// Every round it reads every node's Weight from slurmctld, works out each node's figure (its
// fresh measured power where the power source has one, the register's figures otherwise) and
// the step NextWeight gives, and writes the weights that differ. Each write is logged with the
// node, the old and the new weight and why, counted, and recorded in the audit log when one is
// given (NodeWeightRecord: "set", "changed" or "reapplied"), so that auditors can see why a
// node was preferred; the round's records are appended together once its weights are written.
// A record the log refuses is logged and counted, not retried: weights never wait for the log.
// slurmctld forgets run-time weights on `scontrol reconfigure` and on restart: the next round
// sees the node's slurm.conf weight and sets sovereignd's back (counted as re-applied).
// sovereignd owns the Weight of every node the register covers while this runs: a weight set
// by hand is set back the same way.
//
// Nothing survives a restart of sovereignd: its first round sets every node's figure again.
//
// Thread-safety: RunOnce() and stats() may be called from any thread (rounds are serialised);
// the background thread is owned.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "cluster_reader.h"
#include "power/power_source.h"
#include "slurm_loops/node_weights.h"
#include "sovereign/audit_log.h"
#include "sovereign/periodic_worker.h"
#include "sovereign/register.h"

namespace sovereign::service {

struct WeightTunerOptions {
  // How often weights are checked (and a reset weight set back).
  std::chrono::milliseconds interval{30000};
  WeightPolicy policy;
  // Where nodes come from and where weights go; the defaults ask slurmctld through libslurm.
  std::function<absl::StatusOr<std::vector<slurm::NodeWeightRow>>()> read_nodes;
  std::function<absl::Status(const std::string& node, uint32_t weight)> set_weight;
  // Fresh power readings by host (PowerSource::Readings); unset: register figures only.
  std::function<std::map<std::string, power::PowerReading>()> readings;
  std::function<absl::Time()> clock = absl::Now;
  // Where each weight written is recorded (not owned; must outlive the tuner); null: nowhere.
  audit::AuditLog* log = nullptr;
};

class WeightTuner {
 public:
  // `current` returns the register in force (null: no round is run).
  WeightTuner(WeightTunerOptions options, std::function<std::shared_ptr<const Register>()> current);
  ~WeightTuner();
  WeightTuner(const WeightTuner&) = delete;
  WeightTuner& operator=(const WeightTuner&) = delete;

  // One round now. UNAVAILABLE when slurmctld does not answer; a weight slurmctld refuses is
  // counted, logged and tried again next round, and the round goes on with the other nodes.
  absl::Status RunOnce();
  void Start();

  // What `sovereignctl status` shows of a node.
  struct NodeView {
    std::string node;
    uint32_t weight = 0;   // the weight sovereignd set (0: none yet)
    uint32_t desired = 0;  // what its figure gives now
    NodeFigure figure;
    absl::Time changed_at = absl::InfinitePast();
  };
  struct Stats {
    int64_t rounds = 0;
    int64_t failures = 0;      // rounds that could not read the nodes
    int64_t changes = 0;       // weights written for a first or new figure
    int64_t reapplied = 0;     // weights written back after slurmctld had forgotten them
    int64_t set_failures = 0;  // writes slurmctld refused
    int64_t record_failures = 0;  // weights written that the audit log failed to record
    std::string error;         // the last failure while it lasts
    std::vector<NodeView> nodes;
  };
  Stats stats() const;

 private:
  // Appends the round's records of weights written to the log, if any; a failure is counted.
  void Record(std::vector<audit::AuditRecord> records);

  const WeightTunerOptions options_;
  const std::function<std::shared_ptr<const Register>()> current_;
  mutable std::mutex mu_;  // guards the members below and serialises rounds
  std::map<std::string, NodeWeightState> state_;
  std::map<std::string, NodeView> views_;
  Stats counters_;  // its `nodes` stays empty: views_ holds them
  bool failing_ = false;
  std::set<std::string> refused_;                 // nodes whose last weight write slurmctld refused
  bool record_failing_ = false;                   // the last append to the log failed
  PeriodicWorker worker_;
};

}  // namespace sovereign::service
