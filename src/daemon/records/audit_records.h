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
// Bodies are compact JSON, hashed into the chain verbatim.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

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

// Whether slurmctld's state name is final (the job will not run, or run again).
bool IsFinalJobState(const std::string& state);

}  // namespace sovereign::service
