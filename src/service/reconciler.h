// Checks where each placed job really ran, and binds decisions to Slurm job ids.
//
// Every round it reads the jobs slurmctld knows (libslurm). For each job carrying the plugin's
// tag in admin_comment that has been given nodes, it appends one attestation record to the
// chain (AttestationRecord): the decision id, the job id, each node with its partitions and
// site, and "ok" or "violation", judged against the full residency rule (region, operator
// jurisdiction) of the register in force when the job started. A node's site comes from its
// site feature and its partitions, which must agree (SiteOfNode). A violation (a node outside
// the allowed sites: a changed slurm.conf, a manual scontrol, guards switched off, a bug) names
// the node, its site, the rule and the register, and is logged as an error.
//
// A tagged job whose decision never reached the log (the controller's machine lost the spool
// record in a power cut before its page cache was written) gets a decision record re-derived
// from the tag, marked "rederived", once the job is older than `rederive_after` (so that
// ordinary ingestion is never raced).
//
// Thread-safety: ReconcileOnce() is serialised internally; Start() runs it every `interval`.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "cluster_reader.h"
#include "sovereign/cluster.h"
#include "sovereign/audit_log.h"
#include "sovereign/register.h"

namespace sovereign::service {

struct ReconcilerOptions {
  // How often jobs are read from slurmctld.
  std::chrono::milliseconds interval{5000};
  // A tagged job whose decision is still not in the log after this long gets a re-derived one.
  absl::Duration rederive_after = absl::Minutes(2);
  // Where jobs and nodes come from; the defaults read slurmctld through libslurm.
  std::function<absl::StatusOr<std::vector<slurm::JobRow>>()> read_jobs;
  std::function<absl::StatusOr<std::vector<NodeStatus>>()> read_nodes;
  // The node feature that names a site (the plugin's site_feature_prefix).
  std::string site_feature_prefix = "site_";
};

struct ReconcileStats {
  int attested = 0;
  int violations = 0;
  int rederived = 0;
};

class Reconciler {
 public:
  // `register_at(t)` is the register that was in force at time t (null when none was).
  Reconciler(ReconcilerOptions options, audit::AuditLog* log,
             std::function<std::shared_ptr<const Register>(absl::Time)> register_at);
  ~Reconciler();
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  absl::StatusOr<ReconcileStats> ReconcileOnce(absl::Time now);
  void Start();

  // Rounds of the background thread since Start(), those that failed, and the last failure's
  // text (empty once a round works again).
  int64_t rounds() const { return rounds_.load(); }
  int64_t failures() const { return failures_.load(); }
  std::string last_error() const;

 private:
  void Run();

  const ReconcilerOptions options_;
  audit::AuditLog* const log_;
  const std::function<std::shared_ptr<const Register>(absl::Time)> register_at_;
  std::mutex mu_;
  std::set<uint32_t> attested_;  // job ids already attested (also found in the log)
  std::atomic<int64_t> rounds_{0}, failures_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;  // guarded by error_mu_
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace sovereign::service
