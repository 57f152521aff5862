// Golden tests of `sovereignctl explain`. Each case is a folder tests/golden/cases/<name>/:
//   args           the explain arguments, one per line; lines starting with "#" are comments.
//                  Paths are relative to the source tree (the command runs there).
//   expected.json  what `sovereignctl explain --json <args>` prints
//   expected.txt   (optional) what `sovereignctl explain <args>` prints: the table form
// Unless the case gives --now, the decision time is fixed at kNow. The exit code must match the
// verdict: 0 for place, 1 for reject. On a mismatch the test prints a unified diff.
// SOVEREIGN_UPDATE_GOLDEN=1 writes the outputs into the expected files instead of comparing.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "support/minicluster.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/temp_dir.h"

namespace sovereign {
namespace {

using e2e::CleanEnvironment;
using e2e::CommandResult;
using e2e::ReadFile;
using e2e::RunCommand;

constexpr char kNow[] = "2026-11-22T10:00:00Z";
const absl::Duration kTimeout = absl::Seconds(30);

// Every case, and those with an expected.txt (as found when cmake last ran).
std::vector<std::string> Cases() {
  return absl::StrSplit(SOVEREIGN_GOLDEN_CASES, ',', absl::SkipEmpty());
}
std::vector<std::string> TableCases() {
  return absl::StrSplit(SOVEREIGN_GOLDEN_TABLE_CASES, ',', absl::SkipEmpty());
}

bool Updating() {
  const char* v = std::getenv("SOVEREIGN_UPDATE_GOLDEN");
  return v != nullptr && std::string(v) == "1";
}

class GoldenTest : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    // Case arguments name files relative to the source tree.
    ASSERT_EQ(chdir(SOVEREIGN_SOURCE_DIR), 0) << SOVEREIGN_SOURCE_DIR;
    scratch_dir_ = new testing::TempDir("sovereign-golden");
    scratch_ = scratch_dir_->path();
  }
  static void TearDownTestSuite() {
    delete scratch_dir_;
    scratch_dir_ = nullptr;
  }

  std::string CaseDir() const {
    return absl::StrCat(SOVEREIGN_SOURCE_DIR, "/tests/golden/cases/", GetParam());
  }

  std::vector<std::string> Args() const {
    absl::StatusOr<std::string> text = ReadFile(CaseDir() + "/args");
    EXPECT_TRUE(text.ok()) << text.status();
    std::vector<std::string> args;
    bool has_now = false;
    for (absl::string_view line : absl::StrSplit(text.value_or(""), '\n')) {
      line = absl::StripTrailingAsciiWhitespace(line);
      if (line.empty() || absl::StartsWith(line, "#")) {
        continue;
      }
      has_now = has_now || absl::StartsWith(line, "--now");
      args.emplace_back(line);
    }
    if (!has_now) {
      args.push_back(absl::StrCat("--now=", kNow));
    }
    return args;
  }

  CommandResult Explain(bool json) const {
    std::vector<std::string> argv = {SOVEREIGNCTL, "explain"};
    if (json) {
      argv.push_back("--json");
    }
    for (std::string& a : Args()) {
      argv.push_back(std::move(a));
    }
    return RunCommand(argv, CleanEnvironment({}), kTimeout, scratch_.string());
  }

  // Compares `actual` with the expected file (or rewrites it), with a unified diff on failure.
  void Compare(const std::string& actual, const std::string& file) const {
    const std::string expected_path = CaseDir() + "/" + file;
    if (Updating()) {
      std::ofstream(expected_path, std::ios::binary | std::ios::trunc) << actual;
      std::cout << "updated " << expected_path << "\n";
      return;
    }
    absl::StatusOr<std::string> expected = ReadFile(expected_path);
    ASSERT_TRUE(expected.ok()) << expected.status()
                               << " (write it with SOVEREIGN_UPDATE_GOLDEN=1, then read it)";
    if (*expected == actual) {
      return;
    }
    const std::string actual_path = (scratch_ / (GetParam() + "." + file)).string();
    std::ofstream(actual_path, std::ios::binary | std::ios::trunc) << actual;
    CommandResult diff =
        RunCommand({"diff", "-u", "--label", "tests/golden/cases/" + GetParam() + "/" + file,
                    "--label", "sovereignctl explain", expected_path, actual_path},
                   CleanEnvironment({}), kTimeout, scratch_.string());
    ADD_FAILURE() << "sovereignctl explain does not print " << file << " of case " << GetParam()
                  << ":\n"
                  << diff.out << diff.err
                  << "If the change is intended: SOVEREIGN_UPDATE_GOLDEN=1 ctest --test-dir build "
                     "-L golden, then read the diff of the expected files.";
  }

  static inline testing::TempDir* scratch_dir_ = nullptr;
  static std::filesystem::path scratch_;
};

std::filesystem::path GoldenTest::scratch_;

TEST_P(GoldenTest, JsonMatchesExpected) {
  CommandResult run = Explain(/*json=*/true);
  ASSERT_FALSE(run.timed_out) << run.Describe();
  ASSERT_TRUE(run.err.empty()) << run.Describe();
  nlohmann::json doc = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(doc.is_discarded()) << run.Describe();
  const std::string verdict = doc.value("verdict", "");
  ASSERT_TRUE(verdict == "place" || verdict == "reject") << run.Describe();
  EXPECT_EQ(run.exit_code, verdict == "place" ? 0 : 1) << run.Describe();
  Compare(run.out, "expected.json");
}

class GoldenTableTest : public GoldenTest {};

TEST_P(GoldenTableTest, TableMatchesExpected) {
  CommandResult json = Explain(/*json=*/true);
  CommandResult table = Explain(/*json=*/false);
  ASSERT_FALSE(table.timed_out) << table.Describe();
  ASSERT_TRUE(table.err.empty()) << table.Describe();
  EXPECT_EQ(table.exit_code, json.exit_code) << table.Describe();
  Compare(table.out, "expected.txt");
}

// A case folder whose `args` is missing or misspelt would silently not run.
TEST(GoldenCases, EveryCaseFolderIsRun) {
  const std::vector<std::string> cases = Cases();
  ASSERT_FALSE(cases.empty()) << "no case under tests/golden/cases";
  for (const auto& entry : std::filesystem::directory_iterator(
           std::filesystem::path(SOVEREIGN_SOURCE_DIR) / "tests/golden/cases")) {
    const std::string name = entry.path().filename().string();
    EXPECT_TRUE(std::filesystem::exists(entry.path() / "args"))
        << "case " << name << " has no args file";
    EXPECT_NE(std::find(cases.begin(), cases.end(), name), cases.end())
        << "case " << name << " is not in the test binary: re-run cmake";
    const std::vector<std::string> tables = TableCases();
    EXPECT_EQ(std::filesystem::exists(entry.path() / "expected.txt"),
              std::find(tables.begin(), tables.end(), name) != tables.end())
        << "case " << name << ": expected.txt added or removed since cmake ran: re-run cmake";
  }
}

std::string CaseName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) {
      c = '_';
    }
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenTest, ::testing::ValuesIn(Cases()), CaseName);
INSTANTIATE_TEST_SUITE_P(Cases, GoldenTableTest, ::testing::ValuesIn(TableCases()), CaseName);

}  // namespace
}  // namespace sovereign
