#include "sovereign/spool_record.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

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
void AppendNumber(double v, std::string* out) { absl::StrAppend(out, std::isfinite(v) ? v : 0.0); }

absl::Status WrongType(const char* key) {
  return absl::InvalidArgumentError(
      absl::StrCat("spooled decision: field \"", key, "\" has the wrong type"));
}

// The decoder reads the payload with nlohmann's SAX interface straight into the fields it
// knows: no JSON tree is built (the ingester decodes every decision the plugin spools, and the
// tree cost about as much as the rest of the decoding). It answers exactly as reading a tree
// would: a member written twice counts as written last, unknown members are skipped, and the
// first field (in kFields order) missing or of the wrong type is the one named.
enum Field : int {
  kV,
  kId,
  kSrc,
  kT,
  kSubmit,
  kUser,
  kUid,
  kGroups,
  kAccount,
  kDeclared,
  kRequested,
  kGpus,
  kNodes,
  kTimeLimit,
  kGpuType,
  kVerdict,
  kCode,
  kPartitionIndex,
  kPartition,
  kRegion,
  kLabels,
  kAllowedRegions,
  kRegisterVersion,
  kReason,
  kStaleCluster,
  kCandidates,
  kJob,
  kBegin,
  kGreenWindow,
  kGreen,
  kFieldCount
};

constexpr const char* kFields[kFieldCount] = {"v",
                                              "id",
                                              "src",
                                              "t",
                                              "submit",
                                              "user",
                                              "uid",
                                              "groups",
                                              "account",
                                              "declared",
                                              "requested",
                                              "gpus",
                                              "nodes",
                                              "time_limit_s",
                                              "gpu_type",
                                              "verdict",
                                              "code",
                                              "partition_index",
                                              "partition",
                                              "region",
                                              "labels",
                                              "allowed_regions",
                                              "register_version",
                                              "reason",
                                              "stale_cluster",
                                              "candidates",
                                              "job",
                                              "begin",
                                              "green_window_s",
                                              "green"};

// One member's value as read: a scalar, a string, an array of strings, or an array of number
// rows (the candidates), with whether the array held only those.
struct Value {
  enum Type : uint8_t { kAbsent, kNull, kBool, kInt, kUint, kFloat, kString, kArray, kObject };
  Type type = kAbsent;
  bool boolean = false;
  int64_t integer = 0;
  uint64_t unsigned_integer = 0;
  std::string string;
  std::vector<std::string> strings;
  bool only_strings = true;
  std::vector<double> cells;      // the rows' numbers, one row after the other
  std::vector<size_t> row_sizes;  // how many numbers each row holds
  bool only_rows = true;
};

class Reader {
 public:
  using json = nlohmann::json;

  bool null() {
    return Scalar(Value::kNull, [](Value&) {});
  }
  bool boolean(bool b) {
    return Scalar(Value::kBool, [b](Value& v) { v.boolean = b; });
  }
  bool number_integer(json::number_integer_t n) {
    return Scalar(
        Value::kInt, [n](Value& v) { v.integer = n; }, static_cast<double>(n));
  }
  bool number_unsigned(json::number_unsigned_t n) {
    return Scalar(
        Value::kUint, [n](Value& v) { v.unsigned_integer = n; }, static_cast<double>(n));
  }
  bool number_float(json::number_float_t f, const json::string_t&) {
    return Scalar(
        Value::kFloat, [](Value&) {}, f);
  }
  bool string(json::string_t& s) {
    if (depth_ == 2 && array_ != nullptr) {
      array_->strings.push_back(std::move(s));
      array_->only_rows = false;
      return true;
    }
    if (depth_ == 3 && row_open_) {
      array_->only_rows = false;
      return true;
    }
    return Scalar(Value::kString, [&s](Value& v) { v.string = std::move(s); });
  }
  bool binary(json::binary_t&) { return false; }  // not in JSON text
  bool key(json::string_t& k) {
    if (depth_ == 1) {
      field_ = nullptr;
      for (int f = 0; f < kFieldCount; ++f) {
        if (k == kFields[f]) {
          field_ = &values_[f];
          *field_ = Value();
          break;
        }
      }
    }
    return true;
  }
  bool start_object(size_t) { return Open(Value::kObject); }
  bool start_array(size_t) { return Open(Value::kArray); }
  bool end_object() { return Close(); }
  bool end_array() { return Close(); }
  bool parse_error(size_t, const std::string&, const nlohmann::detail::exception&) { return false; }

  Value& operator[](Field f) { return values_[f]; }

 private:
  // A scalar: a member's value at depth 1, an element of a member's array at depth 2 (only
  // strings belong there), a number in a row at depth 3.
  template <typename Set>
  bool Scalar(Value::Type type, Set set, double number = 0) {
    if (depth_ == 0) {
      return false;  // not an object
    }
    if (depth_ == 1) {
      if (field_ != nullptr) {
        field_->type = type;
        set(*field_);
      }
    } else if (depth_ == 2 && array_ != nullptr) {
      array_->only_strings = false;
      array_->only_rows = false;
    } else if (depth_ == 3 && row_open_) {
      if (type == Value::kNull || type == Value::kBool) {
        array_->only_rows = false;
      } else {
        array_->cells.push_back(number);
        ++array_->row_sizes.back();
      }
    }
    return true;
  }

  bool Open(Value::Type type) {
    if (depth_ == 0 && type != Value::kObject) {
      return false;  // not an object
    }
    if (depth_ == 1) {
      array_ = nullptr;
      if (field_ != nullptr) {
        field_->type = type;
        array_ = type == Value::kArray ? field_ : nullptr;
      }
    } else if (depth_ == 2 && array_ != nullptr) {
      array_->only_strings = false;
      row_open_ = type == Value::kArray;
      if (row_open_) {
        array_->row_sizes.push_back(0);
      } else {
        array_->only_rows = false;
      }
    } else if (depth_ == 3 && row_open_) {
      array_->only_rows = false;
    }
    ++depth_;
    return true;
  }

  bool Close() {
    --depth_;
    if (depth_ == 2) {
      row_open_ = false;
    } else if (depth_ == 1) {
      array_ = nullptr;
    }
    return true;
  }

  int depth_ = 0;
  Value* field_ = nullptr;  // the member being read at depth 1 (nullptr: one not read)
  Value* array_ = nullptr;  // the member whose array is open at depth 2
  bool row_open_ = false;   // an array inside array_ is open at depth 3
  Value values_[kFieldCount];
};

// An integer field: a JSON integer that T holds (a double such as 1e300 or 8.5 is the wrong
// type; converting it would be undefined behaviour or a different value).
template <typename T>
absl::Status GetInteger(Value& v, Field f, T* out) {
  if (v.type == Value::kAbsent) {
    return absl::InvalidArgumentError(
        absl::StrCat("spooled decision: field \"", kFields[f], "\" is missing"));
  }
  if (v.type != Value::kInt && v.type != Value::kUint) {
    return WrongType(kFields[f]);
  }
  const bool fits = v.type == Value::kUint
                        ? v.unsigned_integer <= static_cast<uint64_t>(std::numeric_limits<T>::max())
                        : std::in_range<T>(v.integer);
  if (!fits) {
    return absl::InvalidArgumentError(absl::StrCat(
        "spooled decision: field \"", kFields[f],
        "\": ", v.type == Value::kUint ? absl::StrCat(v.unsigned_integer) : absl::StrCat(v.integer),
        " is out of range"));
  }
  *out = static_cast<T>(v.type == Value::kUint ? v.unsigned_integer
                                               : static_cast<uint64_t>(v.integer));
  return absl::OkStatus();
}

absl::Status Missing(Field f) {
  return absl::InvalidArgumentError(
      absl::StrCat("spooled decision: field \"", kFields[f], "\" is missing"));
}

template <typename T>
absl::Status Get(Reader& reader, Field f, T* out) {
  Value& v = reader[f];
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    return GetInteger(v, f, out);
  } else {
    if (v.type == Value::kAbsent) {
      return Missing(f);
    }
    if constexpr (std::is_same_v<T, bool>) {
      if (v.type != Value::kBool) {
        return WrongType(kFields[f]);
      }
      *out = v.boolean;
    } else if constexpr (std::is_same_v<T, std::string>) {
      if (v.type != Value::kString) {
        return WrongType(kFields[f]);
      }
      *out = std::move(v.string);
    } else {
      static_assert(std::is_same_v<T, std::vector<std::string>>);
      if (v.type != Value::kArray || !v.only_strings) {
        return WrongType(kFields[f]);
      }
      *out = std::move(v.strings);
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

// A time column in unix microseconds: a whole number of at most 1e17 (year ~5000).
bool ToMicros(double v, absl::Time* out) {
  if (v != std::trunc(v) || std::abs(v) > 1e17) {
    return false;
  }
  *out = absl::FromUnixMicros(static_cast<int64_t>(v));
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
  if (r.begin_time != absl::InfinitePast()) {
    absl::StrAppend(out, ",\"begin\":", absl::ToUnixMicros(r.begin_time));
  }
  if (r.green_window > absl::ZeroDuration()) {
    absl::StrAppend(out, ",\"green_window_s\":", absl::ToInt64Seconds(r.green_window));
  }
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
  // [partition, exclusion, rank, nodes, energy_kwh, co2_grams, free_gpus], and where a site's
  // carbon series covered part of the run or the GPU power was measured: gco2_per_kwh,
  // carbon_covered (0: the register's annual mean), forecast (0 or 1), basis (0 location-based,
  // 1 market-based); and where it was measured: watts per GPU, when measured (unix us).
  out->append(",\"candidates\":[");
  for (size_t i = 0; i < x.candidates.size(); ++i) {
    const Candidate& c = x.candidates[i];
    absl::StrAppend(out, i > 0 ? ",[" : "[", c.partition, ",", static_cast<int>(c.exclusion), ",",
                    c.rank, ",", c.nodes, ",");
    AppendNumber(c.energy_kwh, out);
    out->push_back(',');
    AppendNumber(c.co2_grams, out);
    absl::StrAppend(out, ",", c.free_gpus);
    const bool measured = c.power_from != PowerFrom::kRegister;
    if (c.carbon_covered > 0 || measured) {
      out->push_back(',');
      AppendNumber(c.gco2_per_kwh, out);
      out->push_back(',');
      AppendNumber(c.carbon_covered, out);
      absl::StrAppend(out, ",", c.carbon_forecast ? 1 : 0, ",",
                      c.carbon_basis == CarbonBasis::kMarket ? 1 : 0);
    }
    if (measured) {
      out->push_back(',');
      AppendNumber(c.gpu_watts, out);
      absl::StrAppend(out, ",", absl::ToUnixMicros(c.power_at));
      if (c.power_from == PowerFrom::kLearned) {
        out->append(",1");  // 14 fields: the figure was learnt (13: live)
      }
    }
    out->push_back(']');
  }
  out->push_back(']');
  // One row: [window_s, asked_s, immediate start (us), immediate partition, its gCO2, start
  // (us), partition, gCO2, moved (0 or 1)].
  if (const GreenStart& g = x.green; g.asked > absl::ZeroDuration()) {
    absl::StrAppend(out, ",\"green\":[[", absl::ToInt64Seconds(g.window), ",",
                    absl::ToInt64Seconds(g.asked), ",", absl::ToUnixMicros(g.immediate), ",",
                    g.immediate_partition, ",");
    AppendNumber(g.immediate_co2_grams, out);
    absl::StrAppend(out, ",", absl::ToUnixMicros(g.start), ",", g.partition, ",");
    AppendNumber(g.co2_grams, out);
    absl::StrAppend(out, ",", g.moved ? 1 : 0, "]]");
  }
  out->push_back('}');
}

namespace {

// An optional integer member: absent leaves *out as it is.
template <typename T>
absl::Status GetOptional(Reader& j, Field f, T* out) {
  Value& v = j[f];
  return v.type == Value::kAbsent ? absl::OkStatus() : GetInteger(v, f, out);
}

// The "green" row (EncodeSpooledDecision), when there is one.
absl::Status DecodeGreen(Value& green, size_t candidates, GreenStart* g) {
  if (green.type == Value::kAbsent) {
    return absl::OkStatus();
  }
  if (green.type != Value::kArray || !green.only_rows || green.row_sizes.size() != 1 ||
      green.row_sizes[0] != 9) {
    return WrongType(kFields[kGreen]);
  }
  const double* row = green.cells.data();
  int window = 0, asked = 0, moved = 0;
  const auto in_range = [candidates](int p) { return p >= 0 && static_cast<size_t>(p) < candidates; };
  if (!ToInt(row[0], &window) || !ToInt(row[1], &asked) ||
      !ToInt(row[3], &g->immediate_partition) || !ToInt(row[6], &g->partition) ||
      !ToInt(row[8], &moved) || window < 0 || asked <= 0 || window > asked ||
      (moved != 0 && moved != 1) || !in_range(g->immediate_partition) || !in_range(g->partition) ||
      !(row[4] >= 0) || !(row[7] >= 0) || !ToMicros(row[2], &g->immediate) ||
      !ToMicros(row[5], &g->start)) {
    return absl::InvalidArgumentError("spooled decision: the green row has a field out of range");
  }
  g->window = absl::Seconds(window);
  g->asked = absl::Seconds(asked);
  g->immediate_co2_grams = row[4];
  g->co2_grams = row[7];
  g->moved = moved == 1;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SpooledDecision> DecodeSpooledDecision(const std::string& payload) {
  Reader j;
  if (!nlohmann::json::sax_parse(payload, &j)) {
    return absl::InvalidArgumentError("spooled decision: not a JSON object");
  }
  int version = 0;
  if (absl::Status s = Get(j, kV, &version); !s.ok()) {
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
  for (absl::Status step : {Get(j, kId, &d.decision_id),
                            Get(j, kSrc, &d.source),
                            Get(j, kT, &t),
                            Get(j, kSubmit, &submit),
                            Get(j, kUser, &r.user),
                            Get(j, kUid, &r.uid),
                            Get(j, kGroups, &r.groups),
                            Get(j, kAccount, &r.account),
                            Get(j, kDeclared, &r.datasets),
                            Get(j, kRequested, &r.partitions),
                            Get(j, kGpus, &r.gpus),
                            Get(j, kNodes, &r.nodes),
                            Get(j, kTimeLimit, &time_limit_s),
                            Get(j, kGpuType, &r.gpu_type),
                            Get(j, kVerdict, &verdict),
                            Get(j, kCode, &code),
                            Get(j, kPartitionIndex, &x.partition),
                            Get(j, kPartition, &x.partition_name),
                            Get(j, kRegion, &x.region),
                            Get(j, kLabels, &x.labels),
                            Get(j, kAllowedRegions, &x.allowed_regions),
                            Get(j, kRegisterVersion, &x.register_version),
                            Get(j, kReason, &x.reason),
                            Get(j, kStaleCluster, &d.stale_cluster)}) {
    if (!step.ok()) {
      return step;
    }
  }
  Value& candidates = j[kCandidates];
  if (candidates.type == Value::kAbsent) {
    return Missing(kCandidates);
  }
  if (candidates.type != Value::kArray || !candidates.only_rows) {
    return WrongType(kFields[kCandidates]);
  }
  if (Value& job = j[kJob]; job.type != Value::kAbsent) {
    if (job.type != Value::kUint) {
      return WrongType(kFields[kJob]);
    }
    if (absl::Status s = GetInteger(job, kJob, &d.job_id); !s.ok()) {
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
  for (int c = static_cast<int>(RejectCode::kNone);
       c <= static_cast<int>(RejectCode::kStartRefused); ++c) {
    if (RejectCodeName(static_cast<RejectCode>(c)) == code) {
      x.code = static_cast<RejectCode>(c);
    }
  }
  const double* cell = candidates.cells.data();
  x.candidates.reserve(candidates.row_sizes.size());
  for (size_t row_size : candidates.row_sizes) {
    const double* row = cell;
    cell += row_size;
    if (row_size != 7 && row_size != 11 && row_size != 13 && row_size != 14) {
      return absl::InvalidArgumentError(
          "spooled decision: a candidate does not have 7, 11, 13 or 14 fields");
    }
    Candidate c;
    int exclusion = 0;
    if (!ToInt(row[0], &c.partition) || !ToInt(row[1], &exclusion) || !ToInt(row[2], &c.rank) ||
        !ToInt(row[3], &c.nodes) || !ToInt(row[6], &c.free_gpus) ||
        ExclusionName(static_cast<Exclusion>(exclusion)) == "unknown") {
      return absl::InvalidArgumentError("spooled decision: a candidate has a field out of range");
    }
    c.exclusion = static_cast<Exclusion>(exclusion);
    c.energy_kwh = row[4];
    c.co2_grams = row[5];
    c.jobs_per_kwh = c.energy_kwh > 0 ? 1.0 / c.energy_kwh : 0;
    // Without a series, the intensity is the register's annual mean: energy x it = CO2.
    c.gco2_per_kwh = c.energy_kwh > 0 ? c.co2_grams / c.energy_kwh : 0;
    if (row_size >= 11) {
      // An 11-field row is written only for a series; a 13-field one also for measured power,
      // a 14-field one for learned power.
      const bool covered_ok =
          row_size >= 13 ? row[8] >= 0 && row[8] <= 1 : row[8] > 0 && row[8] <= 1;
      if (!covered_ok || (row[9] != 0 && row[9] != 1) || (row[10] != 0 && row[10] != 1) ||
          !(row[7] >= 0)) {
        return absl::InvalidArgumentError("spooled decision: a candidate has a field out of range");
      }
      c.gco2_per_kwh = row[7];
      c.carbon_covered = row[8];
      c.carbon_forecast = row[9] == 1;
      c.carbon_basis = row[10] == 1 ? CarbonBasis::kMarket : CarbonBasis::kLocation;
    }
    if (row_size >= 13) {
      if (!(row[11] >= 0 && row[11] <= 100000) || !ToMicros(row[12], &c.power_at) ||
          (row_size == 14 && row[13] != 1)) {
        return absl::InvalidArgumentError("spooled decision: a candidate has a field out of range");
      }
      c.gpu_watts = row[11];
      c.power_from = row_size == 14 ? PowerFrom::kLearned : PowerFrom::kDcgm;
    }
    x.candidates.push_back(c);
  }
  int64_t begin = 0, green_window_s = 0;
  if (absl::Status s = GetOptional(j, kBegin, &begin); !s.ok()) {
    return s;
  }
  if (j[kBegin].type != Value::kAbsent) {
    r.begin_time = absl::FromUnixMicros(begin);
  }
  if (absl::Status s = GetOptional(j, kGreenWindow, &green_window_s); !s.ok()) {
    return s;
  }
  if (green_window_s < 0) {
    return absl::InvalidArgumentError(
        "spooled decision: field \"green_window_s\" must not be negative");
  }
  r.green_window = absl::Seconds(green_window_s);
  if (absl::Status s = DecodeGreen(j[kGreen], x.candidates.size(), &x.green); !s.ok()) {
    return s;
  }
  return d;
}

}  // namespace sovereign::spool
