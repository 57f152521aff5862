// Green start windows with a real Slurm cluster and sovereignd publishing carbon series: a job
// that lets its start move (the SPANK option, or the comment channel) gets the begin time and
// partition with the least expected CO2 within its window, is told so by sbatch, and the audit
// record keeps both starts; the same job without a window starts at once where it always did.
//
// The series are synthetic (written by the test around the current hour): Paris at 300 gCO2/kWh
// with one hour at 10, two to three hours from now; Mumbai at 600 throughout.
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/daemon_cluster.h"
#include "support/minicluster.h"

namespace sovereign::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class GreenE2ETest : public DaemonClusterTest {
 protected:
  // The first hour of the series, the green hour, and the series files.
  void WriteSeries() {
    const absl::Time hour = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) / 3600 * 3600);
    green_hour_ = hour + absl::Hours(3);
    const std::string dir = state_ + "/carbon";
    mkdir(dir.c_str(), 0755);
    std::ofstream paris(dir + "/paris-1.csv"), mumbai(dir + "/mumbai-1.csv");
    paris << "# synthetic: written by green_e2e_test\ntimestamp,gco2_per_kwh,kind\n";
    mumbai << "# synthetic: written by green_e2e_test\ntimestamp,gco2_per_kwh,kind\n";
    for (int h = -1; h < 14; ++h) {
      const std::string at = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", hour + absl::Hours(h),
                                              absl::UTCTimeZone());
      paris << at << "," << (h == 3 ? 10 : 300) << ",forecast\n";
      mumbai << at << ",600,forecast\n";
    }
    std::ofstream(state_ + "/sovereignd.yaml", std::ios::app)
        << "carbon:\n  series_dir: " << dir << "\n  basis: location-based\n";
  }

  // scontrol's local-time form of `t` ("2026-12-06T04:00:00").
  static std::string SlurmTime(absl::Time t) {
    return absl::FormatTime("%Y-%m-%dT%H:%M:%S", t, absl::LocalTimeZone());
  }

  absl::Time green_hour_;
};

TEST_F(GreenE2ETest, AJobWithAWindowStartsAtTheGreenHourAndOneWithoutStartsAtOnce) {
  WriteSeries();
  StartDaemon();
  CommandResult status = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket(), "status"});
  EXPECT_THAT(status.out, HasSubstr(absl::StrCat("carbon series:    2 sites published from ",
                                                 state_, "/carbon\n")));
  // Without a window: the most energy-efficient partition, at once.
  const uint32_t plain =
      Submit({"--dataset=imagenet-public", "--gres=gpu:1", "-t", "60", "--wrap", "true"});
  ASSERT_GT(plain, 0u);
  EXPECT_EQ(*cluster_->JobField(plain, "Partition"), "gpu-in-l40s");
  ASSERT_TRUE(cluster_->WaitForJobState(plain, {"COMPLETED"}).ok())
      << *cluster_->JobField(plain, "Reason");

  // With a 6h window: Paris's green hour, 1.95 kWh x 10 g instead of 1.725 kWh x 600 g now.
  CommandResult windowed = cluster_->Run(
      {"sbatch", "--parsable", "-o", "/dev/null", "--dataset=imagenet-public",
       "--green-window=6h", "--gres=gpu:1", "-t", "60", "--wrap", "true"});
  ASSERT_EQ(windowed.exit_code, 0) << windowed.Describe();
  EXPECT_THAT(windowed.err,
              HasSubstr(absl::StrCat(
                  "sbatch: sovereign: placed on gpu-fr-a100 (region eu) to start at ",
                  absl::FormatTime("%Y-%m-%d %H:%M UTC", green_hour_, absl::UTCTimeZone()),
                  ", within its green window of 6h: 19.5 gCO2 expected instead of 1035 starting "
                  "now on gpu-in-l40s (98% less) [decision ")));
  uint32_t id = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(windowed.out), &id));
  EXPECT_EQ(*cluster_->JobField(id, "Partition"), "gpu-fr-a100");
  EXPECT_EQ(*cluster_->JobField(id, "EligibleTime"), SlurmTime(green_hour_));
  EXPECT_EQ(*cluster_->JobField(id, "Reason"), "BeginTime");

  // The comment channel asks the same.
  const uint32_t commented =
      Submit({"--comment=green-window:6h", "--dataset=imagenet-public", "--gres=gpu:1", "-t", "60",
              "--wrap", "true"});
  EXPECT_EQ(*cluster_->JobField(commented, "EligibleTime"), SlurmTime(green_hour_));

  // The record keeps both starts and their estimates.
  std::vector<Row> rows = WaitForRows([&](const std::vector<Row>& r) {
    int green = 0;
    for (const Row& x : r) {
      green += x.kind == 0 && x.body.find("\"green\":{") != std::string::npos;
    }
    return green == 2;
  });
  const Row* record = nullptr;
  for (const Row& r : rows) {
    if (r.kind == 0 && r.body.find("\"green\":{") != std::string::npos) {
      record = &r;
      break;
    }
  }
  ASSERT_NE(record, nullptr) << ReadText(state_ + "/sovereignd.log");
  EXPECT_THAT(record->body, HasSubstr("\"moved\":true"));
  EXPECT_THAT(record->body, HasSubstr(absl::StrCat(
                                "\"start\":\"",
                                absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", green_hour_,
                                                 absl::UTCTimeZone()),
                                "\",\"window_seconds\":21600}")));
  EXPECT_THAT(record->body, HasSubstr("\"immediate\":{\"co2_grams\":1035.0,\"partition\":"
                                      "\"gpu-in-l40s\""));
  for (const Row& r : rows) {
    if (r.kind == 0 && r.body.find("\"green\":{") == std::string::npos) {
      EXPECT_THAT(r.body, Not(HasSubstr("green"))) << "a job without a window";
    }
  }
}

// A value the controller could not read is refused by sbatch itself, before submission.
TEST_F(GreenE2ETest, AnUnreadableWindowIsRefusedBySbatch) {
  StartDaemon();
  CommandResult r = cluster_->Run({"sbatch", "--dataset=imagenet-public", "--green-window=soon",
                                   "--wrap", "true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("--green-window: cannot read \"soon\"; give how far the job's "
                               "start may move for less CO2"));
  CommandResult comment = cluster_->Run(
      {"sbatch", "--comment=green-window:soon", "--dataset=imagenet-public", "--wrap", "true"});
  EXPECT_NE(comment.exit_code, 0);
  EXPECT_THAT(comment.err, HasSubstr("sovereign: cannot read the green window \"soon\" in "
                                     "--comment"));
}

// sovereignctl energy: the jobs that ran, by partition, with their estimated kWh (the
// placement's estimate for the time limit, scaled to the run) and CO2, read back from the same
// records here; a researcher may not read it; a grouping it does not know is refused.
TEST_F(GreenE2ETest, TheEnergyReportCountsTheJobsThatRan) {
  StartDaemon();
  const std::vector<uint32_t> ids = {
      Submit({"--dataset=imagenet-public", "--gres=gpu:1", "-t", "10", "--wrap", "sleep 2"}),
      Submit({"--dataset=imagenet-public", "-p", "gpu-fr-a100", "--gres=gpu:1", "-t", "10",
              "--wrap", "sleep 2"})};
  for (uint32_t id : ids) {
    ASSERT_TRUE(cluster_->WaitForJobState(id, {"COMPLETED"}).ok());
  }
  std::vector<Row> rows = WaitForRows([&](const std::vector<Row>& r) {
    int outcomes = 0;
    for (const Row& x : r) {
      outcomes += x.kind == 2 && (x.job_id == ids[0] || x.job_id == ids[1]);
    }
    return outcomes == 2;
  });
  // The expected figures, from the records themselves.
  std::map<std::string, double> kwh;
  for (const Row& outcome : rows) {
    if (outcome.kind != 2) {
      continue;
    }
    const nlohmann::json o = nlohmann::json::parse(outcome.body);
    absl::Time start, end;
    std::string err;
    ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, o["start_time"].get<std::string>(), &start,
                                &err));
    ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, o["end_time"].get<std::string>(), &end, &err));
    for (const Row& decision : rows) {
      if (decision.kind == 0 && decision.decision_id == outcome.decision_id) {
        const nlohmann::json d = nlohmann::json::parse(decision.body);
        for (const auto& c : d["candidates"]) {
          if (c["status"] == "chosen") {
            kwh[d["partition"].get<std::string>()] +=
                c["energy_kwh"].get<double>() * absl::ToDoubleSeconds(end - start) / 600;
          }
        }
      }
    }
  }
  ASSERT_EQ(kwh.size(), 2u);
  CommandResult r = cluster_->Run(
      {SOVEREIGNCTL_PATH, "--socket", socket(), "--json", "energy", "--by", "partition"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  SCOPED_TRACE(r.out);
  const nlohmann::json report = nlohmann::json::parse(r.out);
  ASSERT_EQ(report["rows"].size(), 2u) << r.out;
  for (const auto& row : report["rows"]) {
    const std::string partition = row["key"];
    EXPECT_EQ(row["jobs"], "1") << r.out;  // proto3 JSON: int64 as a string
    EXPECT_NEAR(row["estimated_kwh"].get<double>(), kwh[partition], 1e-9) << partition;
    EXPECT_GT(row["co2_kg"].get<double>(), 0) << partition;
  }
  EXPECT_EQ(report["total"]["jobs"], "2");
  EXPECT_FALSE(report["total"].contains("measured_jobs"));  // no power source here

  CommandResult table = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket(), "energy"});
  EXPECT_THAT(table.out, HasSubstr("PARTITION    JOBS  KWH MEASURED  KWH ESTIMATED  JOBS/KWH"));
  EXPECT_THAT(table.out, HasSubstr("\ntotal        2     -             "));

  CommandResult week =
      cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket(), "energy", "--by", "week"});
  EXPECT_NE(week.exit_code, 0);
  EXPECT_THAT(week.err, HasSubstr("cannot group by \"week\": choose partition, account, region "
                                  "or day"));
  EnsureResearchers();
  CommandResult researcher = cluster_->Run({"runuser", "-u", kAlice, "--", SOVEREIGNCTL_PATH,
                                            "--socket", socket(), "energy"});
  EXPECT_NE(researcher.exit_code, 0);
  EXPECT_THAT(researcher.err, HasSubstr("may not read the energy report"));
}

}  // namespace
}  // namespace sovereign::e2e
