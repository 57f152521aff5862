// Step 10 of Decide: a green window. A job that lets its start move by up to W starts at the
// time within [s0, s0 + W] (s0: now, or its --begin), on any eligible partition, where its run
// is expected to emit the least CO2.
//
// A run of length L starting at x meets the mean intensity of [x, x + L). Each site's intensity
// is a step function (a series point holds until the next; outside the series the register's
// annual mean holds), so that mean is piecewise linear in x, bending only where x or x + L
// crosses a step. Its least value over [s0, s0 + W] is at one of those crossings or at an end:
// the search evaluates only those starts, a few per series point inside the window.
#include <algorithm>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "decide_steps.h"

namespace sovereign::decide_internal {
namespace {

// A start and the intensity a run starting then meets.
struct Start {
  absl::Time at;
  double gco2_per_kwh = 0;
};

// The least-intensity start at one site within [from, last]: the earliest of equals.
Start GreenestStart(const Work& w, const Register::PartitionFigures& f, absl::Time from,
                    absl::Time last) {
  std::vector<absl::Time> starts = {from, last};
  if (const ClusterView::Carbon& grid = w.view.carbon(f.site); grid.series != nullptr) {
    const std::vector<CarbonPoint>& points = grid.series->points();
    auto consider = [&](absl::Time step) {
      for (absl::Time x : {step, step - w.run}) {
        if (x > from && x < last) {
          starts.push_back(x);
        }
      }
    };
    // Steps that a run starting within the window can cross: from `from` to `last` + L.
    auto it = std::lower_bound(points.begin(), points.end(), from,
                               [](const CarbonPoint& p, absl::Time t) { return p.at < t; });
    for (; it != points.end() && it->at < last + w.run; ++it) {
      consider(it->at);
    }
    if (!points.empty()) {
      consider(points.front().at);  // before the series: the annual mean
      consider(grid.series->end());
    }
  }
  Start best{from, GridIntensityOver(w, f, from).gco2_per_kwh};  // starts[0]
  for (size_t i = 1; i < starts.size(); ++i) {
    const absl::Time x = starts[i];
    const double g = GridIntensityOver(w, f, x).gco2_per_kwh;
    // Compared at 1e-6 g/kWh, so that rounding does not move a start for nothing.
    const int64_t a = std::llround(g * 1e6), b = std::llround(best.gco2_per_kwh * 1e6);
    if (a < b || (a == b && x < best.at)) {
      best = {x, g};
    }
  }
  return best;
}

std::string When(absl::Time t) {
  return absl::FormatTime("%Y-%m-%d %H:%M UTC", t, absl::UTCTimeZone());
}

}  // namespace

GridIntensity GridIntensityOver(const Work& w, const Register::PartitionFigures& f,
                                absl::Time from) {
  GridIntensity out{f.carbon_intensity};
  if (const ClusterView::Carbon& grid = w.view.carbon(f.site); grid.series != nullptr) {
    if (std::optional<CarbonWindow> run = grid.series->Over(from, w.run); run.has_value()) {
      out.gco2_per_kwh =
          run->gco2_per_kwh * run->covered + f.carbon_intensity * (1 - run->covered);
      out.covered = run->covered;
      out.forecast = run->forecast;
      out.basis = grid.basis;
    }
  }
  return out;
}

void ChooseGreenStart(Work& w) {
  Decision& d = w.d;
  const Policy& policy = w.reg.policy();
  GreenStart& g = d.green;
  g.asked = w.req.green_window;
  g.window = std::min(w.req.green_window, policy.green_max_window);
  g.immediate = w.start;
  g.immediate_partition = d.partition;
  g.immediate_co2_grams = d.candidates[d.partition].co2_grams;
  g.start = g.immediate;
  g.partition = d.partition;
  g.co2_grams = g.immediate_co2_grams;
  const std::string capped =
      g.window < g.asked
          ? absl::StrCat(" (asked ", absl::FormatDuration(g.asked), "; the register allows ",
                         absl::FormatDuration(policy.green_max_window), ")")
          : "";
  if (g.window <= absl::ZeroDuration()) {
    absl::StrAppend(&d.reason, "; green window: the register allows none, the job starts now");
    return;
  }
  // Starts on whole seconds (Slurm's begin time), never past the window.
  const absl::Time last = absl::FromUnixSeconds(absl::ToUnixSeconds(w.start + g.window));

  // The best start per site: a partition's CO2 is its energy times the intensity its run meets.
  std::vector<std::optional<Start>> by_site(w.reg.sites().size());
  const Candidate* best = nullptr;
  absl::Time best_start;
  double best_grams = 0;
  for (const Candidate& c : d.candidates) {
    if (c.exclusion != Exclusion::kEligible) {
      continue;
    }
    const Register::PartitionFigures& f = w.reg.figures(c.partition);
    std::optional<Start>& site = by_site[f.site];
    if (!site.has_value()) {
      site = GreenestStart(w, f, w.start, last);
    }
    const double grams = c.energy_kwh * site->gco2_per_kwh;
    const int64_t a = std::llround(grams * 1e6), b = std::llround(best_grams * 1e6);
    if (best == nullptr || a < b || (a == b && (site->at < best_start ||
                                                (site->at == best_start && c.rank < best->rank)))) {
      best = &c;
      best_start = site->at;
      best_grams = grams;
    }
  }
  const double saving = GreenStart::Saving(g.immediate_co2_grams, best_grams);
  if (best == nullptr || (best->partition == d.partition && best_start == w.start) ||
      saving < policy.green_min_saving) {
    absl::StrAppend(
        &d.reason, "; green window ", absl::FormatDuration(g.window), capped, ": starts now",
        best != nullptr && saving > 0
            ? absl::StrFormat(", as no start within it saves %s%% of CO2 or more (at best %.0f%%)",
                              absl::StrFormat("%.0f", policy.green_min_saving * 100),
                              std::floor(saving * 100))
            : ", as no start within it is expected to emit less CO2");
    return;
  }
  g.start = best_start;
  g.partition = best->partition;
  g.co2_grams = best_grams;
  g.moved = true;
  const std::string was = d.partition_name;
  if (best->partition != d.partition) {
    // The partition chosen ranks first; those it passed move down one.
    const int passed = best->rank;
    for (Candidate& c : d.candidates) {
      if (c.exclusion == Exclusion::kEligible && c.rank < passed) {
        ++c.rank;
      }
    }
    d.candidates[best->partition].rank = 1;
    d.partition = best->partition;
    d.partition_name = w.reg.partitions()[best->partition].name;
    d.region = w.reg.regions()[w.reg.RegionOfPartition(best->partition)].name;
  }
  const std::string when = g.start == g.immediate ? std::string("starting now")
                                                  : absl::StrCat("to start at ", When(g.start));
  d.reason = absl::StrFormat(
      "placed on %s (region %s) %s, within its green window of %s%s: %s gCO2 expected instead "
      "of %s starting now on %s (%.0f%% less)",
      d.partition_name, d.region, when, absl::FormatDuration(g.window), capped,
      EstimateText(g.co2_grams), EstimateText(g.immediate_co2_grams), was,
      std::floor(saving * 100));
}

}  // namespace sovereign::decide_internal
