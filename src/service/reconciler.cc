#include "reconciler.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "audit_records.h"
#include "job_translate.h"
#include "spdlog/spdlog.h"

namespace sovereign::service {

Reconciler::Reconciler(ReconcilerOptions options, audit::AuditLog* log,
                       std::function<std::shared_ptr<const Register>(absl::Time)> register_at)
    : options_(std::move(options)), log_(log), register_at_(std::move(register_at)) {}

Reconciler::~Reconciler() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
}

void Reconciler::Start() {
  thread_ = std::thread([this] { Run(); });
}

absl::StatusOr<ReconcileStats> Reconciler::ReconcileOnce(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  ReconcileStats stats;
  absl::StatusOr<std::vector<slurm::JobRow>> jobs =
      options_.read_jobs ? options_.read_jobs() : slurm::ReadJobs();
  if (!jobs.ok()) {
    return jobs.status();
  }
  std::optional<std::vector<NodeStatus>> nodes;
  for (const slurm::JobRow& job : *jobs) {
    if (job.nodes.empty() || job.state == "PENDING" || job.state == "CONFIGURING" ||
        attested_.count(job.job_id) > 0) {
      // Not started yet (a CONFIGURING job still waits for its PrologSlurmctld, which may
      // refuse it), or attested already.
      continue;
    }
    absl::StatusOr<plugin::JobTag> tag = plugin::ParseJobTag(job.admin_comment.c_str());
    if (!tag.ok()) {
      continue;  // not placed by the plugin
    }
    audit::AuditQuery seen;
    seen.kind = audit::RecordKind::kAttestation;
    seen.job_id = job.job_id;
    seen.limit = 1;
    absl::StatusOr<std::vector<audit::AuditRecord>> prior = log_->List(seen);
    if (!prior.ok()) {
      return prior.status();
    }
    if (!prior->empty()) {
      attested_.insert(job.job_id);
      continue;
    }
    // Judged under the register in force when the job started, whatever came after.
    const absl::Time started = job.start_time != absl::InfinitePast() ? job.start_time : now;
    std::shared_ptr<const Register> reg = register_at_ ? register_at_(started) : nullptr;
    if (reg == nullptr) {
      continue;  // no register known for that time yet: nothing to judge against
    }
    absl::StatusOr<audit::AuditRecord> decision = log_->Get(tag->decision_id);
    if (!decision.ok() && decision.status().code() != absl::StatusCode::kNotFound) {
      return decision.status();
    }
    if (!decision.ok()) {
      if (now - job.start_time < options_.rederive_after) {
        continue;  // ingestion is probably just behind: look again next round
      }
      decision = log_->Append(RederivedDecisionRecord(job, *tag, now));
      if (!decision.ok()) {
        return decision.status();
      }
      ++stats.rederived;
      spdlog::warn("decision {} of job {} re-derived from its tag", tag->decision_id, job.job_id);
    }
    if (!nodes.has_value()) {
      auto read = options_.read_nodes ? options_.read_nodes() : slurm::ReadNodes();
      if (!read.ok()) {
        return read.status();
      }
      nodes = *std::move(read);
    }
    Attestation attestation = AttestationRecord(job, *tag, *decision, *reg, *nodes,
                                                options_.site_feature_prefix, now);
    if (!attestation.violations.empty()) {
      spdlog::error("job {} (decision {}) ran outside the sites its datasets allow under "
                    "register {}: {}",
                    job.job_id, tag->decision_id, reg->short_version(),
                    absl::StrJoin(attestation.violations, "; "));
      ++stats.violations;
    }
    absl::StatusOr<audit::AuditRecord> appended = log_->Append(std::move(attestation.record));
    if (!appended.ok()) {
      return appended.status();
    }
    attested_.insert(job.job_id);
    ++stats.attested;
  }
  return stats;
}

std::string Reconciler::last_error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return last_error_;
}

void Reconciler::Run() {
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stop_) {
    stop_cv_.wait_for(lock, options_.interval, [this] { return stop_; });
    if (stop_) {
      break;
    }
    lock.unlock();
    absl::StatusOr<ReconcileStats> s = ReconcileOnce(absl::Now());
    ++rounds_;
    if (!s.ok()) {
      ++failures_;
      spdlog::warn("reconciler: {}", std::string(s.status().message()));
    }
    {
      std::lock_guard<std::mutex> error_lock(error_mu_);
      last_error_ = s.ok() ? "" : std::string(s.status().message());
    }
    lock.lock();
  }
}

}  // namespace sovereign::service
