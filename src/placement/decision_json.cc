// The decision document is written straight into a string (it is on the audit log's path of
// every decision, where building a JSON tree first cost ~45 µs); a reader that wants a JSON
// value parses it, so there is one definition of the document. Members are written in sorted order, as
// nlohmann::json orders them, so that both renderings read alike.
#include "sovereign/decision_json.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "sovereign/residency.h"

namespace sovereign {
namespace {

double Round4(double v) { return std::isfinite(v) ? std::round(v * 1e4) / 1e4 : 0.0; }

// As absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, UTC), which costs a microsecond: the civil
// time's fields are printed directly for the four-digit years every real decision has.
std::string TimeText(absl::Time t) {
  const absl::CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture() || c.year() < 1000 ||
      c.year() > 9999) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02dZ", static_cast<int>(c.year()),
                c.month(), c.day(), c.hour(), c.minute(), c.second());
  return buf;
}

// Length of the well-formed UTF-8 sequence at s[i] (Unicode 15, table 3-7), 0 if ill-formed.
size_t Utf8Length(std::string_view s, size_t i) {
  auto at = [&](size_t k) -> unsigned { return k < s.size() ? static_cast<unsigned char>(s[k]) : 0; };
  auto cont = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) {
    return at(k) >= lo && at(k) <= hi;
  };
  unsigned c = at(i);
  if (c >= 0xc2 && c <= 0xdf) {
    return cont(i + 1) ? 2 : 0;
  }
  if (c >= 0xe0 && c <= 0xef) {
    unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0;
  }
  if (c >= 0xf0 && c <= 0xf4) {
    unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0;
  }
  return 0;
}

// A quoted JSON string. Ill-formed UTF-8 (a user-supplied name) becomes U+FFFD, never an error.
// Runs of characters that need no escaping are copied at once.
void Str(std::string* out, std::string_view s) {
  out->push_back('"');
  size_t plain = 0;  // start of the run not yet copied
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    const size_t utf8 = c >= 0x80 ? Utf8Length(s, i) : 0;
    if (utf8 > 0) {
      i += utf8;  // well-formed: part of the run
      continue;
    }
    out->append(s.data() + plain, i - plain);
    if (c >= 0x80) {
      out->append("\xef\xbf\xbd");
      plain = ++i;
      continue;
    }
    switch (c) {
      case '"': out->append("\\\""); break;
      case '\\': out->append("\\\\"); break;
      case '\b': out->append("\\b"); break;
      case '\f': out->append("\\f"); break;
      case '\n': out->append("\\n"); break;
      case '\r': out->append("\\r"); break;
      case '\t': out->append("\\t"); break;
      default: {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out->append(buf);
      }
    }
    plain = ++i;
  }
  out->append(s.data() + plain, s.size() - plain);
  out->push_back('"');
}

// `"key":` after a comma unless it is the object's first member.
void Key(std::string* out, const char* key) {
  if (out->back() != '{') {
    out->push_back(',');
  }
  out->push_back('"');
  out->append(key);
  out->append("\":");
}

// As nlohmann::json writes a double (printf("%g")-like, at least one decimal): the shortest
// digits that read back as `v`, in fixed notation when the decimal point falls within 15 digits
// of them (and no further than 3 zeros after it), else "d.ddde+XX".
void Num(std::string* out, double v) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[40];
  std::to_chars_result r = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::scientific);
  std::string_view sci(buf, static_cast<size_t>(r.ptr - buf));  // [-]d[.ddd]e±XX
  if (!sci.empty() && sci.front() == '-') {
    out->push_back('-');
    sci.remove_prefix(1);
  }
  const size_t e_at = sci.find('e');
  char digit_buf[40];
  size_t k = 0;
  for (char ch : sci.substr(0, e_at)) {
    if (ch != '.') {
      digit_buf[k++] = ch;
    }
  }
  const std::string_view digits(digit_buf, k);
  int exponent = 0;
  std::from_chars(sci.data() + e_at + (sci[e_at + 1] == '+' ? 2 : 1), sci.data() + sci.size(),
                  exponent);
  const int n = exponent + 1;  // where the decimal point falls in the digits
  const int nk = static_cast<int>(k);
  if (nk <= n && n <= 15) {
    out->append(digits).append(static_cast<size_t>(n - nk), '0').append(".0");
  } else if (0 < n && n <= 15) {
    out->append(digits.substr(0, static_cast<size_t>(n)))
        .append(".")
        .append(digits.substr(static_cast<size_t>(n)));
  } else if (-4 < n && n <= 0) {
    out->append("0.").append(static_cast<size_t>(-n), '0').append(digits);
  } else {
    out->push_back(digits[0]);
    if (nk > 1) {
      out->append(".").append(digits.substr(1));
    }
    char exp[16];
    std::snprintf(exp, sizeof(exp), "e%c%02d", n - 1 < 0 ? '-' : '+', std::abs(n - 1));
    out->append(exp);
  }
}

void Int(std::string* out, int64_t v) { absl::StrAppend(out, v); }

void StrArray(std::string* out, const std::vector<std::string>& values) {
  out->push_back('[');
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) {
      out->push_back(',');
    }
    Str(out, values[i]);
  }
  out->push_back(']');
}

void WriteRequest(std::string* out, const JobRequest& r) {
  out->push_back('{');
  Key(out, "account"), Str(out, r.account);
  if (r.begin_time != absl::InfinitePast()) {
    Key(out, "begin_time"), Str(out, TimeText(r.begin_time));
  }
  Key(out, "datasets"), StrArray(out, r.datasets);
  Key(out, "gpu_type"), Str(out, r.gpu_type);
  Key(out, "gpus"), Int(out, r.gpus);
  if (r.green_window > absl::ZeroDuration()) {
    Key(out, "green_window_seconds"), Int(out, absl::ToInt64Seconds(r.green_window));
  }
  Key(out, "groups"), StrArray(out, r.groups);
  Key(out, "nodes"), Int(out, r.nodes);
  Key(out, "partitions"), StrArray(out, r.partitions);
  Key(out, "submit_time"), Str(out, TimeText(r.submit_time));
  Key(out, "time_limit_seconds"), Int(out, absl::ToInt64Seconds(r.time_limit));
  Key(out, "uid"), Int(out, r.uid);
  Key(out, "user"), Str(out, r.user);
  out->push_back('}');
}

void WriteCandidates(std::string* out, const Decision& d, const Register& reg) {
  out->push_back('[');
  bool first = true;
  // Worked out once for the decision, for every candidate its datasets exclude.
  std::optional<Residency> residency;
  bool residency_tried = false;
  for (const Candidate& c : d.candidates) {
    if (c.partition < 0 || static_cast<size_t>(c.partition) >= reg.partitions().size()) {
      continue;  // not from this register
    }
    const Partition& p = reg.partitions()[c.partition];
    const Site& s = reg.sites()[reg.SiteOfPartition(c.partition)];
    const char* status = c.exclusion != Exclusion::kEligible ? "excluded"
                         : c.rank == 1                       ? "chosen"
                                                             : "eligible";
    if (!first) {
      out->push_back(',');
    }
    first = false;
    out->push_back('{');
    // Where the grid intensity came from: the site's series over the run, or the register.
    Key(out, "carbon"), out->push_back('{');
    if (c.carbon_covered > 0) {
      Key(out, "basis"), Str(out, CarbonBasisName(c.carbon_basis));
      Key(out, "covered"), Num(out, Round4(c.carbon_covered));
      Key(out, "forecast"), out->append(c.carbon_forecast ? "true" : "false");
      Key(out, "from"), Str(out, "series");
    } else {
      Key(out, "from"), Str(out, "register");
    }
    out->push_back('}');
    Key(out, "co2_grams"), Num(out, Round4(c.co2_grams));
    Key(out, "energy_kwh"), Num(out, Round4(c.energy_kwh));
    Key(out, "exclusion"), Str(out, ExclusionName(c.exclusion));
    Key(out, "free_gpus"), Int(out, c.free_gpus);
    Key(out, "gco2_per_kwh"), Num(out, Round4(c.gco2_per_kwh));
    Key(out, "gpu_type"), Str(out, p.gpu_type);
    Key(out, "jobs_per_kwh"), Num(out, Round4(c.jobs_per_kwh));
    Key(out, "nodes"), Int(out, c.nodes);
    Key(out, "partition"), Str(out, p.name);
    // Where the GPU power figure came from, and how old the measurement was at the decision.
    Key(out, "power"), out->push_back('{');
    if (c.power_from != PowerFrom::kRegister) {
      Key(out, "age_seconds"), Int(out, absl::ToInt64Seconds(d.decided_at - c.power_at));
    }
    Key(out, "from"), Str(out, PowerFromName(c.power_from));
    // The register's figure is the register's: a spooled decision does not carry it.
    Key(out, "gpu_watts"),
        Num(out, Round4(c.power_from == PowerFrom::kRegister
                            ? reg.figures(c.partition).gpu_watts
                            : c.gpu_watts));
    out->push_back('}');
    Key(out, "rank"), Int(out, c.rank);
    Key(out, "region"), Str(out, s.region);
    Key(out, "site"), Str(out, s.name);
    Key(out, "status"), Str(out, status);
    if (!residency_tried && (c.exclusion == Exclusion::kRegionNotAllowed ||
                             c.exclusion == Exclusion::kJurisdictionNotAccepted)) {
      residency_tried = true;
      if (absl::StatusOr<Residency> r = Residency::OfNames(d.labels, reg); r.ok()) {
        residency = *std::move(r);
      }
    }
    Key(out, "why"), Str(out, DescribeExclusion(c, d, reg, residency ? &*residency : nullptr));
    out->push_back('}');
  }
  out->push_back(']');
}

// What a green window did: both starts with their estimates, and the saving.
void WriteGreen(std::string* out, const GreenStart& g, const Register& reg) {
  auto name = [&reg](int p) {
    return p >= 0 && static_cast<size_t>(p) < reg.partitions().size() ? reg.partitions()[p].name
                                                                       : std::string();
  };
  out->push_back('{');
  Key(out, "asked_seconds"), Int(out, absl::ToInt64Seconds(g.asked));
  Key(out, "co2_grams"), Num(out, Round4(g.co2_grams));
  Key(out, "immediate"), out->push_back('{');
  Key(out, "co2_grams"), Num(out, Round4(g.immediate_co2_grams));
  Key(out, "partition"), Str(out, name(g.immediate_partition));
  Key(out, "start"), Str(out, TimeText(g.immediate));
  out->push_back('}');
  Key(out, "moved"), out->append(g.moved ? "true" : "false");
  Key(out, "partition"), Str(out, name(g.partition));
  Key(out, "saving"), Num(out, Round4(g.saving()));
  Key(out, "start"), Str(out, TimeText(g.start));
  Key(out, "window_seconds"), Int(out, absl::ToInt64Seconds(g.window));
  out->push_back('}');
}

}  // namespace

std::string JobRequestJsonText(const JobRequest& request) {
  std::string out;
  out.reserve(256);
  WriteRequest(&out, request);
  return out;
}

std::string DecisionJsonText(const Decision& d, const JobRequest& request, const Register& reg,
                             std::initializer_list<ExtraMember> extra) {
  std::string out;
  out.reserve(2048 + 400 * d.candidates.size());
  out.push_back('{');
  Key(&out, "allowed_regions"), StrArray(&out, d.allowed_regions);
  Key(&out, "candidates"), WriteCandidates(&out, d, reg);
  Key(&out, "code"), Str(&out, RejectCodeName(d.code));
  Key(&out, "decided_at"), Str(&out, TimeText(d.decided_at));
  if (d.green.asked > absl::ZeroDuration()) {
    Key(&out, "green"), WriteGreen(&out, d.green, reg);
  }
  Key(&out, "labels"), StrArray(&out, d.labels);
  Key(&out, "partition"), Str(&out, d.partition_name);
  Key(&out, "reason"), Str(&out, d.reason);
  Key(&out, "region"), Str(&out, d.region);
  Key(&out, "register_version"), Str(&out, d.register_version);
  Key(&out, "request"), WriteRequest(&out, request);
  Key(&out, "verdict"), Str(&out, VerdictName(d.verdict));
  for (const ExtraMember& m : extra) {
    if (m.key == nullptr) {
      continue;
    }
    Key(&out, m.key);
    if (m.json) {
      out.append(m.value);
    } else {
      Str(&out, m.value);
    }
  }
  out.push_back('}');
  return out;
}

}  // namespace sovereign
