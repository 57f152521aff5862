#include "sovereign/file_modes.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "support/child_process.h"
#include "support/temp_dir.h"

namespace sovereign {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::OpenAs;

constexpr uid_t kNobody = 65534;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

// Each test sets the umask it runs under; the process's umask is restored afterwards.
class FileModesTest : public testing::TempDirTest {
 protected:
  // Others reach what is in dir_: its files' and folders' own modes decide what they may do.
  FileModesTest() { chmod(dir_.c_str(), 0755); }
  ~FileModesTest() override { umask(saved_umask_); }
  void SetUmask(mode_t mask) { umask(mask); }

  const mode_t saved_umask_ = umask(022);
};

TEST_F(FileModesTest, NewFilesAndFoldersHaveExactlyTheirModeWhateverTheUmask) {
  for (mode_t mask : {0000, 0077, 0777}) {
    SetUmask(mask);
    const std::string name = dir_ + "/" + ModeText(mask);
    const int fd = CreateFileWithMode(name + ".file", O_WRONLY, kPublicFileMode);
    ASSERT_GE(fd, 0) << ModeText(mask);
    close(fd);
    EXPECT_EQ(ModeOf(name + ".file"), 0644u) << "umask " << ModeText(mask);
    ASSERT_EQ(CreateFolderWithMode(name + ".dir", kPrivateFolderMode), 0);
    EXPECT_EQ(ModeOf(name + ".dir"), 0700u) << "umask " << ModeText(mask);
    ModeNotes notes;
    ASSERT_TRUE(PrepareFolder(name + ".tree/a/b", kFolderMode, &notes).ok());
    for (const char* folder : {".tree", ".tree/a", ".tree/a/b"}) {
      EXPECT_EQ(ModeOf(name + folder), 0755u) << folder << ", umask " << ModeText(mask);
    }
    EXPECT_THAT(notes, IsEmpty());
  }
  // An existing file is not replaced.
  EXPECT_EQ(CreateFileWithMode(dir_ + "/0000.file", O_WRONLY, kPublicFileMode), -1);
  EXPECT_EQ(errno, EEXIST);
}

TEST_F(FileModesTest, ADatabaseIsCreatedPrivateAndAnOlderLooserOneTightened) {
  SetUmask(0);
  const std::string db = dir_ + "/audit.db";
  ModeNotes notes;
  PrepareDatabaseFiles(db, kPrivateFileMode, "audit log", &notes);
  EXPECT_EQ(ModeOf(db), 0600u);
  EXPECT_THAT(notes, IsEmpty());

  for (const char* suffix : {"", "-wal", "-shm"}) {
    close(open((db + suffix).c_str(), O_WRONLY | O_CREAT, 0644));
    chmod((db + suffix).c_str(), 0644);
  }
  PrepareDatabaseFiles(db, kPrivateFileMode, "audit log", &notes);
  EXPECT_THAT(notes, ElementsAre("audit log " + db + " had mode 0644: tightened to 0600",
                                 "audit log " + db + "-wal had mode 0644: tightened to 0600",
                                 "audit log " + db + "-shm had mode 0644: tightened to 0600"));
  for (const char* suffix : {"", "-wal", "-shm"}) {
    EXPECT_EQ(ModeOf(db + suffix), 0600u) << suffix;
  }
  EXPECT_EQ(OpenAs(kNobody, kNobody, db + "-wal", O_RDONLY), "EACCES");
  // Fewer permissions than asked are left as they are; nothing is said.
  chmod(db.c_str(), 0400);
  notes.clear();
  PrepareDatabaseFiles(db, kPrivateFileMode, "audit log", &notes);
  EXPECT_EQ(ModeOf(db), 0400u);
  EXPECT_THAT(notes, IsEmpty());
}

TEST_F(FileModesTest, AFileThatCannotBeTightenedIsNoted) {
  // Root owns the file; the child that looks at it is nobody, who may not chmod it.
  const std::string key = Write("key.pem", "x");
  chmod(key.c_str(), 0644);
  const testing::ChildResult child = testing::RunInChild([&](const testing::Report& report) {
    if (setgid(kNobody) != 0 || setuid(kNobody) != 0) {
      report("cannot become nobody", testing::kChildCannotSetUp);
    }
    ModeNotes notes;
    RestrictFileMode(key, kPrivateFileMode, "audit signing key", &notes);
    report(notes.empty() ? "" : notes[0], 0);
  });
  EXPECT_EQ(child.report, "audit signing key " + key +
                              " has mode 0644 and cannot be tightened to 0600: Operation not "
                              "permitted");
  EXPECT_EQ(ModeOf(key), 0644u);
}

TEST_F(FileModesTest, AFolderOthersMayWriteIsTightenedUnlessStickyOrNotOurs) {
  const std::string open_folder = dir_ + "/open";
  ASSERT_EQ(mkdir(open_folder.c_str(), 0700), 0);
  chmod(open_folder.c_str(), 0777);
  ModeNotes notes;
  ASSERT_TRUE(PrepareFolder(open_folder, kFolderMode, &notes).ok());
  EXPECT_EQ(ModeOf(open_folder), 0755u);
  EXPECT_THAT(notes, ElementsAre("folder " + open_folder + " had mode 0777: tightened to 0755"));
  EXPECT_EQ(OpenAs(kNobody, kNobody, open_folder + "/intruder", O_WRONLY | O_CREAT | O_EXCL),
            "EACCES");

  // Like /tmp: nobody may replace another user's file in it.
  const std::string sticky = dir_ + "/sticky";
  ASSERT_EQ(mkdir(sticky.c_str(), 0700), 0);
  chmod(sticky.c_str(), 01777);
  notes.clear();
  ASSERT_TRUE(PrepareFolder(sticky, kFolderMode, &notes).ok());
  EXPECT_EQ(ModeOf(sticky), 01777u);
  EXPECT_THAT(notes, IsEmpty());

  // Another user's folder is not changed, but the log says what is wrong.
  const std::string theirs = dir_ + "/theirs";
  ASSERT_EQ(mkdir(theirs.c_str(), 0700), 0);
  chmod(theirs.c_str(), 0775);
  ASSERT_EQ(chown(theirs.c_str(), kNobody, kNobody), 0);
  ASSERT_TRUE(PrepareFolder(theirs, kFolderMode, &notes).ok());
  EXPECT_EQ(ModeOf(theirs), 0775u);
  EXPECT_THAT(notes, ElementsAre("folder " + theirs +
                                 " has mode 0775 and owner uid 65534: other "
                                 "users may replace the files sovereign keeps in it; make it "
                                 "0755"));
}

TEST_F(FileModesTest, AFolderThatCannotBeCreatedIsNamed) {
  const std::string file = Write("file", "");
  ModeNotes notes;
  absl::Status s = PrepareFolder(file + "/sub/dir", kFolderMode, &notes);
  EXPECT_EQ(s.message(), "cannot create directory " + file + "/sub: Not a directory");
  s = PrepareFolder(file, kFolderMode, &notes);
  EXPECT_EQ(s.message(), "cannot create directory " + file + ": Not a directory");
}

}  // namespace
}  // namespace sovereign
