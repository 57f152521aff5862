#include "slurm_loops/snapshot_publisher.h"

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

}  // namespace
}  // namespace sovereign::slurm
