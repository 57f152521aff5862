#include "sovereign/carbon_series.h"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "gtest/gtest.h"

namespace sovereign {
namespace {

absl::Time At(const char* rfc3339) {
  absl::Time t;
  std::string err;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &err)) << err;
  return t;
}

constexpr char kHourly[] =
    "# paris-1, synthetic\n"
    "timestamp,gco2_per_kwh,kind\n"
    "2026-12-05T10:00:00Z,100,measured\n"
    "2026-12-05T11:00:00Z,200,measured\n"
    "2026-12-05T12:00:00Z,50,forecast\n"
    "2026-12-05T13:00:00Z,400,forecast\n";

// Each point holds for its hour; a window's figure is the time-weighted mean of what it meets.
TEST(CarbonSeriesTest, MeanOverAWindowIsTimeWeighted) {
  auto s = CarbonSeries::Parse(kHourly, "fr.csv");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->points().size(), 4u);
  EXPECT_EQ(s->end(), At("2026-12-05T14:00:00Z"));

  // 10:30-12:30: half an hour at 100, an hour at 200, half an hour at 50 = (50+200+25)/2.
  auto w = s->Over(At("2026-12-05T10:30:00Z"), absl::Hours(2));
  ASSERT_TRUE(w.has_value());
  EXPECT_DOUBLE_EQ(w->gco2_per_kwh, 137.5);
  EXPECT_DOUBLE_EQ(w->covered, 1.0);
  EXPECT_TRUE(w->forecast);

  // Inside one measured hour: that hour's figure, nothing forecast.
  w = s->Over(At("2026-12-05T11:10:00Z"), absl::Minutes(20));
  ASSERT_TRUE(w.has_value());
  EXPECT_DOUBLE_EQ(w->gco2_per_kwh, 200);
  EXPECT_FALSE(w->forecast);

  // 13:00-16:00 runs past the series (it ends at 14:00): a third covered, at 400.
  w = s->Over(At("2026-12-05T13:00:00Z"), absl::Hours(3));
  ASSERT_TRUE(w.has_value());
  EXPECT_DOUBLE_EQ(w->gco2_per_kwh, 400);
  EXPECT_DOUBLE_EQ(w->covered, 1.0 / 3);

  // 09:00-10:30: the series starts at 10:00, so a third covered, at 100.
  w = s->Over(At("2026-12-05T09:00:00Z"), absl::Minutes(90));
  ASSERT_TRUE(w.has_value());
  EXPECT_DOUBLE_EQ(w->gco2_per_kwh, 100);
  EXPECT_DOUBLE_EQ(w->covered, 1.0 / 3);

  // From a time on: the point that holds then and those after, the same figures over any
  // window from then.
  const CarbonSeries later = s->From(At("2026-12-05T11:30:00Z"));
  ASSERT_EQ(later.points().size(), 3u);
  EXPECT_EQ(later.points()[0].at, At("2026-12-05T11:00:00Z"));
  EXPECT_EQ(later.end(), s->end());
  EXPECT_DOUBLE_EQ(later.Over(At("2026-12-05T11:30:00Z"), absl::Hours(2))->gco2_per_kwh,
                   s->Over(At("2026-12-05T11:30:00Z"), absl::Hours(2))->gco2_per_kwh);
  EXPECT_EQ(s->From(At("2026-12-05T09:00:00Z")).points().size(), 4u);
  EXPECT_EQ(s->From(At("2026-12-05T20:00:00Z")).points().size(), 1u);

  EXPECT_FALSE(s->Over(At("2026-12-05T14:00:00Z"), absl::Hours(1)).has_value());
  EXPECT_FALSE(s->Over(At("2026-12-05T08:00:00Z"), absl::Hours(1)).has_value());
  EXPECT_FALSE(s->Over(At("2026-12-05T11:00:00Z"), absl::ZeroDuration()).has_value());
}

// Electricity Maps' CSV export: life-cycle figures where there are, measured, UTC times.
TEST(CarbonSeriesTest, ReadsElectricityMapsExports) {
  constexpr char kExport[] =
      "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO\xe2\x82\x82"
      "eq/kWh (direct),"
      "Carbon Intensity gCO\xe2\x82\x82"
      "eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,"
      "Data Source,Data Estimated,Data Estimation Method\n"
      "2025-01-01 00:00:00,France,France,FR,18.6,39.02,96.4,31.2,rte-france.com,false,\n"
      "2025-01-01 01:00:00,France,France,FR,17.9,38.5,96.6,30.8,rte-france.com,false,\n";
  auto s = CarbonSeries::Parse(kExport, "FR_2025_hourly.csv");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->points().size(), 2u);
  EXPECT_EQ(s->points()[0].at, At("2025-01-01T00:00:00Z"));
  EXPECT_DOUBLE_EQ(s->points()[0].gco2_per_kwh, 39.02);
  EXPECT_DOUBLE_EQ(s->points()[1].gco2_per_kwh, 38.5);
  EXPECT_FALSE(s->points()[1].forecast);

  // Only the direct column: that one.
  auto direct = CarbonSeries::Parse(
      "Datetime (UTC),Carbon Intensity gCO2eq/kWh (direct)\n2025-01-01 00:00:00,18.6\n", "d.csv");
  ASSERT_TRUE(direct.ok()) << direct.status();
  EXPECT_DOUBLE_EQ(direct->points()[0].gco2_per_kwh, 18.6);
}

TEST(CarbonSeriesTest, EveryErrorNamesTheLineAndValue) {
  auto error = [](const std::string& csv) {
    auto s = CarbonSeries::Parse(csv, "fr.csv");
    return s.ok() ? std::string("(parsed)") : std::string(s.status().message());
  };
  EXPECT_EQ(error("when,what\n"),
            "carbon series fr.csv:1: the header names no time column (expected "
            "\"timestamp,gco2_per_kwh[,kind]\" or Electricity Maps' \"Datetime (UTC)\" and "
            "\"Carbon Intensity gCO2eq/kWh (LCA)\")");
  EXPECT_EQ(error("timestamp\n"),
            "carbon series fr.csv:1: the header names no carbon intensity column (expected "
            "\"timestamp,gco2_per_kwh[,kind]\" or Electricity Maps' \"Datetime (UTC)\" and "
            "\"Carbon Intensity gCO2eq/kWh (LCA)\")");
  EXPECT_EQ(error("timestamp,gco2_per_kwh\n2026-12-05 10:00,1\n"),
            "carbon series fr.csv:2: time \"2026-12-05 10:00\" is not an RFC 3339 time");
  EXPECT_EQ(error("timestamp,gco2_per_kwh\n2026-12-05T10:00:00Z,n/a\n"),
            "carbon series fr.csv:2: gco2_per_kwh \"n/a\" is not a number");
  EXPECT_EQ(error("timestamp,gco2_per_kwh\n2026-12-05T10:00:00Z,nan\n"),
            "carbon series fr.csv:2: gco2_per_kwh \"nan\" is not a number");
  EXPECT_EQ(error("timestamp,gco2_per_kwh\n2026-12-05T10:00:00Z,-1\n"),
            "carbon series fr.csv:2: gco2_per_kwh -1 is outside 0 to 5000");
  EXPECT_EQ(error("timestamp,gco2_per_kwh,kind\n2026-12-05T10:00:00Z,1,guess\n"),
            "carbon series fr.csv:2: kind \"guess\" is neither measured nor forecast");
  EXPECT_EQ(error("timestamp,gco2_per_kwh,kind\n2026-12-05T10:00:00Z\n"),
            "carbon series fr.csv:2: 1 columns, the header has more");
  EXPECT_EQ(error("timestamp,gco2_per_kwh\n2026-12-05T10:00:00Z,1\n2026-12-05T10:00:00Z,2\n"),
            "carbon series fr.csv:3: 2026-12-05T10:00:00+00:00 does not come after the time of "
            "the line before");
  EXPECT_EQ(error("# nothing\ntimestamp,gco2_per_kwh\n"), "carbon series fr.csv: no points");
}

}  // namespace
// scripts/carbon-series.py, which writes the synthetic series of the demo, writes what the
// reader takes: a daily cycle, lowest (mean - swing) at the trough, highest twelve hours away,
// measured up to now and forecast after.
TEST(CarbonSeriesTest, TheSyntheticSeriesScriptWritesAReadableSeries) {
  char dir[] = "/tmp/carbon_script_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string command = std::string("python3 ") + SOVEREIGN_SOURCE_DIR +
                              "/scripts/carbon-series.py --out " + dir +
                              " --trough-in 3 --now 2026-12-06T01:00:00Z site-x=60,40 >/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  std::ifstream in(std::string(dir) + "/site-x.csv");
  std::stringstream text;
  text << in.rdbuf();
  std::system((std::string("rm -rf ") + dir).c_str());
  ASSERT_EQ(text.str().rfind("# SYNTHETIC, not measured", 0), 0u) << text.str();
  absl::StatusOr<CarbonSeries> series = CarbonSeries::Parse(text.str(), "site-x.csv");
  ASSERT_TRUE(series.ok()) << series.status();
  const std::vector<CarbonPoint>& p = series->points();
  ASSERT_EQ(p.size(), 73u);  // 24 hours back, now, 48 ahead
  auto at = [&](const char* when) {
    absl::Time t;
    std::string err;
    EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, when, &t, &err)) << err;
    for (const CarbonPoint& point : p) {
      if (point.at == t) {
        return point;
      }
    }
    ADD_FAILURE() << "no point at " << when;
    return CarbonPoint{};
  };
  EXPECT_EQ(at("2026-12-06T04:00:00Z").gco2_per_kwh, 20);   // the trough: 60 - 40
  EXPECT_EQ(at("2026-12-06T16:00:00Z").gco2_per_kwh, 100);  // twelve hours on: 60 + 40
  EXPECT_EQ(at("2026-12-06T10:00:00Z").gco2_per_kwh, 60);   // a quarter day: the mean
  EXPECT_FALSE(at("2026-12-06T01:00:00Z").forecast);
  EXPECT_TRUE(at("2026-12-06T02:00:00Z").forecast);
}

}  // namespace sovereign
