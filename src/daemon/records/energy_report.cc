#include "records/energy_report.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace sovereign::service {
namespace {

using json = nlohmann::json;

absl::Status Bad(const audit::AuditRecord& r, std::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("record ", r.seq, " (decision ", r.decision_id, "): ", std::string(what)));
}

std::optional<absl::Time> TimeOf(const json& body, const char* key) {
  absl::Time t;
  std::string err;
  if (!body.contains(key) || !body[key].is_string() ||
      !absl::ParseTime(absl::RFC3339_full, body[key].get<std::string>(), &t, &err)) {
    return std::nullopt;
  }
  return t;
}

double Number(const json& object, const char* key) {
  return object.contains(key) && object[key].is_number() ? object[key].get<double>() : 0;
}

}  // namespace

absl::StatusOr<EnergyJob> EnergyJobOf(const audit::AuditRecord& outcome,
                                      const audit::AuditRecord& decision) {
  const json out = json::parse(outcome.body_json, nullptr, false);
  const json dec = json::parse(decision.body_json, nullptr, false);
  if (!out.is_object()) {
    return Bad(outcome, "the outcome's body is not a JSON object");
  }
  if (!dec.is_object()) {
    return Bad(decision, "the decision's body is not a JSON object");
  }
  EnergyJob job;
  job.partition = decision.partition;
  job.account = decision.account;
  job.region = decision.region;
  const std::optional<absl::Time> start = TimeOf(out, "start_time");
  const std::optional<absl::Time> end = TimeOf(out, "end_time");
  if (!start.has_value() || !end.has_value()) {
    return Bad(outcome, "the outcome has no start_time and end_time");
  }
  job.start = *start;
  job.end = *end;
  const json* chosen = nullptr;
  if (dec.contains("candidates") && dec["candidates"].is_array()) {
    for (const json& c : dec["candidates"]) {
      if (c.is_object() && c.value("status", "") == "chosen") {
        chosen = &c;
      }
    }
  }
  if (chosen == nullptr) {
    return Bad(decision, "the decision has no chosen partition");
  }
  // The estimate is for the time limit; the job ran for end - start.
  const double run = std::max(0.0, absl::ToDoubleSeconds(job.end - job.start));
  const double limit = dec.contains("request") && dec["request"].is_object()
                           ? Number(dec["request"], "time_limit_seconds")
                           : 0;
  const double scale = limit > 0 ? run / limit : 1;  // no limit: the policy's default was used
  job.estimated_kwh = Number(*chosen, "energy_kwh") * scale;
  job.co2_grams = Number(*chosen, "co2_grams") * scale;
  if (out.contains("energy_kwh_measured") && out["energy_kwh_measured"].is_number()) {
    job.measured_kwh = out["energy_kwh_measured"].get<double>();
    job.co2_grams = *job.measured_kwh * Number(*chosen, "gco2_per_kwh");
  }
  if (dec.contains("green") && dec["green"].is_object() && dec["green"].value("moved", false)) {
    const json& g = dec["green"];
    job.green_moved = true;
    job.green_saved_grams =
        (Number(g["immediate"], "co2_grams") - Number(g, "co2_grams")) * scale;
  }
  return job;
}

std::optional<EnergyGrouping> ParseEnergyGrouping(std::string_view name) {
  if (name == "partition") {
    return EnergyGrouping::kPartition;
  }
  if (name == "account") {
    return EnergyGrouping::kAccount;
  }
  if (name == "region") {
    return EnergyGrouping::kRegion;
  }
  if (name == "day") {
    return EnergyGrouping::kDay;
  }
  return std::nullopt;
}

double EnergyRow::jobs_per_kwh() const {
  const double kwh = measured_kwh + estimated_kwh;
  return kwh > 0 ? jobs / kwh : 0;
}

std::vector<EnergyRow> SummariseEnergy(const std::vector<EnergyJob>& jobs,
                                       EnergyGrouping grouping) {
  std::map<std::string, EnergyRow> rows;
  EnergyRow total;
  total.key = "total";
  for (const EnergyJob& j : jobs) {
    std::string key;
    switch (grouping) {
      case EnergyGrouping::kPartition:
        key = j.partition;
        break;
      case EnergyGrouping::kAccount:
        key = j.account;
        break;
      case EnergyGrouping::kRegion:
        key = j.region;
        break;
      case EnergyGrouping::kDay:
        key = absl::FormatTime("%Y-%m-%d", j.end, absl::UTCTimeZone());
        break;
    }
    EnergyRow& row = rows[key];
    row.key = key;
    for (EnergyRow* r : {&row, &total}) {
      ++r->jobs;
      if (j.measured_kwh.has_value()) {
        ++r->measured_jobs;
        r->measured_kwh += *j.measured_kwh;
      } else {
        r->estimated_kwh += j.estimated_kwh;
      }
      r->co2_kg += j.co2_grams / 1000;
      if (j.green_moved) {
        ++r->green_jobs;
        r->green_saved_kg += j.green_saved_grams / 1000;
      }
    }
  }
  std::vector<EnergyRow> out;
  out.reserve(rows.size() + 1);
  for (auto& [key, row] : rows) {
    out.push_back(std::move(row));
  }
  out.push_back(total);
  return out;
}

absl::StatusOr<EnergyJobs> CollectEnergyJobs(audit::AuditLog& log, std::optional<absl::Time> since,
                                             std::optional<absl::Time> until, int64_t max_jobs) {
  audit::AuditQuery query;
  query.kind = audit::RecordKind::kOutcome;
  query.verdict = "ended";
  query.since = since;
  query.until = until;
  query.limit = 1000;
  EnergyJobs out;
  int64_t read = 0;
  while (true) {
    absl::StatusOr<std::vector<audit::AuditRecord>> page = log.List(query);
    if (!page.ok()) {
      return page.status();
    }
    for (const audit::AuditRecord& outcome : *page) {
      if (++read > max_jobs) {
        return absl::ResourceExhaustedError(
            absl::StrCat("more than ", max_jobs,
                         " jobs ended in the period: ask for a shorter one "
                         "(--since, --until)"));
      }
      absl::StatusOr<audit::AuditRecord> decision = log.Get(outcome.decision_id);
      if (!decision.ok() && !absl::IsNotFound(decision.status())) {
        return decision.status();
      }
      absl::StatusOr<EnergyJob> job =
          !decision.ok()
              ? absl::NotFoundError(absl::StrCat("job ", outcome.job_id, ": its decision ",
                                                 outcome.decision_id, " is not in the log"))
              : EnergyJobOf(outcome, *decision);
      if (!job.ok()) {
        if (out.skipped++ == 0) {
          out.first_skipped = std::string(job.status().message());
        }
        continue;
      }
      out.jobs.push_back(*std::move(job));
    }
    if (static_cast<int>(page->size()) < query.limit || page->back().seq <= 1) {
      return out;
    }
    query.before_seq = page->back().seq;
  }
}

}  // namespace sovereign::service
