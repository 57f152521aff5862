// A temporary directory for one test (or one test suite): created empty under
// std::filesystem::temp_directory_path() ($TMPDIR, else /tmp) and removed with everything in
// it when the object goes away. Tests that want one per test derive their fixture from
// TempDirTest.
//
//   sovereign::testing::TempDir dir;             // /tmp/<suite>-<test>-XXXXXX
//   std::string path = dir.Write("register.yaml", yaml);
//
// Not thread-safe to destroy while another thread writes into it; Write() may be called from
// several threads for different names.
#pragma once

#include <string>
#include <string_view>

#include "gtest/gtest.h"

namespace sovereign::testing {

class TempDir {
 public:
  // `prefix` names the directory (prefix-XXXXXX); empty: the running test's suite and name.
  // A directory that cannot be made is a test failure (ADD_FAILURE); path() is then "".
  explicit TempDir(std::string_view prefix = "");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name.
  std::string Path(std::string_view name) const;
  // Writes `text` to path()/name (replacing it, bytes as given) and returns that path.
  std::string Write(std::string_view name, std::string_view text) const;

 private:
  std::string path_;
};

// A fixture whose every test has a fresh temporary directory, dir_, made before the derived
// fixture is built and removed after it is gone (so that what the test opened in it is closed
// first).
class TempDirTest : public ::testing::Test {
 protected:
  // path()/name written with `text`; see TempDir::Write.
  std::string Write(std::string_view name, std::string_view text) const {
    return temp_dir_.Write(name, text);
  }

  TempDir temp_dir_;
  const std::string dir_ = temp_dir_.path();
};

// The whole text of the file at `path`; "" when it cannot be read.
std::string ReadText(const std::string& path);

// config/register.example.yaml of the source tree, the register most tests start from.
std::string ExampleRegisterPath();
std::string ExampleRegisterYaml();

}  // namespace sovereign::testing
