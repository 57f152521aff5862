// The example commands of the docs, run as written, so that the docs cannot rot. A fenced block
// right after the line `<!-- doc-test -->` is checked:
//   $ sovereignctl datasets --register register.yaml --user alice --group oncology
//   user:     alice (groups oncology)
//   ...
// Each line starting with "$ " is a command (a trailing "\" continues it on the next line); the
// lines up to the next command are what it prints (stdout, then stderr). In an expected line,
// "..." matches any text; a line that is only "..." matches any number of lines.
// Commands run with /bin/sh in a scratch directory holding register.yaml and cluster.json (the
// example register and cluster snapshot), with sovereignctl first on PATH and SOVEREIGN_SOCKET
// pointing at a real sovereignd serving the example register, as user nobody. Every fenced
// block with a line that starts with a sovereignctl command must be checked: a doc cannot add
// an example that no test runs.
//
// The doc files are given by SOVEREIGN_DOC_FILES (comma-separated, relative to the source
// tree); add a file there to check its examples too.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "integration/daemon_process.h"

namespace sovereign::testing {
namespace {

constexpr absl::string_view kMarker = "<!-- doc-test -->";

struct Example {
  int line = 0;  // of the command in the doc
  std::string command;
  std::vector<std::string> expected;
};

struct Doc {
  std::vector<Example> examples;
  std::vector<int> unchecked;  // lines of fenced blocks naming sovereignctl without the marker
};

Doc ParseDoc(const std::string& text) {
  Doc doc;
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!absl::StartsWith(lines[i], "```")) {
      continue;
    }
    const bool checked = i > 0 && absl::StripAsciiWhitespace(lines[i - 1]) == kMarker;
    size_t end = i + 1;
    while (end < lines.size() && !absl::StartsWith(lines[end], "```")) {
      ++end;
    }
    bool names_ctl = false;
    Example* current = nullptr;
    for (size_t k = i + 1; k < end; ++k) {
      names_ctl = names_ctl || absl::StartsWith(lines[k], "sovereignctl ") ||
                  absl::StartsWith(lines[k], "$ sovereignctl ");
      if (!checked) {
        continue;
      }
      if (absl::StartsWith(lines[k], "$ ")) {
        doc.examples.push_back({static_cast<int>(k + 1), lines[k].substr(2), {}});
        current = &doc.examples.back();
        while (absl::EndsWith(current->command, "\\") && k + 1 < end) {
          current->command.pop_back();
          current->command += " " + std::string(absl::StripAsciiWhitespace(lines[++k]));
        }
      } else if (current != nullptr) {
        current->expected.push_back(lines[k]);
      }
    }
    if (names_ctl && !checked) {
      doc.unchecked.push_back(static_cast<int>(i + 1));
    }
    i = end;
  }
  return doc;
}

// `line` against `pattern`, where "..." matches any text.
bool LineMatches(absl::string_view line, absl::string_view pattern) {
  std::vector<absl::string_view> parts = absl::StrSplit(pattern, "...");
  if (parts.size() == 1) {
    return line == pattern;
  }
  if (!absl::ConsumePrefix(&line, parts.front())) {
    return false;
  }
  for (size_t i = 1; i + 1 < parts.size(); ++i) {
    size_t at = line.find(parts[i]);
    if (at == absl::string_view::npos) {
      return false;
    }
    line.remove_prefix(at + parts[i].size());
  }
  return absl::EndsWith(line, parts.back()) && line.size() >= parts.back().size();
}

bool Matches(const std::vector<std::string>& actual, size_t a,
             const std::vector<std::string>& expected, size_t e) {
  if (e == expected.size()) {
    return a == actual.size();
  }
  if (expected[e] == "...") {
    for (size_t skip = a; skip <= actual.size(); ++skip) {
      if (Matches(actual, skip, expected, e + 1)) {
        return true;
      }
    }
    return false;
  }
  return a < actual.size() && LineMatches(actual[a], expected[e]) &&
         Matches(actual, a + 1, expected, e + 1);
}

std::vector<std::string> DocFiles() {
  return absl::StrSplit(SOVEREIGN_DOC_FILES, ',', absl::SkipEmpty());
}

class DocExamplesTest : public ::testing::TestWithParam<std::string> {};

TEST_P(DocExamplesTest, EveryExampleRunsAsWritten) {
  const std::string path = absl::StrCat(SOVEREIGN_SOURCE_DIR, "/", GetParam());
  const Doc doc = ParseDoc(ReadFile(path));
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
  for (const Example& ex : doc.examples) {
    const std::string script =
        absl::StrCat("cd '", work, "' && export PATH='", bin, "':/usr/bin:/bin SOVEREIGN_SOCKET='",
                     daemon.socket(), "' && ", ex.command);
    // As an ordinary user: sovereignd answers for the user who asks, as for a researcher.
    RunResult r = RunProgram({"/bin/sh", "-c", script}, kNobody);
    std::vector<std::string> actual = absl::StrSplit(r.out + r.err, '\n');
    if (!actual.empty() && actual.back().empty()) {
      actual.pop_back();
    }
    std::vector<std::string> expected = ex.expected;
    while (!expected.empty() && expected.back().empty()) {
      expected.pop_back();
    }
    // 0 yes, 1 no, 2 a refused option (an example may show one); not a crash nor no daemon.
    EXPECT_TRUE(r.exit_code >= 0 && r.exit_code <= 2)
        << GetParam() << ":" << ex.line << ": " << ex.command << " exited " << r.exit_code
        << ":\n" << r.out << r.err;
    EXPECT_TRUE(Matches(actual, 0, expected, 0))
        << GetParam() << ":" << ex.line << ": `" << ex.command
        << "` does not print what the doc says.\n--- the doc:\n" << absl::StrJoin(expected, "\n")
        << "\n--- the command:\n" << absl::StrJoin(actual, "\n");
  }
}

TEST(DocExampleMatching, DotsMatchAnyTextOrLines) {
  EXPECT_TRUE(LineMatches("decided:  2026-11-22T10:00:00Z", "decided:  ..."));
  EXPECT_TRUE(LineMatches("a b c", "a ... c"));
  EXPECT_FALSE(LineMatches("a b d", "a ... c"));
  EXPECT_TRUE(Matches({"x", "y", "z"}, 0, {"x", "...", "z"}, 0));
  EXPECT_FALSE(Matches({"x", "y"}, 0, {"x"}, 0));
  const Doc doc = ParseDoc("<!-- doc-test -->\n```console\n$ sovereignctl a \\\n    --b\nout\n```\n"
                           "```sh\nsovereignctl c\n```\n");
  ASSERT_EQ(doc.examples.size(), 1u);
  EXPECT_EQ(doc.examples[0].command, "sovereignctl a  --b");
  EXPECT_EQ(doc.examples[0].expected, std::vector<std::string>{"out"});
  EXPECT_EQ(doc.unchecked, std::vector<int>{7});
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
