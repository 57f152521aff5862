#include "sovereign/carbon_series.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sovereign/user_text.h"

namespace sovereign {
namespace {

std::vector<std::string> Cells(absl::string_view line) {
  std::vector<std::string> cells;
  for (absl::string_view cell : absl::StrSplit(line, ',')) {
    cell = absl::StripAsciiWhitespace(cell);
    if (cell.size() >= 2 && cell.front() == '"' && cell.back() == '"') {
      cell = cell.substr(1, cell.size() - 2);
    }
    cells.emplace_back(cell);
  }
  return cells;
}

// The columns of one CSV form.
struct Columns {
  int time = -1;
  int intensity = -1;
  int kind = -1;  // sovereign's form only
  bool electricity_maps = false;
};

absl::StatusOr<Columns> ReadHeader(const std::vector<std::string>& header,
                                   const std::string& where) {
  Columns c;
  int direct = -1, lifecycle = -1;
  for (int i = 0; i < static_cast<int>(header.size()); ++i) {
    const std::string name = absl::AsciiStrToLower(header[i]);
    if (name == "timestamp") {
      c.time = i;
    } else if (name == "gco2_per_kwh") {
      c.intensity = i;
    } else if (name == "kind") {
      c.kind = i;
    } else if (absl::StartsWith(name, "datetime")) {
      c.time = i;
      c.electricity_maps = true;
    } else if (absl::StartsWith(name, "carbon intensity")) {
      (absl::StrContains(name, "lca") || absl::StrContains(name, "life") ? lifecycle : direct) = i;
    }
  }
  if (c.electricity_maps) {
    c.intensity = lifecycle >= 0 ? lifecycle : direct;
  }
  if (c.time < 0 || c.intensity < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        where, ": the header names no ", c.time < 0 ? "time" : "carbon intensity",
        " column (expected \"timestamp,gco2_per_kwh[,kind]\" or Electricity Maps' \"Datetime "
        "(UTC)\" and \"Carbon Intensity gCO2eq/kWh (LCA)\")"));
  }
  return c;
}

bool ParseWhen(const std::string& text, bool electricity_maps, absl::Time* at) {
  std::string err;
  if (absl::ParseTime(absl::RFC3339_full, text, at, &err)) {
    return true;
  }
  return electricity_maps &&
         absl::ParseTime("%Y-%m-%d %H:%M:%S", text, absl::UTCTimeZone(), at, &err);
}

}  // namespace

std::string_view CarbonBasisName(CarbonBasis basis) {
  return basis == CarbonBasis::kMarket ? "market-based" : "location-based";
}

absl::StatusOr<CarbonSeries> CarbonSeries::Parse(std::string_view csv_text,
                                                 std::string_view source_name) {
  const absl::string_view csv(csv_text.data(), csv_text.size());
  const std::string source(source_name);
  std::vector<CarbonPoint> points;
  std::optional<Columns> columns;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(csv, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    const std::string where = absl::StrCat("carbon series ", source, ":", line_no);
    const std::vector<std::string> cells = Cells(line);
    if (!columns.has_value()) {
      absl::StatusOr<Columns> header = ReadHeader(cells, where);
      if (!header.ok()) {
        return header.status();
      }
      columns = *header;
      continue;
    }
    const Columns& c = *columns;
    if (static_cast<int>(cells.size()) <= std::max({c.time, c.intensity, c.kind})) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", cells.size(), " columns, the header has more"));
    }
    CarbonPoint p;
    if (!ParseWhen(cells[c.time], c.electricity_maps, &p.at)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": time ", QuoteUserText(cells[c.time], 40), " is not an RFC 3339 time"));
    }
    if (!absl::SimpleAtod(cells[c.intensity], &p.gco2_per_kwh) || !std::isfinite(p.gco2_per_kwh)) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": gco2_per_kwh ", QuoteUserText(cells[c.intensity], 40), " is not a number"));
    }
    if (c.kind >= 0 && !cells[c.kind].empty()) {
      const std::string kind = absl::AsciiStrToLower(cells[c.kind]);
      if (kind != "measured" && kind != "forecast") {
        return absl::InvalidArgumentError(absl::StrCat(where, ": kind ",
                                                       QuoteUserText(cells[c.kind], 40),
                                                       " is neither measured nor forecast"));
      }
      p.forecast = kind == "forecast";
    }
    if (points.size() == kMaxPoints) {
      return absl::InvalidArgumentError(
          absl::StrCat("carbon series ", source, ": more than ", kMaxPoints, " points"));
    }
    points.push_back(p);
    if (points.size() >= 2 && points[points.size() - 2].at >= p.at) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": ", FormatTime(absl::RFC3339_sec, p.at, absl::UTCTimeZone()),
                       " does not come after the time of the line before"));
    }
    if (p.gco2_per_kwh < 0 || p.gco2_per_kwh > kMaxIntensity) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": gco2_per_kwh ", p.gco2_per_kwh,
                                                     " is outside 0 to ", kMaxIntensity));
    }
  }
  if (points.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("carbon series ", source, ": no points"));
  }
  return Of(std::move(points));  // every line checked above, with its line number
}

absl::StatusOr<CarbonSeries> CarbonSeries::FromPoints(std::vector<CarbonPoint> points,
                                                      std::string_view source_name) {
  const std::string source(source_name);
  if (points.empty() || points.size() > kMaxPoints) {
    return absl::InvalidArgumentError(absl::StrCat("carbon series ", source, ": ", points.size(),
                                                   " points (1 to ", kMaxPoints, ")"));
  }
  for (size_t i = 0; i < points.size(); ++i) {
    if (!(points[i].gco2_per_kwh >= 0 && points[i].gco2_per_kwh <= kMaxIntensity) ||
        (i > 0 && points[i - 1].at >= points[i].at)) {
      return absl::InvalidArgumentError(absl::StrCat("carbon series ", source, ": point ", i + 1,
                                                     " is out of range or out of order"));
    }
  }
  return Of(std::move(points));
}

CarbonSeries CarbonSeries::Of(std::vector<CarbonPoint> points) {
  CarbonSeries s;
  s.points_ = std::move(points);
  if (s.points_.size() >= 2) {
    s.last_step_ = s.points_.back().at - s.points_[s.points_.size() - 2].at;
  }
  return s;
}

absl::Time CarbonSeries::end() const { return points_.back().at + last_step_; }

CarbonSeries CarbonSeries::From(absl::Time t) const {
  auto it = std::upper_bound(points_.begin(), points_.end(), t,
                             [](absl::Time x, const CarbonPoint& p) { return x < p.at; });
  if (it != points_.begin()) {
    --it;  // the point that holds at t
  }
  CarbonSeries out;
  out.points_.assign(it, points_.end());
  out.last_step_ = last_step_;
  return out;
}

std::optional<CarbonWindow> CarbonSeries::Over(absl::Time from, absl::Duration length) const {
  if (length <= absl::ZeroDuration()) {
    return std::nullopt;
  }
  const absl::Time to = from + length;
  // The first point whose hold reaches past `from`.
  auto it = std::upper_bound(points_.begin(), points_.end(), from,
                             [](absl::Time t, const CarbonPoint& p) { return t < p.at; });
  size_t i = it == points_.begin() ? 0 : static_cast<size_t>(it - points_.begin()) - 1;
  double weighted = 0, seconds = 0;
  bool forecast = false;
  for (; i < points_.size(); ++i) {
    const absl::Time start = std::max(from, points_[i].at);
    const absl::Time stop = std::min(to, i + 1 < points_.size() ? points_[i + 1].at : end());
    if (start >= to) {
      break;
    }
    if (stop <= start) {
      continue;
    }
    const double s = absl::ToDoubleSeconds(stop - start);
    weighted += s * points_[i].gco2_per_kwh;
    seconds += s;
    forecast = forecast || points_[i].forecast;
  }
  if (seconds <= 0) {
    return std::nullopt;
  }
  return CarbonWindow{weighted / seconds, seconds / absl::ToDoubleSeconds(length), forecast};
}

}  // namespace sovereign
