#include "records/audit_records.h"

#include <sys/wait.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "sovereign/decision_json.h"
#include "sovereign/residency.h"

namespace sovereign::service {

namespace {

std::string Utc(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// A record the reconciler binds to a placement: it repeats the placement's fields, so that
// filters by user, account, dataset, region and register find it beside the decision.
audit::AuditRecord BoundTo(const audit::AuditRecord& decision, audit::RecordKind kind,
                           absl::Time now) {
  audit::AuditRecord r;
  r.kind = kind;
  r.decision_id = decision.decision_id;
  r.time = now;
  r.caller = "sovereignd reconciler";
  r.user = decision.user;
  r.account = decision.account;
  r.datasets = decision.datasets;
  r.region = decision.region;
  r.partition = decision.partition;
  r.register_version = decision.register_version;
  return r;
}

}  // namespace

std::string DecisionBody(const JobRequest& request, const Decision& decision, const Register& reg,
                         const std::string& decision_id, const std::string& caller) {
  return DecisionJsonText(decision, request, reg,
                          {{"id", decision_id}, {"source", "sovereignd"}, {"caller", caller}});
}

audit::AuditRecord DecisionRecord(const JobRequest& request, const Decision& decision,
                                  const Register& reg, const std::string& decision_id,
                                  const std::string& caller) {
  audit::AuditRecord rec;
  rec.kind = audit::RecordKind::kDecision;
  rec.decision_id = decision_id;
  rec.time = decision.decided_at;
  rec.caller = caller;
  rec.user = request.user;
  rec.account = request.account;
  rec.datasets = decision.labels;
  rec.region = decision.region;
  rec.partition = decision.partition_name;
  rec.verdict = std::string(VerdictName(decision.verdict));
  rec.register_version = decision.register_version;
  rec.body_json = DecisionBody(request, decision, reg, decision_id, caller);
  return rec;
}

audit::AuditRecord SpooledToRecord(const spool::SpooledDecision& d, const Register* reg) {
  audit::AuditRecord r;
  r.kind = audit::RecordKind::kDecision;
  r.decision_id = d.decision_id;
  r.time = d.decision.decided_at;
  const bool modify = d.source == "plugin-modify";
  const bool prolog = d.source == "prolog";
  r.caller = absl::StrCat("uid=", d.request.uid, "(", d.request.user, ") via ",
                          prolog ? "PrologSlurmctld" : "job_submit/sovereign",
                          modify ? " job_modify" : "");
  r.job_id = d.job_id;
  r.user = d.request.user;
  r.account = d.request.account;
  r.datasets = d.decision.labels;
  r.region = d.decision.region;
  r.partition = d.decision.partition_name;
  r.verdict = std::string(VerdictName(d.decision.verdict));
  r.register_version = d.decision.register_version;
  const char* source = prolog   ? "sovereign-prolog"
                       : modify ? "job_submit/sovereign job_modify"
                                : "job_submit/sovereign";
  if (reg != nullptr) {
    // Written straight as text: the ingester builds one for every decision the plugin spools.
    const std::string job_id = absl::StrCat(d.job_id);
    r.body_json = DecisionJsonText(d.decision, d.request, *reg,
                                   {{"id", d.decision_id},
                                    {"source", source},
                                    {d.job_id != 0 ? "job_id" : nullptr, job_id, true},
                                    {"caller", r.caller},
                                    {"stale_cluster", d.stale_cluster ? "true" : "false", true}});
    return r;
  }
  // Without the register the candidates keep their indexes: still complete, less readable.
  nlohmann::json body{{"request", nlohmann::json::parse(JobRequestJsonText(d.request))},
                      {"verdict", r.verdict},
                      {"code", std::string(RejectCodeName(d.decision.code))},
                      {"reason", d.decision.reason},
                      {"partition", r.partition},
                      {"region", r.region},
                      {"labels", d.decision.labels},
                      {"allowed_regions", d.decision.allowed_regions},
                      {"register_version", r.register_version},
                      {"register_unknown", true}};
  nlohmann::json cands = nlohmann::json::array();
  for (const Candidate& c : d.decision.candidates) {
    cands.push_back({{"partition_index", c.partition},
                     {"exclusion", std::string(ExclusionName(c.exclusion))},
                     {"rank", c.rank},
                     {"energy_kwh", c.energy_kwh},
                     {"co2_grams", c.co2_grams}});
  }
  body["candidates"] = std::move(cands);
  body["id"] = d.decision_id;
  body["source"] = source;
  if (d.job_id != 0) {
    body["job_id"] = d.job_id;
  }
  body["caller"] = r.caller;
  body["stale_cluster"] = d.stale_cluster;
  r.body_json = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

audit::AuditRecord RederivedDecisionRecord(const slurm::JobRow& job, const JobTag& tag,
                                           absl::Time now) {
  audit::AuditRecord r;
  r.kind = audit::RecordKind::kDecision;
  r.decision_id = tag.decision_id;
  r.time = now;
  r.caller = "sovereignd reconciler (re-derived from the job's tag)";
  r.user = absl::StrCat("uid ", job.user_id);
  r.datasets = tag.datasets;
  r.region = tag.region;
  r.partition = job.partition;
  r.verdict = "place";
  r.job_id = job.job_id;
  r.register_version = tag.register_version;
  r.body_json = nlohmann::json{{"rederived", true},
                               {"why", "the spooled decision never reached the log"},
                               {"id", tag.decision_id},
                               {"job_id", job.job_id},
                               {"uid", job.user_id},
                               {"tag", job.admin_comment},
                               {"partition", job.partition}}
                    .dump();
  return r;
}

Attestation AttestationRecord(const slurm::JobRow& job, const JobTag& tag,
                              const audit::AuditRecord& decision, const Register& reg,
                              const std::vector<NodeStatus>& nodes,
                              const std::string& site_feature_prefix, absl::Time now) {
  Attestation out;
  nlohmann::json judged = nlohmann::json::array();
  for (NodeVerdict& v : JudgeNodes(reg, site_feature_prefix, tag.datasets,
                                   slurm::ExpandHostList(job.nodes), nodes)) {
    nlohmann::json row = {{"node", v.node}, {"partitions", v.partitions}, {"allowed", v.why.empty()}};
    if (v.site >= 0) {
      row["site"] = reg.sites()[v.site].name;
    }
    if (!v.why.empty()) {
      row["why"] = v.why;
      out.violations.push_back(std::move(v.why));
    }
    judged.push_back(std::move(row));
  }
  audit::AuditRecord& a = out.record;
  a = BoundTo(decision, audit::RecordKind::kAttestation, now);
  a.decision_id = tag.decision_id;
  a.datasets = tag.datasets;
  a.region = tag.region;
  a.partition = job.partition;
  a.verdict = out.violations.empty() ? "ok" : "violation";
  a.job_id = job.job_id;
  // The register the run was judged against: the one in force when it started.
  a.register_version = reg.version();
  nlohmann::json body = {{"job_id", job.job_id},
                         {"state", job.state},
                         {"partition", job.partition},
                         {"nodes", std::move(judged)},
                         {"datasets", tag.datasets},
                         {"register_version", reg.version()},
                         {"decision_register_version", decision.register_version},
                         {"verdict", a.verdict}};
  if (absl::StatusOr<Residency> residency = Residency::OfNames(tag.datasets, reg); residency.ok()) {
    std::vector<std::string> allowed;
    for (int s : residency->allowed_sites()) {
      allowed.push_back(reg.sites()[s].name);
    }
    body["allowed_sites"] = allowed;
  }
  if (job.array_job_id != 0) {
    body["array_job_id"] = job.array_job_id;
    body["array_task_id"] = job.array_task_id;
  }
  if (job.start_time != absl::InfinitePast()) {
    body["start_time"] = Utc(job.start_time);
  }
  if (!out.violations.empty()) {
    body["violation"] = absl::StrJoin(out.violations, "; ");
  }
  a.body_json = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return out;
}

audit::AuditRecord AtRiskRecord(uint32_t job_id, const std::vector<std::string>& datasets,
                                const std::string& decision_id, const std::string& why,
                                const Register& reg, const std::string& action, absl::Time now) {
  audit::AuditRecord r;
  r.kind = audit::RecordKind::kDecision;
  r.decision_id = decision_id;
  r.time = now;
  r.caller = absl::StrCat("sovereignd (register ", std::string(reg.short_version()), ")");
  r.datasets = datasets;
  r.verdict = "at_risk";
  r.job_id = job_id;
  r.register_version = reg.version();
  r.body_json = nlohmann::json{{"id", decision_id},
                               {"source", "sovereignd"},
                               {"job_id", job_id},
                               {"verdict", "at_risk"},
                               {"datasets", datasets},
                               {"why", why},
                               {"action", action},
                               {"register_version", reg.version()}}
                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}


bool IsFinalJobState(const std::string& state) {
  static const std::set<std::string>* const kFinal = new std::set<std::string>{
      "COMPLETED", "CANCELLED", "FAILED",   "TIMEOUT",      "NODE_FAIL",
      "PREEMPTED", "BOOT_FAIL", "DEADLINE", "OUT_OF_MEMORY"};
  return kFinal->count(state) > 0;
}

audit::AuditRecord JobOutcomeRecord(const slurm::JobRow& job, bool ran,
                                    const audit::AuditRecord& decision, absl::Time now,
                                    const absl::StatusOr<MeasuredJobEnergy>* energy) {
  audit::AuditRecord r = BoundTo(decision, audit::RecordKind::kOutcome, now);
  r.verdict = ran ? "ended" : job.state == "CANCELLED" ? "cancelled" : "never_ran";
  r.job_id = job.job_id;
  if (!job.partition.empty()) {
    r.partition = job.partition;
  }
  nlohmann::json body = {{"id", decision.decision_id},
                         {"job_id", job.job_id},
                         {"state", job.state},
                         {"partition", job.partition},
                         {"verdict", r.verdict}};
  if (ran) {
    body["nodes"] = job.nodes;
    if (WIFSIGNALED(job.exit_status)) {
      body["exit_code"] = 128 + WTERMSIG(job.exit_status);
      body["signal"] = WTERMSIG(job.exit_status);
    } else {
      body["exit_code"] = WEXITSTATUS(job.exit_status);
    }
    if (job.start_time != absl::InfinitePast()) {
      body["start_time"] = Utc(job.start_time);
    }
  }
  if (job.end_time != absl::InfinitePast()) {
    body["end_time"] = Utc(job.end_time);
  }
  if (job.array_job_id != 0) {
    body["array_job_id"] = job.array_job_id;
    body["array_task_id"] = job.array_task_id;
  }
  if (ran && energy != nullptr && energy->ok()) {
    const MeasuredJobEnergy& e = **energy;
    body["energy_kwh_measured"] = e.kwh;
    body["energy_measured"] = {
        {"from", e.from}, {"gpu_kwh", e.gpu_kwh},     {"node_kwh_register", e.node_kwh},
        {"pue", e.pue},   {"gpu_hours", e.gpu_hours}, {"coverage", e.coverage}};
  } else if (ran && energy != nullptr) {
    body["energy_unmeasured"] = std::string(energy->status().message());
  }
  r.body_json = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

audit::AuditRecord PlacementOutcomeRecord(const audit::AuditRecord& placement,
                                          const std::string& verdict, const std::string& why,
                                          absl::Time checked_at) {
  audit::AuditRecord r = BoundTo(placement, audit::RecordKind::kOutcome, checked_at);
  r.verdict = verdict;
  r.body_json = nlohmann::json{{"id", placement.decision_id},
                               {"verdict", verdict},
                               {"decided_at", Utc(placement.time)},
                               {"checked_at", Utc(checked_at)},
                               {"why", why}}
                    .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

audit::AuditRecord NodeWeightRecord(const NodeWeightWrite& w, absl::Time now) {
  audit::AuditRecord r;
  r.kind = audit::RecordKind::kNodeWeight;
  r.time = now;
  r.caller = "sovereignd node weights";
  r.partition = absl::StrJoin(w.partitions, ",");
  r.verdict = w.action;
  r.register_version = w.register_version;
  nlohmann::json body = {{"node", w.node},
                         {"partitions", w.partitions},
                         {"verdict", w.action},
                         {"old_weight", w.old_weight},
                         {"new_weight", w.new_weight},
                         {"watts_per_gpu", Round6(w.watts_per_gpu)},
                         {"source", w.source},
                         {"figure_partition", w.figure_partition},
                         {"gpu_watts", Round6(w.gpu_watts)},
                         {"why", w.why}};
  if (w.source == "measured") {
    body["samples"] = w.samples;
    if (w.measured_at != absl::InfinitePast()) {
      body["measured_at"] = Utc(w.measured_at);
    }
  }
  r.body_json = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

}  // namespace sovereign::service
