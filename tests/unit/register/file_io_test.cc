#include "sovereign/file_io.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sovereign {
namespace {

namespace fs = std::filesystem;

class FileIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sovereign-file-io-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  size_t Entries() const {
    return static_cast<size_t>(
        std::distance(fs::directory_iterator(dir_), fs::directory_iterator()));
  }
  std::string dir_;
};

TEST_F(FileIoTest, WritesThenReplacesLeavingNothingBeside) {
  const std::string path = dir_ + "/file";
  ASSERT_TRUE(WriteFileAtomically(path, "first\n").ok());
  EXPECT_EQ(*ReadFileToString(path), "first\n");
  // A reader that opened the old file keeps reading it whole.
  FILE* old = fopen(path.c_str(), "r");
  ASSERT_NE(old, nullptr);
  ASSERT_TRUE(WriteFileAtomically(path, std::string(100000, 'x')).ok());
  char buf[16] = {};
  ASSERT_NE(fgets(buf, sizeof buf, old), nullptr);
  EXPECT_STREQ(buf, "first\n");
  fclose(old);
  EXPECT_EQ(*ReadFileToString(path), std::string(100000, 'x'));
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  EXPECT_EQ(*ReadFileToString(path), "");
  EXPECT_EQ(Entries(), 1u);
}

TEST_F(FileIoTest, TheModeIsTheOneAskedWhateverTheUmask) {
  const std::string path = dir_ + "/file";
  for (mode_t mask : {0000, 0022, 0777}) {
    for (mode_t mode : {0600, 0644}) {
      const mode_t old_umask = umask(mask);
      absl::Status s = WriteFileAtomically(path, "text", mode);
      umask(old_umask);
      ASSERT_TRUE(s.ok()) << s;
      struct stat st;
      ASSERT_EQ(stat(path.c_str(), &st), 0);
      EXPECT_EQ(st.st_mode & 07777, mode) << "umask " << std::oct << mask;
    }
  }
}

TEST_F(FileIoTest, ABareNameIsWrittenInTheWorkingDirectory) {
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  absl::Status s = WriteFileAtomically("bare", "here");
  fs::current_path(cwd);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(*ReadFileToString(dir_ + "/bare"), "here");
}

TEST_F(FileIoTest, ErrorsNameTheFileAndTheStep) {
  absl::Status s = WriteFileAtomically(dir_ + "/missing/file", "x");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "cannot create a temporary file for " + dir_ +
                             "/missing/file: No such file or directory");
  absl::StatusOr<std::string> r = ReadFileToString(dir_ + "/absent");
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.status().message(), "cannot read " + dir_ + "/absent: No such file or directory");
  // Replacing a directory fails at the rename and leaves no temporary file behind.
  fs::create_directory(dir_ + "/sub");
  fs::create_directory(dir_ + "/sub/inner");
  s = WriteFileAtomically(dir_ + "/sub", "x");
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()), ::testing::StartsWith("cannot replace " + dir_ + "/sub: "));
  EXPECT_EQ(Entries(), 1u);
}

}  // namespace
}  // namespace sovereign
