// scripts/deps.sh against the real dpkg database, with apt-get and sudo replaced by scripts
// that only record how they were called: nothing is installed.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "support/minicluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/temp_dir.h"

namespace sovereign {
namespace {

using e2e::CleanEnvironment;
using e2e::CommandResult;
using e2e::ReadFile;
using e2e::RunCommand;

const std::string kScript = std::string(SOVEREIGN_SOURCE_DIR) + "/scripts/deps.sh";

class DepsScriptTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir_.path();
    std::filesystem::create_directories(dir_ / "bin");
    log_ = (dir_ / "calls.log").string();
    // Each fake appends one line per call: its name, DEBIAN_FRONTEND and its arguments.
    for (const char* name : {"apt-get", "sudo"}) {
      const std::string path = (dir_ / "bin" / name).string();
      std::ofstream(path) << "#!/bin/sh\n"
                          << "echo \"" << name << " [${DEBIAN_FRONTEND:-}] $*\" >> " << log_ << "\n"
                          << (std::string(name) == "sudo" ? "exec \"$@\"\n" : "exit 0\n");
      chmod(path.c_str(), 0755);
    }
  }

  CommandResult Deps(const std::string& packages, std::vector<std::string> args = {}) {
    const std::string list = (dir_ / "packages.txt").string();
    std::ofstream(list) << packages;
    args.insert(args.begin(), kScript);
    const char* path = std::getenv("PATH");
    return RunCommand(args,
                      CleanEnvironment({absl::StrCat("PATH=", (dir_ / "bin").string(), ":",
                                                     path != nullptr ? path : "/usr/bin:/bin"),
                                        "SOVEREIGN_DEBIAN_PACKAGES=" + list,
                                        // The script must set it for apt-get install itself.
                                        "DEBIAN_FRONTEND="}),
                      absl::Seconds(60), dir_.string());
  }

  std::string Calls() const { return ReadFile(log_).value_or(""); }

  testing::TempDir temp_dir_;
  std::filesystem::path dir_;
  std::string log_;
};

// dpkg itself is installed on every Debian system; this name never is.
constexpr char kMissing[] = "sovereign-no-such-package";

TEST_F(DepsScriptTest, EverythingInstalledCallsNoApt) {
  CommandResult r = Deps("# a comment\ndpkg   # the package manager\n\ncoreutils\n");
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "deps: all 2 Debian packages are installed\n");
  EXPECT_EQ(Calls(), "");
}

TEST_F(DepsScriptTest, InstallsOnlyTheMissingPackages) {
  CommandResult r = Deps(absl::StrCat("dpkg\n", kMissing, "\ncoreutils\n"));
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  const std::string sudo = geteuid() == 0 ? "" : "sudo [] apt-get update\n";
  const std::string sudo_install =
      geteuid() == 0 ? ""
                     : absl::StrCat(
                           "sudo [] env DEBIAN_FRONTEND=noninteractive apt-get install -y "
                           "--no-install-recommends ",
                           kMissing, "\n");
  EXPECT_EQ(Calls(), absl::StrCat(sudo, "apt-get [] update\n", sudo_install,
                                  "apt-get [noninteractive] install -y --no-install-recommends ",
                                  kMissing, "\n"));
  EXPECT_EQ(r.out, absl::StrCat("deps: missing 1 of 3 packages: ", kMissing, "\ndeps: installed ",
                                kMissing, "\n"));
}

TEST_F(DepsScriptTest, CheckOnlyListsWhatIsMissing) {
  CommandResult r = Deps(absl::StrCat("dpkg\n", kMissing, "\n"), {"--check"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_EQ(r.out, absl::StrCat("deps: missing 1 of 2 packages: ", kMissing, "\n"));
  EXPECT_EQ(Calls(), "");
}

TEST_F(DepsScriptTest, RefusesUnknownArguments) {
  CommandResult r = Deps("dpkg\n", {"--force"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_EQ(r.err,
            "deps: error: unknown argument \"--force\" (usage: scripts/deps.sh [--check])\n");
}

TEST_F(DepsScriptTest, ProjectListIsReadable) {
  // The real list parses: one name per line, nothing left of comments and blanks.
  std::ifstream in(std::string(SOVEREIGN_SOURCE_DIR) + "/scripts/debian-packages.txt");
  ASSERT_TRUE(in.good());
  int names = 0;
  for (std::string line; std::getline(in, line);) {
    line = line.substr(0, line.find('#'));
    line.erase(line.find_last_not_of(" \t") + 1);
    line.erase(0, line.find_first_not_of(" \t"));
    if (line.empty()) {
      continue;
    }
    EXPECT_THAT(line, ::testing::MatchesRegex("[a-z0-9][a-z0-9.+-]+")) << line;
    ++names;
  }
  EXPECT_GE(names, 27);
}

}  // namespace
}  // namespace sovereign
