#include "reconciler.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "job_translate.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace sovereign::service {

Reconciler::Reconciler(ReconcilerOptions options, audit::AuditLog* log,
                       std::function<std::shared_ptr<const Register>()> current_register)
    : options_(std::move(options)), log_(log), current_(std::move(current_register)) {}

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
  std::shared_ptr<const Register> reg = current_ ? current_() : nullptr;
  std::optional<std::map<std::string, std::vector<std::string>>> node_parts;
  for (const slurm::JobRow& job : *jobs) {
    if (job.nodes.empty() || attested_.count(job.job_id) > 0) {
      continue;  // not started yet, or done
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
    absl::StatusOr<audit::AuditRecord> decision = log_->Get(tag->decision_id);
    if (!decision.ok() && decision.status().code() != absl::StatusCode::kNotFound) {
      return decision.status();
    }
    if (!decision.ok()) {
      if (now - job.start_time < options_.rederive_after) {
        continue;  // ingestion is probably just behind: look again next round
      }
      audit::AuditRecord r;
      r.kind = audit::RecordKind::kDecision;
      r.decision_id = tag->decision_id;
      r.time = now;
      r.caller = "sovereignd reconciler (re-derived from the job's tag)";
      r.user = absl::StrCat("uid ", job.user_id);
      r.datasets = tag->datasets;
      r.region = tag->region;
      r.partition = job.partition;
      r.verdict = "place";
      r.job_id = job.job_id;
      r.register_version = tag->register_version;
      r.body_json = nlohmann::json{{"rederived", true},
                                   {"why", "the spooled decision never reached the log"},
                                   {"id", tag->decision_id},
                                   {"job_id", job.job_id},
                                   {"uid", job.user_id},
                                   {"tag", job.admin_comment},
                                   {"partition", job.partition}}
                        .dump();
      absl::StatusOr<audit::AuditRecord> appended = log_->Append(r);
      if (!appended.ok()) {
        return appended.status();
      }
      ++stats.rederived;
      decision = *appended;
      spdlog::warn("decision {} of job {} re-derived from its tag", tag->decision_id, job.job_id);
    }
    if (!node_parts.has_value()) {
      auto read = options_.read_nodes ? options_.read_nodes() : slurm::ReadNodePartitions();
      if (!read.ok()) {
        return read.status();
      }
      node_parts = *std::move(read);
    }
    // A node is in region R when every register partition it belongs to is in R.
    nlohmann::json nodes = nlohmann::json::array();
    std::vector<std::string> outside;
    for (const std::string& node : slurm::ExpandHostList(job.nodes)) {
      std::set<std::string> regions;
      const auto it = node_parts->find(node);
      if (it != node_parts->end() && reg != nullptr) {
        for (const std::string& p : it->second) {
          int idx = reg->PartitionIndex(p);
          if (idx >= 0) {
            regions.insert(reg->regions()[reg->RegionOfPartition(idx)].name);
          }
        }
      }
      if (regions.size() != 1 || *regions.begin() != tag->region) {
        outside.push_back(node);
      }
      nodes.push_back({{"node", node},
                       {"partitions", it == node_parts->end() ? std::vector<std::string>{}
                                                              : it->second},
                       {"regions", std::vector<std::string>(regions.begin(), regions.end())}});
    }
    audit::AuditRecord a;
    a.kind = audit::RecordKind::kAttestation;
    a.decision_id = tag->decision_id;
    a.time = now;
    a.caller = "sovereignd reconciler";
    a.user = decision->user;
    a.account = decision->account;
    a.datasets = tag->datasets;
    a.region = tag->region;
    a.partition = job.partition;
    a.verdict = outside.empty() ? "ok" : "violation";
    a.job_id = job.job_id;
    a.register_version = decision->register_version;
    nlohmann::json body = {{"job_id", job.job_id},
                           {"state", job.state},
                           {"partition", job.partition},
                           {"nodes", std::move(nodes)},
                           {"allowed_region", tag->region},
                           {"verdict", a.verdict}};
    if (job.array_job_id != 0) {
      body["array_job_id"] = job.array_job_id;
      body["array_task_id"] = job.array_task_id;
    }
    if (job.start_time != absl::InfinitePast()) {
      body["start_time"] = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", job.start_time, absl::UTCTimeZone());
    }
    if (!outside.empty()) {
      body["violation"] = absl::StrCat("node(s) ", absl::StrJoin(outside, ","),
                                       " are not in region ", tag->region);
      spdlog::error("job {} (decision {}) ran outside region {}: {}", job.job_id,
                    tag->decision_id, tag->region, absl::StrJoin(outside, ","));
      ++stats.violations;
    }
    a.body_json = body.dump();
    absl::StatusOr<audit::AuditRecord> appended = log_->Append(a);
    if (!appended.ok()) {
      return appended.status();
    }
    attested_.insert(job.job_id);
    ++stats.attested;
  }
  return stats;
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
    if (!s.ok()) {
      spdlog::warn("reconciler: {}", std::string(s.status().message()));
    }
    lock.lock();
  }
}

}  // namespace sovereign::service
