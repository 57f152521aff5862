#include "sovereign/snapshot_file.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sovereign/file_io.h"
#include "support/temp_dir.h"

namespace sovereign::snapshot {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

class SnapshotFileTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    yaml_ = testing::ExampleRegisterYaml();
    auto reg = Register::Parse(yaml_, "register.yaml");
    ASSERT_TRUE(reg.ok()) << reg.status();
    reg_ = *reg;
    cluster_.taken_at = absl::FromUnixSeconds(1795000000);
    cluster_.partitions = {{"gpu-fr-a100", PartitionState::kUp, 2, 16, 5, 900.0, {}, {}}};
  }

  std::string Encode(absl::Time published_at = absl::FromUnixSeconds(1795000001)) {
    return EncodeSnapshot(yaml_, "register.yaml", *reg_, cluster_, published_at);
  }

  std::string yaml_;
  std::shared_ptr<const Register> reg_;
  ClusterSnapshot cluster_;
};

TEST_F(SnapshotFileTest, RoundTrips) {
  std::string path = dir_ + "/snapshot";
  ASSERT_TRUE(WriteFileAtomically(path, Encode()).ok());
  auto loaded = ReadSnapshotFile(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ((*loaded)->reg->version(), reg_->version());
  EXPECT_EQ((*loaded)->published_at, absl::FromUnixSeconds(1795000001));
  EXPECT_EQ((*loaded)->cluster.taken_at, cluster_.taken_at);
  int fr = reg_->PartitionIndex("gpu-fr-a100");
  EXPECT_TRUE((*loaded)->view.present(fr));
  EXPECT_EQ((*loaded)->view.status(fr).gpus_free, 5);
  EXPECT_FALSE((*loaded)->view.present(reg_->PartitionIndex("gpu-us-h100")));
  EXPECT_TRUE((*loaded)->static_view.present(reg_->PartitionIndex("gpu-us-h100")));
  // Nothing but the snapshot is left beside it.
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_), fs::directory_iterator()), 1);
}

TEST_F(SnapshotFileTest, AnOldClusterViewFallsBackToStaticFigures) {
  auto loaded = DecodeSnapshot(Encode(), "snapshot");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const LoadedSnapshot& snap = **loaded;
  ChosenView fresh = ChooseView(snap, cluster_.taken_at + absl::Minutes(5), absl::Minutes(5));
  EXPECT_FALSE(fresh.stale);
  EXPECT_EQ(fresh.view, &snap.view);
  ChosenView old =
      ChooseView(snap, cluster_.taken_at + absl::Minutes(5) + absl::Seconds(1), absl::Minutes(5));
  EXPECT_TRUE(old.stale);
  EXPECT_EQ(old.view, &snap.static_view);
  Decision placed;
  placed.verdict = Verdict::kPlace;
  placed.reason = "placed on gpu-fr-a100 (region eu)";
  NoteStaleView(absl::Minutes(5), &placed);
  EXPECT_EQ(placed.reason,
            "placed on gpu-fr-a100 (region eu) (cluster view older than 5m: scored from the "
            "register's static figures)");
  Decision refused;
  refused.verdict = Verdict::kReject;
  refused.reason = "dataset unknown";
  NoteStaleView(absl::Minutes(5), &refused);
  EXPECT_EQ(refused.reason, "dataset unknown");  // residency does not depend on the view
}

TEST_F(SnapshotFileTest, DamageIsDetected) {
  std::string bytes = Encode();
  std::string flipped = bytes;
  flipped[flipped.size() / 2] ^= 1;
  EXPECT_EQ(DecodeSnapshot(flipped, "s").status().message(),
            "snapshot s: checksum mismatch (file damaged or partially written)");
  std::string cut = bytes.substr(0, bytes.size() - 10);
  EXPECT_THAT(DecodeSnapshot(cut, "s").status().message(),
              HasSubstr("(file truncated or partially written)"));
  EXPECT_EQ(DecodeSnapshot("garbage", "s").status().message(),
            "snapshot s: no header line (not a sovereign snapshot)");
  EXPECT_EQ(DecodeSnapshot("garbage\n{}", "s").status().message(),
            "snapshot s: bad header line (not a sovereign snapshot)");
  EXPECT_EQ(DecodeSnapshot("SOVEREIGN-SNAPSHOT 9 2 x\n{}", "s").status().message(),
            "snapshot s: format 9 is not supported (this build reads format 1)");
  EXPECT_EQ(ReadSnapshotFile(dir_ + "/none").status().message(),
            "snapshot " + dir_ + "/none: cannot open: No such file or directory");
}

TEST_F(SnapshotFileTest, WatcherKeepsTheLastGoodSnapshot) {
  std::string path = dir_ + "/snapshot";
  WatcherOptions o;
  o.path = path;
  o.poll_interval = std::chrono::hours(1);  // checked by hand below
  SnapshotWatcher watcher(o);
  EXPECT_EQ(watcher.Current(), nullptr);
  EXPECT_EQ(watcher.last_error().code(), absl::StatusCode::kNotFound);

  ASSERT_TRUE(WriteFileAtomically(path, Encode()).ok());
  watcher.CheckNow();
  auto good = watcher.Current();
  ASSERT_NE(good, nullptr);
  EXPECT_TRUE(watcher.last_error().ok());

  ASSERT_TRUE(WriteFileAtomically(path, "not a snapshot at all\n").ok());
  watcher.CheckNow();
  EXPECT_EQ(watcher.Current(), good);
  EXPECT_EQ(watcher.last_error().message(),
            "snapshot " + path + ": bad header line (not a sovereign snapshot)");

  cluster_.partitions[0].gpus_free = 1;
  ASSERT_TRUE(WriteFileAtomically(path, Encode()).ok());
  watcher.CheckNow();
  ASSERT_NE(watcher.Current(), good);
  EXPECT_EQ(watcher.Current()->cluster.partitions[0].gpus_free, 1);
}

// A snapshot published before the one in use is a copy put back (a backup restored, a second
// sovereignd that lags): its register may allow what the newer one forbids. It is never taken;
// the same publication again, or a newer one, is.
TEST_F(SnapshotFileTest, WatcherNeverGoesBackToAnOlderSnapshot) {
  const std::string path = dir_ + "/snapshot";
  const absl::Time t1 = absl::FromUnixSeconds(1795000001) + absl::Milliseconds(250);
  const std::string older = Encode(t1 - absl::Microseconds(1));
  ASSERT_TRUE(WriteFileAtomically(path, Encode(t1)).ok());
  WatcherOptions o;
  o.path = path;
  o.poll_interval = std::chrono::hours(1);  // checked by hand below
  SnapshotWatcher watcher(o);
  auto in_use = watcher.Current();
  ASSERT_NE(in_use, nullptr);

  ASSERT_TRUE(WriteFileAtomically(path, older).ok());
  watcher.CheckNow();
  EXPECT_EQ(watcher.Current(), in_use);
  EXPECT_EQ(std::string(watcher.last_error().message()),
            "snapshot " + path +
                ": published 2026-11-18T11:06:41.249999+00:00, before the snapshot "
                "in use: an older snapshot is never taken");

  cluster_.partitions[0].gpus_free = 1;  // the same publication time, another file
  ASSERT_TRUE(WriteFileAtomically(path, Encode(t1)).ok());
  watcher.CheckNow();
  EXPECT_TRUE(watcher.last_error().ok()) << watcher.last_error();
  ASSERT_NE(watcher.Current(), in_use);
  EXPECT_EQ(watcher.Current()->cluster.partitions[0].gpus_free, 1);

  ASSERT_TRUE(unlink(path.c_str()) == 0);  // deleted: the last good one stays
  watcher.CheckNow();
  EXPECT_EQ(watcher.Current()->cluster.partitions[0].gpus_free, 1);
  EXPECT_EQ(watcher.last_error().code(), absl::StatusCode::kNotFound) << watcher.last_error();
}

// on_change is the one moment a reader learns that the watcher changed its mind: once per
// changed file, with the snapshot in use afterwards, and never for the constructor's look.
TEST_F(SnapshotFileTest, WatcherReportsEachChangedFileOnce) {
  std::string path = dir_ + "/snapshot";
  ASSERT_TRUE(WriteFileAtomically(path, Encode()).ok());
  struct Change {
    absl::Status not_taken;
    std::shared_ptr<const LoadedSnapshot> current;
  };
  std::vector<Change> changes;
  WatcherOptions o;
  o.path = path;
  o.poll_interval = std::chrono::hours(1);  // checked by hand below
  o.on_change = [&](const absl::Status& not_taken,
                    const std::shared_ptr<const LoadedSnapshot>& current) {
    changes.push_back({not_taken, current});
  };
  SnapshotWatcher watcher(o);
  ASSERT_NE(watcher.Current(), nullptr);
  EXPECT_TRUE(changes.empty());
  watcher.CheckNow();  // the same file
  EXPECT_TRUE(changes.empty());

  ASSERT_TRUE(WriteFileAtomically(path, "not a snapshot at all\n").ok());
  watcher.CheckNow();
  watcher.CheckNow();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].not_taken.message(),
            "snapshot " + path + ": bad header line (not a sovereign snapshot)");
  EXPECT_EQ(changes[0].current, watcher.Current());
  ASSERT_NE(changes[0].current, nullptr);

  cluster_.partitions[0].gpus_free = 1;
  ASSERT_TRUE(WriteFileAtomically(path, Encode()).ok());
  watcher.CheckNow();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_TRUE(changes[1].not_taken.ok());
  EXPECT_EQ(changes[1].current, watcher.Current());
  EXPECT_EQ(changes[1].current->cluster.partitions[0].gpus_free, 1);
}

}  // namespace
}  // namespace sovereign::snapshot
