#include "slurm_loops/snapshot_publisher.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "sovereign/file_io.h"
#include "sovereign/snapshot_file.h"
#include "support/temp_dir.h"

namespace sovereign::slurm {
namespace {

class SnapshotPublisherTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    published_.yaml = testing::ExampleRegisterYaml();
    published_.source = "register.yaml";
    auto reg = Register::Parse(published_.yaml, published_.source);
    ASSERT_TRUE(reg.ok()) << reg.status();
    published_.reg = *reg;
    options_.path = dir_ + "/snapshot";
    options_.read_cluster = [](absl::Time now) {
      ClusterSnapshot cluster;
      cluster.taken_at = now;
      return absl::StatusOr<ClusterSnapshot>(cluster);
    };
  }

  absl::Time PublishedAt() {
    auto read = snapshot::ReadSnapshotFile(options_.path);
    EXPECT_TRUE(read.ok()) << read.status();
    return read.ok() ? (*read)->published_at : absl::InfinitePast();
  }

  PublishedRegister published_;
  PublisherOptions options_;
};

// The plugin never takes a snapshot published before the one it holds, so a clock set back
// (by hand, by NTP stepping) must not stamp publications before the last one: they would all be
// refused until the clock caught up, register changes included.
TEST_F(SnapshotPublisherTest, EachPublicationIsStampedAfterTheLastEvenWhenTheClockWentBack) {
  const absl::Time ahead = absl::Now() + absl::Hours(1);
  ASSERT_TRUE(WriteFileAtomically(options_.path,
                                  snapshot::EncodeSnapshot(published_.yaml, published_.source,
                                                           *published_.reg, {}, ahead))
                  .ok());
  SnapshotPublisher publisher(options_, [this] { return published_; });
  ASSERT_TRUE(publisher.Publish().ok());
  const absl::Time first = PublishedAt();
  EXPECT_GT(first, ahead);
  ASSERT_TRUE(publisher.Publish().ok());
  EXPECT_GT(PublishedAt(), first);
}

TEST_F(SnapshotPublisherTest, AFileOfNoUseIsNoReferenceAndTheClockStamps) {
  ASSERT_TRUE(WriteFileAtomically(options_.path, "garbage").ok());
  SnapshotPublisher publisher(options_, [this] { return published_; });
  const absl::Time before = absl::Now();
  ASSERT_TRUE(publisher.Publish().ok());
  const absl::Time at = PublishedAt();
  EXPECT_GE(at, before);
  EXPECT_LE(at, absl::Now());
}

// Each site's <site>.csv is published with the register from the decision time on, read again
// when it changes; a file that cannot be used leaves the site's last good series in place (never
// a wrong figure) and says why; a file removed leaves the register's annual mean.
TEST_F(SnapshotPublisherTest, PublishesEachSitesCarbonSeriesAndKeepsTheLastGoodOne) {
  const std::string dir = dir_ + "/carbon";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  const std::string paris = dir + "/paris-1.csv";
  const absl::Time hour = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) / 3600 * 3600);
  std::string csv = "timestamp,gco2_per_kwh,kind\n";
  for (int h = -2; h <= 2; ++h) {
    absl::StrAppend(&csv, snapshot::FormatPublishedAt(hour + absl::Hours(h)), ",", 100 + h,
                    h > 0 ? ",forecast\n" : ",measured\n");
  }
  ASSERT_TRUE(WriteFileAtomically(paris, csv).ok());
  ASSERT_TRUE(WriteFileAtomically(dir + "/atlantis-1.csv", csv).ok());  // no such site: unread
  options_.carbon_series_dir = dir;
  SnapshotPublisher publisher(options_, [this] { return published_; });
  ASSERT_TRUE(publisher.Publish().ok());
  auto read = snapshot::ReadSnapshotFile(options_.path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ((*read)->cluster.carbon.size(), 1u);
  const SiteCarbon& site = (*read)->cluster.carbon[0];
  EXPECT_EQ(site.site, "paris-1");
  EXPECT_EQ(site.source, paris);
  EXPECT_EQ(site.basis, CarbonBasis::kLocation);
  // From the hour that holds now: that hour and the two forecast ones.
  ASSERT_EQ(site.series->points().size(), 3u);
  EXPECT_EQ(site.series->points()[0].at, hour);
  EXPECT_DOUBLE_EQ(site.series->points()[2].gco2_per_kwh, 102);
  EXPECT_TRUE(site.series->points()[2].forecast);
  EXPECT_EQ(publisher.stats().carbon_series, 1);

  ASSERT_TRUE(WriteFileAtomically(paris, "timestamp,gco2_per_kwh\n2026-12-05T10:00:00Z,x\n").ok());
  ASSERT_TRUE(publisher.Publish().ok());
  read = snapshot::ReadSnapshotFile(options_.path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ((*read)->cluster.carbon.size(), 1u);
  EXPECT_EQ((*read)->cluster.carbon[0].series->points().size(), 3u);
  EXPECT_EQ(publisher.stats().carbon_error,
            "carbon series " + paris + ":2: gco2_per_kwh \"x\" is not a number");

  ASSERT_EQ(unlink(paris.c_str()), 0);
  ASSERT_TRUE(publisher.Publish().ok());
  read = snapshot::ReadSnapshotFile(options_.path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE((*read)->cluster.carbon.empty());
  EXPECT_EQ(publisher.stats().carbon_series, 0);
}

// A partition's measured draw is the mean watts per GPU over its nodes' readings, weighted by
// their GPUs: (2 x 100 + 4 x 250) / 6 = 200 W, stamped with the newest reading; a partition
// none of whose nodes was read keeps none.
TEST(AddMeasuredPowerTest, MeanPerGpuOverThePartitionsNodes) {
  ClusterSnapshot snap;
  snap.partitions = {{"pa"}, {"pb"}};
  snap.nodes = {{"a1", {"pa"}, {}}, {"a2", {"pa"}, {}}, {"b1", {"pb"}, {}}};
  const absl::Time t = absl::FromUnixSeconds(1795000000);
  std::map<std::string, power::PowerReading> readings;
  readings["a1.example.org"] = {100, 2, 3, t};
  readings["a2"] = {250, 4, 3, t + absl::Seconds(5)};
  readings["other"] = {999, 8, 1, t};
  AddMeasuredPower(readings, &snap);
  ASSERT_TRUE(snap.partitions[0].gpu_power.has_value());
  EXPECT_DOUBLE_EQ(snap.partitions[0].gpu_power->watts_per_gpu, 200);
  EXPECT_EQ(snap.partitions[0].gpu_power->at, t + absl::Seconds(5));
  EXPECT_FALSE(snap.partitions[1].gpu_power.has_value());
}

// The learnt figure, by hand: gpu-fr-a100's register says 400 W per GPU; its 30 measured jobs
// drew 9 kWh over 30 GPU-hours, 300 W. With learned_energy_min_jobs 20 (the default) the figure
// is (20 x 400 + 30 x 300) / 50 = 340 W. A partition with a live reading keeps it; one with
// fewer jobs than the threshold, or a policy of 0, gets none.
TEST(AddLearnedPowerTest, BlendedWithTheRegisterOnceEnoughJobsBackIt) {
  auto reg = Register::Parse(testing::ExampleRegisterYaml(), "register.yaml");
  ASSERT_TRUE(reg.ok()) << reg.status();
  const absl::Time t = absl::FromUnixSeconds(1795000000);
  service::LearnedEnergy learned;
  for (int i = 0; i < 30; ++i) {
    learned.Add("gpu-fr-a100", 0.3, 1, t + absl::Seconds(i));
  }
  for (int i = 0; i < 19; ++i) {
    learned.Add("gpu-de-h100", 0.5, 1, t);
  }
  learned.Add("gpu-us-h100", 1, 2, t);
  ClusterSnapshot snap;
  snap.partitions = {{"gpu-fr-a100"}, {"gpu-de-h100"}, {"gpu-us-h100"}};
  snap.partitions[2].gpu_power = MeasuredPower{650, PowerFrom::kDcgm, t};
  AddLearnedPower(learned.Partitions(), **reg, &snap);
  ASSERT_TRUE(snap.partitions[0].gpu_power.has_value());
  EXPECT_DOUBLE_EQ(snap.partitions[0].gpu_power->watts_per_gpu, 340);
  EXPECT_EQ(snap.partitions[0].gpu_power->from, PowerFrom::kLearned);
  EXPECT_EQ(snap.partitions[0].gpu_power->jobs, 30);
  EXPECT_EQ(snap.partitions[0].gpu_power->at, t + absl::Seconds(29));
  EXPECT_FALSE(snap.partitions[1].gpu_power.has_value());           // 19 jobs: not yet
  EXPECT_EQ(snap.partitions[2].gpu_power->from, PowerFrom::kDcgm);  // live first
  // Through the snapshot's JSON form, as the plugin reads it.
  auto read = ClusterSnapshot::FromJson(snap.ToJson(), "c.json");
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->partitions[0].gpu_power->from, PowerFrom::kLearned);
  EXPECT_EQ(read->partitions[0].gpu_power->jobs, 30);

  auto never = Register::Parse(
      absl::StrReplaceAll(testing::ExampleRegisterYaml(),
                          {{"\npolicy:\n", "\npolicy:\n  learned_energy_min_jobs: 0\n"}}),
      "register.yaml");
  ASSERT_TRUE(never.ok()) << never.status();
  ClusterSnapshot off;
  off.partitions = {{"gpu-fr-a100"}};
  AddLearnedPower(learned.Partitions(), **never, &off);
  EXPECT_FALSE(off.partitions[0].gpu_power.has_value());
}

}  // namespace
}  // namespace sovereign::slurm
