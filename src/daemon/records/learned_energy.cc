#include "records/learned_energy.h"

#include <algorithm>

#include "absl/time/clock.h"
#include "nlohmann/json.hpp"

namespace sovereign::service {

void LearnedEnergy::Add(const std::string& partition, double gpu_kwh, double gpu_hours,
                        absl::Time ended) {
  if (!(gpu_hours > 0) || !(gpu_kwh >= 0)) {
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  LearnedPartition& p = partitions_[partition];
  ++p.jobs;
  p.gpu_kwh += gpu_kwh;
  p.gpu_hours += gpu_hours;
  p.newest = std::max(p.newest, ended);
}

absl::StatusOr<int64_t> LearnedEnergy::Load(audit::AuditLog& log, absl::Time since) {
  audit::AuditQuery query;
  query.kind = audit::RecordKind::kOutcome;
  query.verdict = "ended";
  query.since = since;
  query.limit = 1000;
  int64_t added = 0;
  // At most a million outcomes (newest first): a month of a very busy cluster.
  for (int pages = 0; pages < 1000; ++pages) {
    absl::StatusOr<std::vector<audit::AuditRecord>> page = log.List(query);
    if (!page.ok()) {
      return page.status();
    }
    for (const audit::AuditRecord& r : *page) {
      const nlohmann::json body = nlohmann::json::parse(r.body_json, nullptr, false);
      if (!body.is_object() || !body.contains("energy_measured")) {
        continue;
      }
      const nlohmann::json& m = body["energy_measured"];
      if (!m.is_object() || !m.value("gpu_kwh", nlohmann::json()).is_number() ||
          !m.value("gpu_hours", nlohmann::json()).is_number()) {
        continue;
      }
      absl::Time ended = r.time;
      std::string err;
      if (body.contains("end_time") && body["end_time"].is_string()) {
        absl::ParseTime(absl::RFC3339_full, body["end_time"].get<std::string>(), &ended, &err);
      }
      Add(body.value("partition", r.partition), m["gpu_kwh"].get<double>(),
          m["gpu_hours"].get<double>(), ended);
      ++added;
    }
    if (static_cast<int>(page->size()) < query.limit) {
      return added;
    }
    query.before_seq = page->back().seq;  // newest first: the next page is older
  }
  return added;
}

std::map<std::string, LearnedPartition> LearnedEnergy::Partitions() const {
  std::lock_guard<std::mutex> lock(mu_);
  return partitions_;
}

std::optional<MeasuredPower> LearnedPower(const LearnedPartition& learned, double register_watts,
                                          int min_jobs) {
  if (min_jobs <= 0 || learned.jobs < min_jobs || !(learned.gpu_hours > 0)) {
    return std::nullopt;
  }
  MeasuredPower p;
  p.watts_per_gpu = (min_jobs * register_watts + learned.jobs * learned.watts_per_gpu()) /
                    static_cast<double>(min_jobs + learned.jobs);
  p.from = PowerFrom::kLearned;
  p.at = learned.newest;
  p.jobs = learned.jobs;
  return p;
}

}  // namespace sovereign::service
