#include "register_lifecycle/register_impact.h"

#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "records/audit_records.h"
#include "sovereign/job_tag.h"
#include "sovereign/residency.h"
#include "sovereign/slurm_tres.h"
#include "spdlog/spdlog.h"

namespace sovereign::service {
namespace {

constexpr char kHeldMark[] = "; held: ";

bool Running(const std::string& state) {
  return state == "RUNNING" || state == "CONFIGURING" || state == "COMPLETING" ||
         state == "SUSPENDED";
}

// Why the job's partition or guard leaves the allowed sites; empty when both stay inside.
std::string OutsideWhy(const slurm::JobRow& job, const Register& reg, const Residency& residency,
                       const std::string& prefix) {
  std::string why = PartitionsBreak(reg, residency, job.partition);
  if (why.empty() && !prefix.empty()) {
    why = GuardBreaks(reg, residency, job.features, prefix);
  }
  return why;
}

// Makes `impact` a hold of `job` because of `why`: the AdminComment to set (the tag, then the
// reason) and the rejected decision to record.
void Hold(const slurm::JobRow& job, const Register& reg, std::string why, absl::Time now,
          JobImpact* impact) {
  impact->kind = JobImpact::Kind::kHold;
  impact->why = std::move(why);
  const std::string& base = job.admin_comment;
  impact->tag = absl::StrCat(base.substr(0, base.find(kHeldMark)), kHeldMark, "register ",
                             std::string(reg.short_version()), ": ", impact->why);
  Decision& d = impact->decision;
  d.verdict = Verdict::kReject;
  d.code = RejectCode::kNoCandidate;
  d.reason = absl::StrCat("job ", job.job_id, " held: ", impact->why);
  d.register_version = reg.version();
  d.decided_at = now;
}

JobRequest RequestOf(const slurm::JobRow& job, const JobTag& tag,
                     const UserInfo& user, absl::Time now) {
  JobRequest r;
  r.user = user.name;
  r.uid = job.user_id;
  r.groups = user.groups;
  r.account = job.account;
  r.datasets = tag.datasets;
  r.nodes = static_cast<int>(job.num_nodes);
  // slurmctld accepted these fields at submission, so they parse.
  r.gpus = JobGpus(job.tres_per_job.c_str(), job.tres_per_node.c_str(), job.tres_per_task.c_str(),
                   r.nodes, static_cast<int>(job.num_tasks), &r.gpu_type)
               .value_or(0);
  if (job.time_limit_minutes > 0) {
    r.time_limit = absl::Minutes(job.time_limit_minutes);
  }
  r.submit_time = now;
  return r;
}

}  // namespace

absl::StatusOr<AtRiskAction> ParseAtRiskAction(const std::string& text) {
  if (text == "flag") {
    return AtRiskAction::kFlag;
  }
  if (text == "requeue") {
    return AtRiskAction::kRequeue;
  }
  if (text == "cancel") {
    return AtRiskAction::kCancel;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("\"", text, "\" is not one of flag, requeue, cancel"));
}

std::string AtRiskActionName(AtRiskAction a) {
  switch (a) {
    case AtRiskAction::kFlag:
      return "flag";
    case AtRiskAction::kRequeue:
      return "requeue";
    case AtRiskAction::kCancel:
      return "cancel";
  }
  return "flag";
}

int ImpactPlan::Count(JobImpact::Kind kind) const {
  int n = 0;
  for (const JobImpact& j : jobs) {
    n += j.kind == kind;
  }
  return n;
}

ImpactPlan PlanRegisterImpact(
    const Register& reg, const ClusterView& view, const std::vector<slurm::JobRow>& jobs,
    const std::vector<NodeStatus>& nodes, const std::string& site_feature_prefix,
    const std::function<absl::StatusOr<UserInfo>(uint32_t)>& users,
    const std::function<std::string()>& next_id, absl::Time now) {
  ImpactPlan plan;
  plan.register_version = reg.version();
  const std::vector<char> present = SitesWithNodes(reg, site_feature_prefix, nodes);
  for (const slurm::JobRow& job : jobs) {
    absl::StatusOr<JobTag> tag = ParseJobTag(job.admin_comment.c_str());
    if (!tag.ok()) {
      continue;
    }
    absl::StatusOr<Residency> residency = Residency::OfNames(tag->datasets, reg);
    if (Running(job.state)) {
      ++plan.running_checked;
      std::vector<std::string> why;
      for (NodeVerdict& v : JudgeNodes(reg, site_feature_prefix, tag->datasets,
                                       slurm::ExpandHostList(job.nodes), nodes)) {
        if (!v.why.empty()) {
          why.push_back(std::move(v.why));
        }
      }
      if (!why.empty()) {
        JobImpact risk;
        risk.kind = JobImpact::Kind::kAtRisk;
        risk.job_id = job.job_id;
        risk.why = absl::StrJoin(why, "; ");
        risk.decision_id = next_id();
        risk.datasets = tag->datasets;
        plan.jobs.push_back(std::move(risk));
      }
      continue;
    }
    if (job.state != "PENDING") {
      continue;
    }
    ++plan.pending_checked;
    if (job.held && job.admin_comment.find(kHeldMark) != std::string::npos) {
      continue;  // held for residency already: the admin releases it
    }
    std::string why = residency.ok()
                          ? OutsideWhy(job, reg, *residency, site_feature_prefix)
                          : std::string(residency.status().message());
    if (why.empty()) {
      continue;
    }
    JobImpact impact;
    impact.job_id = job.job_id;
    impact.why = why;
    impact.decision_id = next_id();
    absl::StatusOr<UserInfo> user = users(job.user_id);
    if (!user.ok()) {
      Hold(job, reg, absl::StrCat(why, "; and it cannot be re-decided: ", user.status().message()),
           now, &impact);
      plan.jobs.push_back(std::move(impact));
      continue;
    }
    impact.request = RequestOf(job, *tag, *user, now);
    impact.decision = Decide(impact.request, view, reg, now);
    if (impact.decision.verdict == Verdict::kPlace && residency.ok()) {
      impact.kind = JobImpact::Kind::kMove;
      impact.partition = impact.decision.partition_name;
      const std::string guard = SiteGuardTerm(*residency, site_feature_prefix,
                                              nodes.empty() ? nullptr : &present);
      impact.features = AppendSiteGuard(StripSiteGuard(job.features, site_feature_prefix), guard);
      impact.tag = FormatJobTag({impact.decision_id, impact.decision.labels,
                                         impact.decision.region,
                                         std::string(reg.short_version())});
    } else {
      Hold(job, reg,
           absl::StrCat(why, "; no compliant partition can take it: ", impact.decision.reason),
           now, &impact);
    }
    plan.jobs.push_back(std::move(impact));
  }
  return plan;
}

RegisterImpact::RegisterImpact(ImpactOptions options, audit::AuditLog* log)
    : options_(std::move(options)),
      log_(log) {}

absl::StatusOr<ImpactSummary> RegisterImpact::Run(const Register& reg, const ClusterView& view,
                                                  bool dry_run, absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<std::vector<slurm::JobRow>> jobs =
      options_.read_jobs ? options_.read_jobs() : slurm::ReadJobs();
  if (!jobs.ok()) {
    return jobs.status();
  }
  absl::StatusOr<std::vector<NodeStatus>> nodes =
      options_.read_nodes ? options_.read_nodes() : slurm::ReadNodes();
  if (!nodes.ok()) {
    return nodes.status();
  }
  // Each user is looked up once per run: many pending jobs share few users.
  std::unordered_map<uint32_t, absl::StatusOr<UserInfo>> users;
  ImpactPlan plan = PlanRegisterImpact(
      reg, view, *jobs, *nodes, options_.site_feature_prefix,
      [&users](uint32_t uid) {
        auto it = users.find(uid);
        if (it == users.end()) {
          it = users.emplace(uid, UserInfoById(uid)).first;
        }
        return it->second;
      },
      [&] { return ids_.Next(now); },
      now);
  ImpactSummary out;
  out.register_version = plan.register_version;
  out.pending_checked = plan.pending_checked;
  const std::string caller = absl::StrCat("sovereignd (register ", std::string(reg.short_version()), ")");
  for (JobImpact& j : plan.jobs) {
    std::string line;
    absl::Status done = absl::OkStatus();
    audit::AuditRecord rec;
    switch (j.kind) {
      case JobImpact::Kind::kMove:
        line = absl::StrCat("job ", j.job_id, ": moved to ", j.partition, " (", j.why, ")");
        if (!dry_run) {
          done = slurm::UpdateJob(j.job_id, j.partition, j.features, j.tag, false);
          rec = DecisionRecord(j.request, j.decision, reg, j.decision_id, caller);
        }
        break;
      case JobImpact::Kind::kHold: {
        line = absl::StrCat("job ", j.job_id, ": held (", j.why, ")");
        if (!dry_run) {
          done = slurm::UpdateJob(j.job_id, "", "", j.tag, true);
          rec = DecisionRecord(j.request, j.decision, reg, j.decision_id, caller);
        }
        break;
      }
      case JobImpact::Kind::kAtRisk:
        line = absl::StrCat("job ", j.job_id, ": running at risk (", j.why, ")");
        if (!dry_run) {
          if (options_.at_risk == AtRiskAction::kRequeue) {
            done = slurm::RequeueJob(j.job_id);
            absl::StrAppend(&line, ", requeued");
          } else if (options_.at_risk == AtRiskAction::kCancel) {
            done = slurm::CancelJob(j.job_id);
            absl::StrAppend(&line, ", cancelled");
          }
          rec = AtRiskRecord(j.job_id, j.datasets, j.decision_id, j.why, reg,
                             AtRiskActionName(options_.at_risk), now);
        }
        break;
    }
    if (!done.ok()) {
      out.errors.push_back(absl::StrCat("job ", j.job_id, ": ", done.message()));
      spdlog::error("register {}: job {}: {}", reg.short_version(), j.job_id,
                    std::string(done.message()));
      continue;
    }
    out.moved += j.kind == JobImpact::Kind::kMove;
    out.held += j.kind == JobImpact::Kind::kHold;
    out.running_at_risk += j.kind == JobImpact::Kind::kAtRisk;
    out.details.push_back(line);
    if (!dry_run) {
      rec.job_id = j.job_id;
      spdlog::warn("register {}: {}", reg.short_version(), line);
      if (log_ != nullptr) {
        absl::StatusOr<audit::AuditRecord> appended = log_->Append(std::move(rec));
        if (!appended.ok()) {
          out.errors.push_back(absl::StrCat("job ", j.job_id, ": not recorded: ",
                                            appended.status().message()));
        }
      }
    }
  }
  return out;
}

}  // namespace sovereign::service
