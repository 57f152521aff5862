// Green start windows with a real Slurm cluster and sovereignd publishing carbon series: a job
// that lets its start move (the SPANK option, or the comment channel) gets the begin time and
// partition with the least expected CO2 within its window, is told so by sbatch, and the audit
// record keeps both starts; the same job without a window starts at once where it always did.
//
// The series are synthetic (written by the test around the current hour): Paris at 300 gCO2/kWh
// with one hour at 10, two to three hours from now; Mumbai at 600 throughout.
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
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

}  // namespace
}  // namespace sovereign::e2e
