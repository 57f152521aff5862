// What a register in force means for the jobs slurmctld already holds, and keeping them
// compliant: run on every apply, rollback and reload, and every reconciler round (jobs
// submitted against a snapshot published just before a change are caught there).
//
//   pending tagged job, guard and partition still inside the allowed sites  -> kept
//   pending tagged job that is not, and a compliant partition can run it     -> moved: new
//       partition, features with the new guard, a new tag (same datasets), one update through
//       libslurm that the plugin's job_modify checks like any other
//   pending tagged job that nothing compliant can run                        -> held, with
//       "; held: <reason>" after the tag in AdminComment (scontrol show job shows it)
//   running tagged job on a node the register no longer allows               -> at risk:
//       recorded; then flagged only, requeued or cancelled, as configured
// Each move, hold and risk is recorded in the audit log.
//
// Thread-safety: PlanRegisterImpact is a pure function; RegisterImpact serialises its runs.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cluster_reader.h"
#include "sovereign/audit_log.h"
#include "sovereign/cluster.h"
#include "sovereign/decision_id.h"
#include "sovereign/placement.h"
#include "sovereign/register.h"
#include "sovereign/unix_accounts.h"

namespace sovereign::service {

// What happens to a running job that a new register no longer allows where it runs.
enum class AtRiskAction { kFlag, kRequeue, kCancel };
absl::StatusOr<AtRiskAction> ParseAtRiskAction(const std::string& text);
std::string AtRiskActionName(AtRiskAction action);

struct JobImpact {
  enum class Kind { kMove, kHold, kAtRisk };
  Kind kind = Kind::kHold;
  uint32_t job_id = 0;
  std::string why;  // why the job had to be moved, held, or is at risk
  // The update to make: kMove a partition, features and a new tag; kHold the AdminComment
  // (the tag, then "; held: register <version>: <why>").
  std::string partition;
  std::string features;
  std::string tag;
  // kMove, kHold: the decision made for the job under the new register.
  JobRequest request;
  Decision decision;
  std::string decision_id;
  std::vector<std::string> datasets;  // kAtRisk: the tag's
};

struct ImpactPlan {
  std::string register_version;
  int pending_checked = 0;
  int running_checked = 0;
  std::vector<JobImpact> jobs;
  int Count(JobImpact::Kind kind) const;
};

// `users` resolves a uid to a name and groups (in sovereignd: the core's UserInfoById, asked once
// per uid and run).
// `next_id` makes a decision id.
ImpactPlan PlanRegisterImpact(
    const Register& reg, const ClusterView& view, const std::vector<slurm::JobRow>& jobs,
    const std::vector<NodeStatus>& nodes, const std::string& site_feature_prefix,
    const std::function<absl::StatusOr<UserInfo>(uint32_t)>& users,
    const std::function<std::string()>& next_id, absl::Time now);

struct ImpactOptions {
  std::string site_feature_prefix = "site_";
  AtRiskAction at_risk = AtRiskAction::kFlag;
  // Where jobs and nodes come from and where updates go; the defaults use libslurm.
  std::function<absl::StatusOr<std::vector<slurm::JobRow>>()> read_jobs;
  std::function<absl::StatusOr<std::vector<NodeStatus>>()> read_nodes;
};

// What one run did (or, dry, would do).
struct ImpactSummary {
  std::string register_version;
  int pending_checked = 0;
  int moved = 0;
  int held = 0;
  int running_at_risk = 0;
  std::vector<std::string> details;  // one line per job: "job 12: moved to gpu-de-h100 (...)"
  std::vector<std::string> errors;   // updates slurmctld refused
};

class RegisterImpact {
 public:
  RegisterImpact(ImpactOptions options, audit::AuditLog* log);
  // Plans against `reg` and `view`; unless `dry_run`, carries the plan out and records it.
  absl::StatusOr<ImpactSummary> Run(const Register& reg, const ClusterView& view, bool dry_run,
                                    absl::Time now);

 private:
  const ImpactOptions options_;
  audit::AuditLog* const log_;
  std::mutex mu_;
  DecisionIds ids_{"r"};
};

}  // namespace sovereign::service
