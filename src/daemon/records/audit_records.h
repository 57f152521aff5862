// Every record sovereignd writes into the audit log is built here, and only here:
//   - a decision made by PlacementService (DecisionRecord),
//   - a decision or a refused job modification spooled by the Slurm plugin (SpooledToRecord),
//   - a decision re-derived from a job's tag when its spooled record was lost
//     (RederivedDecisionRecord),
//   - an attestation: where a job really ran, judged against the full residency rule of the
//     register in force when it started (AttestationRecord),
//   - an outcome: what became of a placed job besides (JobOutcomeRecord: it ended, or was
//     cancelled before it ran; PlacementOutcomeRecord: slurmctld never created it, or its fate
//     cannot be known).
//   - a node weight: a Slurm node Weight the weight tuner wrote, and the figure it came from
//     (NodeWeightRecord).
// Bodies are compact JSON, hashed into the chain verbatim.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cluster_reader.h"
#include "records/job_energy.h"
#include "sovereign/audit_log.h"
#include "sovereign/cluster.h"
#include "sovereign/job_tag.h"
#include "sovereign/placement.h"
#include "sovereign/register.h"
#include "sovereign/spool_record.h"

namespace sovereign::service {

// DecisionJsonText(...) with "id", "source": "sovereignd" and "caller" added; compact JSON.
std::string DecisionBody(const JobRequest& request, const Decision& decision, const Register& reg,
                         const std::string& decision_id, const std::string& caller);

// A decision PlacementService made for `caller` (Caller::Describe()).
audit::AuditRecord DecisionRecord(const JobRequest& request, const Decision& decision,
                                  const Register& reg, const std::string& decision_id,
                                  const std::string& caller);

// A record the plugin spooled: a decision at submission, or a refused modification (source
// "plugin-modify", bound to its job id). `reg` is the register the record names, or null when
// sovereignd does not know it (the candidates then keep their indexes).
audit::AuditRecord SpooledToRecord(const spool::SpooledDecision& d, const Register* reg);

// A placement re-derived from a running job's tag, when its spooled decision never reached the
// log (marked "rederived").
audit::AuditRecord RederivedDecisionRecord(const slurm::JobRow& job, const JobTag& tag,
                                           absl::Time now);

// A running job that the register now in force no longer allows where it runs; `action` is
// what was done about it ("flag", "requeue", "cancel").
audit::AuditRecord AtRiskRecord(uint32_t job_id, const std::vector<std::string>& datasets,
                                const std::string& decision_id, const std::string& why,
                                const Register& reg, const std::string& action, absl::Time now);

// Where a job ran, judged node by node. `reg` is the register in force when the job started,
// `nodes` what slurmctld says of each node (partitions, features), `site_feature_prefix` the
// plugin's. A node is allowed when its site is known (SiteOfNode) and allowed for the tag's
// datasets (Residency); otherwise the verdict is "violation" and `violations` names each node,
// its site and the rule it broke.
struct Attestation {
  audit::AuditRecord record;
  std::vector<std::string> violations;
};
Attestation AttestationRecord(const slurm::JobRow& job, const JobTag& tag,
                              const audit::AuditRecord& decision, const Register& reg,
                              const std::vector<NodeStatus>& nodes,
                              const std::string& site_feature_prefix, absl::Time now);

// A placed job reached a final state (slurmctld's: COMPLETED, FAILED, CANCELLED, TIMEOUT, ...).
// Verdict "ended" when it ran (`ran`: it was given nodes and attested), with its state, exit code
// (and signal) and end time; "cancelled" when it was cancelled before it ran; "never_ran" when
// it reached another final state without running (slurmctld created it, then failed it: e.g.
// more memory than any node has). `decision` is its placement, whose
// user, account, datasets, region and register the record repeats. `energy`, when a power
// source measures the cluster: the job's measured energy ("energy_kwh_measured" and its parts
// in "energy_measured"), or why it could not be measured ("energy_unmeasured").
audit::AuditRecord JobOutcomeRecord(const slurm::JobRow& job, bool ran,
                                    const audit::AuditRecord& decision, absl::Time now,
                                    const absl::StatusOr<MeasuredJobEnergy>* energy = nullptr);

// A placement by the plugin that no job in slurmctld carries. `verdict` is "not_created" (the
// reconciler watched slurmctld's job table from before the decision until `checked_at` and no
// job carried it: slurmctld refused the job after the plugin placed it) or "unknown" (it was
// placed while nobody watched and slurmctld no longer knows such a job); `why` says which.
audit::AuditRecord PlacementOutcomeRecord(const audit::AuditRecord& placement,
                                          const std::string& verdict, const std::string& why,
                                          absl::Time checked_at);

// A Slurm node Weight sovereignd wrote. `action` is the verdict: "set" (sovereignd's first
// weight for the node), "changed" (a new figure's) or "reapplied" (the weight it had set,
// written again after slurmctld reset it). The figure is the one the weight comes from: for
// "reapplied", the figure of the weight set before, not the node's figure now.
struct NodeWeightWrite {
  std::string node;
  std::vector<std::string> partitions;  // Slurm's partitions of the node
  std::string action;                   // "set" | "changed" | "reapplied"
  uint32_t old_weight = 0;              // slurmctld's before the write
  uint32_t new_weight = 0;
  double watts_per_gpu = 0;      // facility watts per busy GPU
  std::string source;            // "measured" | "register"
  std::string figure_partition;  // the register partition the figure's overheads are of
  double gpu_watts = 0;          // the GPUs' part of the figure
  int samples = 0;               // measured: the DCGM readings averaged
  absl::Time measured_at = absl::InfinitePast();  // measured: the newest of them
  std::string why;                                // the sentence sovereignd logs
  std::string register_version;                   // the register in force
};
// Kind kNodeWeight, caller "sovereignd node weights", no decision id, no user; the partition
// is the node's when it has one (its partitions joined by ',' when several).
audit::AuditRecord NodeWeightRecord(const NodeWeightWrite& w, absl::Time now);

// Whether slurmctld's state name is final (the job will not run, or run again).
bool IsFinalJobState(const std::string& state);

}  // namespace sovereign::service
