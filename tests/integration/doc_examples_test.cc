// The sovereignctl examples of the docs (doc_examples.h says how they are marked and checked),
// run as written. Commands run with /bin/sh in a scratch directory holding register.yaml and
// cluster.json (the example register and cluster snapshot), with sovereignctl first on PATH and
// SOVEREIGN_SOCKET pointing at a real sovereignd serving the example register, as user nobody.
// Every fenced block with a line that starts with a sovereignctl command must be checked: a doc
// cannot add an example that no test runs.
//
// The doc files are given by SOVEREIGN_DOC_FILES (comma-separated, relative to the source
// tree); add a file there to check its examples too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "support/daemon_process.h"
#include "support/doc_examples.h"

namespace sovereign::testing {
namespace {

constexpr absl::string_view kMarker = "<!-- doc-test -->";

DocExamples ParseDoc(const std::string& text) {
  return ParseDocExamples(text, kMarker, {"sovereignctl ", "$ sovereignctl "});
}

std::vector<std::string> DocFiles() {
  return absl::StrSplit(SOVEREIGN_DOC_FILES, ',', absl::SkipEmpty());
}

class DocExamplesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DocExamplesTest, EveryExampleRunsAsWritten) {
  const std::string path = absl::StrCat(SOVEREIGN_SOURCE_DIR, "/", GetParam());
  const DocExamples doc = ParseDoc(ReadFile(path));
  EXPECT_THAT(doc.unchecked, ::testing::IsEmpty())
      << GetParam() << ": these code blocks name sovereignctl but are not marked " << kMarker;
  ASSERT_FALSE(doc.examples.empty()) << GetParam() << " has no checked example";

  DaemonProcess daemon;
  ASSERT_TRUE(daemon.Start().ok()) << daemon.Log();
  const std::string work = daemon.dir() + "/doc-examples";
  std::filesystem::create_directories(work);
  WriteFile(work + "/register.yaml",
            ReadFile(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml"));
  WriteFile(work + "/cluster.json", ReadFile(SOVEREIGN_SOURCE_DIR "/config/cluster.example.json"));
  const std::string bin = std::filesystem::path(SOVEREIGNCTL_PATH).parent_path().string();
  for (const DocExample& ex : doc.examples) {
    const std::string script =
        absl::StrCat("cd '", work, "' && export PATH='", bin, "':/usr/bin:/bin SOVEREIGN_SOCKET='",
                     daemon.socket(), "' && ", ex.command);
    // As an ordinary user: sovereignd answers for the user who asks, as for a researcher.
    RunResult r = RunProgram({"/bin/sh", "-c", script}, kNobody);
    ExpectDocExamplePrinted(GetParam(), ex, r.out + r.err, r.exit_code);
  }
}

TEST(DocExampleMatching, DotsMatchAnyTextOrLines) {
  EXPECT_TRUE(DocLineMatches("decided:  2026-11-22T10:00:00Z", "decided:  ..."));
  EXPECT_TRUE(DocLineMatches("a b c", "a ... c"));
  EXPECT_FALSE(DocLineMatches("a b d", "a ... c"));
  EXPECT_TRUE(DocLinesMatch({"x", "y", "z"}, 0, {"x", "...", "z"}, 0));
  EXPECT_FALSE(DocLinesMatch({"x", "y"}, 0, {"x"}, 0));
  const DocExamples doc = ParseDoc(
      "<!-- doc-test -->\n```console\n$ sovereignctl a \\\n    --b\nout\n```\n"
      "```sh\nsovereignctl c\n```\n");
  ASSERT_EQ(doc.examples.size(), 1u);
  EXPECT_EQ(doc.examples[0].command, "sovereignctl a  --b");
  EXPECT_EQ(doc.examples[0].expected, std::vector<std::string>{"out"});
  EXPECT_EQ(doc.unchecked, std::vector<int>{7});
}

// The sbatch examples (doc_sbatch_e2e_test) have their own marker: this test neither runs them
// nor asks for them to be marked as its own.
TEST(DocExampleMatching, EachTestTakesTheBlocksOfItsMarker) {
  const std::string text =
      "<!-- doc-test: cluster -->\n```console\n$ sbatch x\nout\n```\n```console\n$ sbatch y\n```\n";
  const DocExamples ctl = ParseDoc(text);
  EXPECT_TRUE(ctl.examples.empty());
  EXPECT_TRUE(ctl.unchecked.empty());
  const DocExamples cluster = ParseDocExamples(text, "<!-- doc-test: cluster -->", {"$ sbatch "});
  ASSERT_EQ(cluster.examples.size(), 1u);
  EXPECT_EQ(cluster.examples[0].command, "sbatch x");
  EXPECT_EQ(cluster.examples[0].expected, std::vector<std::string>{"out"});
  EXPECT_EQ(cluster.unchecked, std::vector<int>{6});
}

INSTANTIATE_TEST_SUITE_P(Docs, DocExamplesTest, ::testing::ValuesIn(DocFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace sovereign::testing
