#include "support/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace sovereign::testing {

TempDir::TempDir(std::string_view prefix) {
  std::string name(prefix);
  if (name.empty()) {
    const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
    name = test != nullptr ? std::string(test->test_suite_name()) + "-" + test->name()
                           : std::string("sovereign-test");
    for (char& c : name) {
      if (c == '/') {
        c = '_';  // parameterised tests: Suite/Name/0
      }
    }
  }
  std::error_code ec;
  std::filesystem::path base = std::filesystem::temp_directory_path(ec);
  if (ec) {
    base = "/tmp";
  }
  std::string templ = (base / (name + "-XXXXXX")).string();
  if (mkdtemp(templ.data()) == nullptr) {
    ADD_FAILURE() << "mkdtemp " << templ << ": " << std::strerror(errno);
    return;
  }
  path_ = templ;
}

TempDir::~TempDir() {
  if (!path_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
}

std::string TempDir::Path(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

std::string TempDir::Write(std::string_view name, std::string_view text) const {
  std::string path = Path(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  EXPECT_TRUE(out.good()) << "cannot write " << path;
  return path;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string ExampleRegisterPath() {
  return std::string(SOVEREIGN_SOURCE_DIR) + "/config/register.example.yaml";
}

std::string ExampleRegisterYaml() { return ReadText(ExampleRegisterPath()); }

}  // namespace sovereign::testing
