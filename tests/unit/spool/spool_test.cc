#include "sovereign/spool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/child_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/temp_dir.h"

namespace sovereign::spool {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class SpoolTest : public testing::TempDirTest {
 protected:
  std::unique_ptr<SpoolWriter> Writer(bool sync = false) {
    SpoolWriterOptions o;
    o.dir = dir_;
    o.fdatasync_each = sync;
    auto w = SpoolWriter::Open(o);
    EXPECT_TRUE(w.ok()) << w.status();
    return std::move(*w);
  }

  std::vector<std::string> ReadAll(SpoolReader& r, ReadResult* last = nullptr) {
    auto res = r.ReadNew(1000);
    EXPECT_TRUE(res.ok()) << res.status();
    std::vector<std::string> out;
    for (auto& rec : res->records) {
      out.push_back(rec.payload);
    }
    if (last != nullptr) {
      *last = *res;
    }
    return out;
  }

  void AppendRaw(const std::string& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::app);
    f << bytes;
  }

};

TEST_F(SpoolTest, RecordsComeBackInOrderExactlyOnce) {
  auto w = Writer(/*sync=*/true);
  ASSERT_TRUE(w->Append("one").ok());
  ASSERT_TRUE(w->Append("").ok());
  ASSERT_TRUE(w->Append(std::string(5000, 'x')).ok());
  auto r = SpoolReader::Open(dir_);
  ASSERT_TRUE(r.ok());
  EXPECT_THAT(ReadAll(**r), ElementsAre("one", "", std::string(5000, 'x')));
  EXPECT_TRUE(ReadAll(**r).empty());
  ASSERT_TRUE(w->Append("four").ok());
  EXPECT_THAT(ReadAll(**r), ElementsAre("four"));
}

TEST_F(SpoolTest, ReadBudgetIsRespectedAndResumed) {
  auto w = Writer();
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(w->Append(std::to_string(i)).ok());
  }
  auto r = SpoolReader::Open(dir_);
  ASSERT_TRUE(r.ok());
  auto first = (*r)->ReadNew(4);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->records.size(), 4u);
  EXPECT_EQ(first->records[3].payload, "3");
  EXPECT_THAT(ReadAll(**r), ElementsAre("4", "5", "6", "7", "8", "9"));
}

TEST_F(SpoolTest, EveryWriterStartsItsOwnSegment) {
  {
    auto w = Writer();
    ASSERT_TRUE(w->Append("a").ok());
  }
  auto w2 = Writer();
  ASSERT_TRUE(w2->Append("b").ok());
  auto segs = ListSegments(dir_);
  ASSERT_TRUE(segs.ok());
  EXPECT_THAT(*segs, ElementsAre(1u, 2u));
  EXPECT_EQ(w2->current_segment(), dir_ + "/0000000000000002.spool");
}

TEST_F(SpoolTest, TornTailOfNewestSegmentWaitsThenIsDroppedOnceANewerSegmentExists) {
  std::string seg1;
  {
    auto w = Writer();
    ASSERT_TRUE(w->Append("whole").ok());
    seg1 = w->current_segment();
  }
  // A crash in the middle of write(2): the header and half the payload.
  AppendRaw(seg1, std::string("SVSP\x10\x00\x00\x00\x01\x02\x03\x04half", 16));
  auto r = SpoolReader::Open(dir_);
  ASSERT_TRUE(r.ok());
  ReadResult res;
  EXPECT_THAT(ReadAll(**r, &res), ElementsAre("whole"));
  EXPECT_EQ(res.torn_tails, 0);  // the writer might still be writing it

  auto w2 = Writer();  // slurmctld restarted
  ASSERT_TRUE(w2->Append("after-restart").ok());
  EXPECT_THAT(ReadAll(**r, &res), ElementsAre("after-restart"));
  EXPECT_EQ(res.torn_tails, 1);
  EXPECT_EQ(res.torn_bytes, 16u);
}

TEST_F(SpoolTest, DamagedRecordInTheMiddleIsSkippedAndTheRestIsRead) {
  auto w = Writer();
  ASSERT_TRUE(w->Append("first").ok());
  ASSERT_TRUE(w->Append("second").ok());
  ASSERT_TRUE(w->Append("third").ok());
  std::string path = w->current_segment();
  {
    // Flip a payload byte of "second" (frame 2 starts at 12 + 5 = 17; payload at 29).
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(29);
    f.put('S');
  }
  auto r = SpoolReader::Open(dir_);
  ASSERT_TRUE(r.ok());
  ReadResult res;
  EXPECT_THAT(ReadAll(**r, &res), ElementsAre("first", "third"));
  EXPECT_EQ(res.torn_tails, 1);
  EXPECT_EQ(res.torn_bytes, 18u);
}

TEST_F(SpoolTest, TrimDeletesOnlyFinishedSegments) {
  {
    auto w = Writer();
    ASSERT_TRUE(w->Append("a").ok());
  }
  auto w2 = Writer();
  ASSERT_TRUE(w2->Append("b").ok());
  auto r = SpoolReader::Open(dir_);
  ASSERT_TRUE(r.ok());
  auto none = (*r)->Trim();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0);  // nothing read yet
  EXPECT_THAT(ReadAll(**r), ElementsAre("a", "b"));
  auto trimmed = (*r)->Trim();
  ASSERT_TRUE(trimmed.ok());
  EXPECT_EQ(*trimmed, 1);
  EXPECT_THAT(*ListSegments(dir_), ElementsAre(2u));  // the writer's segment stays
}

TEST_F(SpoolTest, SegmentsRollOverBySize) {
  SpoolWriterOptions o;
  o.dir = dir_;
  o.segment_bytes = 100;
  auto w = SpoolWriter::Open(o);
  ASSERT_TRUE(w.ok());
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE((*w)->Append(std::string(40, 'a' + i)).ok());
  }
  EXPECT_EQ(ListSegments(dir_)->size(), 5u);
  auto r = SpoolReader::Open(dir_);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ReadAll(**r).size(), 10u);
  EXPECT_EQ(*(*r)->Trim(), 4);
}

TEST_F(SpoolTest, OversizedPayloadIsRefused) {
  auto w = Writer();
  absl::Status s = w->Append(std::string(kMaxPayloadBytes + 1, 'x'));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "spool record of 1048577 bytes exceeds the limit of 1048576 bytes");
}

TEST_F(SpoolTest, UnwritableDirectoryIsNamed) {
  SpoolWriterOptions o;
  o.dir = "/proc/sovereign-spool";
  auto w = SpoolWriter::Open(o);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(),
              HasSubstr("spool /proc/sovereign-spool: cannot create directory: "));
}

// The spool holds every user's decisions and becomes audit records: only slurmctld's user
// (sovereignd runs as it, or as root) may read it or add to it, whatever the umask.
TEST_F(SpoolTest, OnlyItsOwnerMayReadOrWriteTheSpool) {
  chmod(dir_.c_str(), 0755);  // others reach the spool folder; its mode and its files' decide
  const mode_t saved = umask(0);
  SpoolWriterOptions o;
  o.dir = dir_ + "/spool";
  auto w = SpoolWriter::Open(o);
  umask(saved);
  ASSERT_TRUE(w.ok()) << w.status();
  ASSERT_TRUE((*w)->Append("decision").ok());
  const std::string segment = (*w)->current_segment();
  struct stat st;
  ASSERT_EQ(stat(o.dir.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(stat(segment.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);

  // Even with the folder open to them, others can neither read nor write a segment...
  chmod(o.dir.c_str(), 0755);
  EXPECT_EQ(testing::OpenAs(65534, 65534, segment, O_RDONLY), "EACCES");
  EXPECT_EQ(testing::OpenAs(65534, 65534, segment, O_WRONLY | O_APPEND), "EACCES");
  // ... and with the folder as the writer made it, they cannot add one.
  chmod(o.dir.c_str(), 0700);
  const std::string forged = o.dir + "/0000000000000009.spool";
  EXPECT_EQ(testing::OpenAs(65534, 65534, forged, O_WRONLY | O_CREAT | O_EXCL), "EACCES");
}

TEST_F(SpoolTest, ReaderNeedsAnExistingDirectory) {
  auto r = SpoolReader::Open(dir_ + "/missing");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(),
            "spool " + dir_ + "/missing: cannot open directory: No such file or directory");
}

// A real full disk: a 64 KiB tmpfs in a private mount namespace (needs CAP_SYS_ADMIN).
TEST_F(SpoolTest, FullDiskRefusesTheRecordAndLeavesNoPartialFrame) {
  testing::ChildResult child = testing::RunInChild([&](const testing::Report& report) {
    if (!testing::MountSmallTmpfs(dir_, "64k")) {
      report("no mount namespace", testing::kChildCannotSetUp);
    }
    SpoolWriterOptions o;
    o.dir = dir_ + "/spool";
    auto w = SpoolWriter::Open(o);
    if (!w.ok()) {
      report(std::string(w.status().message()), 1);
    }
    int written = 0;
    absl::Status s;
    for (; written < 1000; ++written) {
      s = (*w)->Append(std::string(1000, 'r'));
      if (!s.ok()) {
        break;
      }
    }
    auto r = SpoolReader::Open(o.dir);
    auto res = (*r)->ReadNew(10000);
    bool intact = res.ok() && static_cast<int>(res->records.size()) == written &&
                  res->torn_tails == 0;
    report(std::to_string(static_cast<int>(s.code())) + "|" + std::to_string(intact) + "|" +
               std::string(s.message()),
           0);
  });
  if (child.exited && child.exit_code == testing::kChildCannotSetUp) {
    // The README's machine runs the tests as root: a full disk is always tried there.
    FAIL() << "cannot mount a small tmpfs to fill (make test runs as root): " << child.report;
  }
  ASSERT_TRUE(child.exited && child.exit_code == 0) << child.report;
  EXPECT_THAT(child.report,
              HasSubstr(std::to_string(static_cast<int>(absl::StatusCode::kResourceExhausted)) +
                        "|1|spool " + dir_ + "/spool/0000000000000001.spool: "
                        "cannot write decision record: No space left on device"));
}

}  // namespace
}  // namespace sovereign::spool
