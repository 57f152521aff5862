#include "sovereign/spool_record.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace sovereign::spool {
namespace {

// JSON string escaping without a DOM.
void AppendString(std::string_view s, std::string* out) {
  out->push_back('"');
  for (char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\r':
        out->append("\\r");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char kHex[] = "0123456789abcdef";
          out->append("\\u00");
          out->push_back(kHex[(c >> 4) & 0xf]);
          out->push_back(kHex[c & 0xf]);
        } else {
          out->push_back(c);
        }
    }
  }
  out->push_back('"');
}

void AppendStrings(const std::vector<std::string>& v, std::string* out) {
  out->push_back('[');
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0) {
      out->push_back(',');
    }
    AppendString(v[i], out);
  }
  out->push_back(']');
}

void AppendField(std::string_view key, std::string* out) {
  out->push_back(',');
  AppendString(key, out);
  out->push_back(':');
}

// Finite doubles only: JSON has no NaN/Inf (an excluded candidate may have no figures).
void AppendNumber(double v, std::string* out) {
  absl::StrAppend(out, std::isfinite(v) ? v : 0.0);
}

absl::Status WrongType(const char* key) {
  return absl::InvalidArgumentError(
      absl::StrCat("spooled decision: field \"", key, "\" has the wrong type"));
}

// An integer field: a JSON integer that T holds. nlohmann's get<int>() would convert 1e300 or
// 2^40 too, with undefined behaviour or a silently different value.
template <typename T>
absl::Status GetInteger(const nlohmann::json& v, const char* key, T* out) {
  if (!v.is_number_integer()) {
    return WrongType(key);
  }
  const bool fits = v.is_number_unsigned()
                        ? v.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                        : std::in_range<T>(v.get<int64_t>());
  if (!fits) {
    return absl::InvalidArgumentError(absl::StrCat("spooled decision: field \"", key, "\": ",
                                                   v.dump(), " is out of range"));
  }
  *out = static_cast<T>(v.is_number_unsigned() ? v.get<uint64_t>()
                                               : static_cast<uint64_t>(v.get<int64_t>()));
  return absl::OkStatus();
}

template <typename T>
absl::Status Get(const nlohmann::json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end()) {
    return absl::InvalidArgumentError(absl::StrCat("spooled decision: field \"", key, "\" is missing"));
  }
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return GetInteger(*it, key, out);
  } else {
    try {
      *out = it->get<T>();
    } catch (const nlohmann::json::exception&) {
      return WrongType(key);
    }
    return absl::OkStatus();
  }
}

// A candidate's integer column: a whole number in int's range (a double outside it has no int
// value: casting it is undefined behaviour).
bool ToInt(double v, int* out) {
  if (!(v >= std::numeric_limits<int>::min() && v <= std::numeric_limits<int>::max()) ||
      v != std::trunc(v)) {
    return false;
  }
  *out = static_cast<int>(v);
  return true;
}

}  // namespace

void EncodeSpooledDecision(const SpooledDecision& d, std::string* out) {
  const JobRequest& r = d.request;
  const Decision& x = d.decision;
  out->append("{\"v\":1");
  AppendField("id", out);
  AppendString(d.decision_id, out);
  AppendField("src", out);
  AppendString(d.source, out);
  if (d.job_id != 0) {
    absl::StrAppend(out, ",\"job\":", d.job_id);
  }
  absl::StrAppend(out, ",\"t\":", absl::ToUnixMicros(x.decided_at));
  absl::StrAppend(out, ",\"submit\":", absl::ToUnixMicros(r.submit_time));
  AppendField("user", out);
  AppendString(r.user, out);
  absl::StrAppend(out, ",\"uid\":", r.uid);
  AppendField("groups", out);
  AppendStrings(r.groups, out);
  AppendField("account", out);
  AppendString(r.account, out);
  AppendField("declared", out);
  AppendStrings(r.datasets, out);
  AppendField("requested", out);
  AppendStrings(r.partitions, out);
  absl::StrAppend(out, ",\"gpus\":", r.gpus, ",\"nodes\":", r.nodes,
                  ",\"time_limit_s\":", absl::ToInt64Seconds(r.time_limit));
  AppendField("gpu_type", out);
  AppendString(r.gpu_type, out);
  AppendField("verdict", out);
  AppendString(VerdictName(x.verdict), out);
  AppendField("code", out);
  AppendString(RejectCodeName(x.code), out);
  absl::StrAppend(out, ",\"partition_index\":", x.partition);
  AppendField("partition", out);
  AppendString(x.partition_name, out);
  AppendField("region", out);
  AppendString(x.region, out);
  AppendField("labels", out);
  AppendStrings(x.labels, out);
  AppendField("allowed_regions", out);
  AppendStrings(x.allowed_regions, out);
  AppendField("register_version", out);
  AppendString(x.register_version, out);
  AppendField("reason", out);
  AppendString(x.reason, out);
  absl::StrAppend(out, ",\"stale_cluster\":", d.stale_cluster ? "true" : "false");
  // [partition, exclusion, rank, nodes, energy_kwh, co2_grams, free_gpus]
  out->append(",\"candidates\":[");
  for (size_t i = 0; i < x.candidates.size(); ++i) {
    const Candidate& c = x.candidates[i];
    absl::StrAppend(out, i > 0 ? ",[" : "[", c.partition, ",", static_cast<int>(c.exclusion), ",",
                    c.rank, ",", c.nodes, ",");
    AppendNumber(c.energy_kwh, out);
    out->push_back(',');
    AppendNumber(c.co2_grams, out);
    absl::StrAppend(out, ",", c.free_gpus, "]");
  }
  out->append("]}");
}

absl::StatusOr<SpooledDecision> DecodeSpooledDecision(const std::string& payload) {
  nlohmann::json j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InvalidArgumentError("spooled decision: not a JSON object");
  }
  int version = 0;
  if (absl::Status s = Get(j, "v", &version); !s.ok()) {
    return s;
  }
  if (version != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("spooled decision: format version ", version, " is not supported"));
  }
  SpooledDecision d;
  JobRequest& r = d.request;
  Decision& x = d.decision;
  int64_t t = 0, submit = 0, time_limit_s = 0;
  std::string verdict, code;
  std::vector<std::vector<double>> candidates;
  for (absl::Status step :
       {Get(j, "id", &d.decision_id), Get(j, "src", &d.source), Get(j, "t", &t),
        Get(j, "submit", &submit), Get(j, "user", &r.user), Get(j, "uid", &r.uid),
        Get(j, "groups", &r.groups), Get(j, "account", &r.account),
        Get(j, "declared", &r.datasets), Get(j, "requested", &r.partitions),
        Get(j, "gpus", &r.gpus), Get(j, "nodes", &r.nodes), Get(j, "time_limit_s", &time_limit_s),
        Get(j, "gpu_type", &r.gpu_type), Get(j, "verdict", &verdict), Get(j, "code", &code),
        Get(j, "partition_index", &x.partition), Get(j, "partition", &x.partition_name),
        Get(j, "region", &x.region), Get(j, "labels", &x.labels),
        Get(j, "allowed_regions", &x.allowed_regions),
        Get(j, "register_version", &x.register_version), Get(j, "reason", &x.reason),
        Get(j, "stale_cluster", &d.stale_cluster), Get(j, "candidates", &candidates)}) {
    if (!step.ok()) {
      return step;
    }
  }
  if (auto job = j.find("job"); job != j.end()) {
    if (!job->is_number_unsigned()) {
      return WrongType("job");
    }
    if (absl::Status s = GetInteger(*job, "job", &d.job_id); !s.ok()) {
      return s;
    }
  }
  x.decided_at = absl::FromUnixMicros(t);
  r.submit_time = absl::FromUnixMicros(submit);
  r.time_limit = absl::Seconds(time_limit_s);
  if (verdict == VerdictName(Verdict::kPlace)) {
    x.verdict = Verdict::kPlace;
  } else if (verdict == VerdictName(Verdict::kReject)) {
    x.verdict = Verdict::kReject;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("spooled decision: unknown verdict \"", verdict, "\""));
  }
  x.code = RejectCode::kNone;
  for (int c = static_cast<int>(RejectCode::kNone); c <= static_cast<int>(RejectCode::kStartRefused);
       ++c) {
    if (RejectCodeName(static_cast<RejectCode>(c)) == code) {
      x.code = static_cast<RejectCode>(c);
    }
  }
  for (const std::vector<double>& row : candidates) {
    if (row.size() != 7) {
      return absl::InvalidArgumentError("spooled decision: a candidate does not have 7 fields");
    }
    Candidate c;
    int exclusion = 0;
    if (!ToInt(row[0], &c.partition) || !ToInt(row[1], &exclusion) || !ToInt(row[2], &c.rank) ||
        !ToInt(row[3], &c.nodes) || !ToInt(row[6], &c.free_gpus) ||
        ExclusionName(static_cast<Exclusion>(exclusion)) == "unknown") {
      return absl::InvalidArgumentError(
          "spooled decision: a candidate has a field out of range");
    }
    c.exclusion = static_cast<Exclusion>(exclusion);
    c.energy_kwh = row[4];
    c.co2_grams = row[5];
    c.jobs_per_kwh = c.energy_kwh > 0 ? 1.0 / c.energy_kwh : 0;
    x.candidates.push_back(c);
  }
  return d;
}

}  // namespace sovereign::spool
