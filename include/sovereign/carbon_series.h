// A site's grid carbon intensity over time: measured hours and a forecast, read from CSV, and
// the mean a job meets over the hours it runs.
//
// Two CSV forms are read:
// - sovereign's own, one point a line (lines starting with # are comments):
//     timestamp,gco2_per_kwh,kind
//     2026-12-05T10:00:00Z,312,measured
//     2026-12-05T11:00:00Z,287.5,forecast
//   `kind` (measured or forecast) may be left out: measured.
// - Electricity Maps' CSV export: the columns "Datetime (UTC)" ("2025-01-01 00:00:00") and
//   "Carbon Intensity gCO₂eq/kWh (LCA)" (life-cycle; the "(direct)" column when there is no
//   life-cycle one); every point measured.
// Each point holds from its timestamp until the next one; the last holds for as long as the
// step before it (an hour when there is one point). Timestamps strictly increase.
//
// Whether the figures are location-based (the grid's mix) or market-based (the supplier's
// contracts) is not in the file: whoever names the file says so (CarbonBasis).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sovereign {

enum class CarbonBasis { kLocation, kMarket };
std::string_view CarbonBasisName(CarbonBasis basis);  // "location-based", "market-based"

struct CarbonPoint {
  absl::Time at;
  double gco2_per_kwh = 0;
  bool forecast = false;
};

// What a job running from `from` for `length` meets of a series.
struct CarbonWindow {
  double gco2_per_kwh = 0;  // time-weighted mean over the covered part
  double covered = 0;       // fraction of the window the series covers, (0, 1]
  bool forecast = false;    // some of it is forecast
};

class CarbonSeries {
 public:
  // At most this many points, and intensities in [0, kMaxIntensity] gCO2/kWh.
  static constexpr size_t kMaxPoints = 100000;
  static constexpr double kMaxIntensity = 5000;

  // Parses either CSV form. `source` names the input in errors
  // ("carbon series fr.csv:7: gco2_per_kwh \"n/a\" is not a number").
  static absl::StatusOr<CarbonSeries> Parse(std::string_view csv, std::string_view source);
  // Builds a series from points that already strictly increase in time (the snapshot's copy).
  static absl::StatusOr<CarbonSeries> FromPoints(std::vector<CarbonPoint> points,
                                                 std::string_view source);

  const std::vector<CarbonPoint>& points() const { return points_; }
  // The end of the last point's hold.
  absl::Time end() const;

  // The points whose hold reaches past `t` (the series from `t` on; the same series when it
  // starts later; the last point alone when it ends before).
  CarbonSeries From(absl::Time t) const;

  // The part of [from, from + length) the series covers, and its mean; nullopt when it covers
  // none of it (or length <= 0).
  std::optional<CarbonWindow> Over(absl::Time from, absl::Duration length) const;

 private:
  // The series of points already checked (1 to kMaxPoints, in range, strictly increasing).
  static CarbonSeries Of(std::vector<CarbonPoint> points);

  std::vector<CarbonPoint> points_;
  absl::Duration last_step_ = absl::Hours(1);
};

}  // namespace sovereign
