// Example commands of the docs, read from the Markdown and checked against what they print, so
// that the docs cannot rot. A fenced block right after a marker line (such as
// `<!-- doc-test -->`) is checked:
//   $ sovereignctl datasets --register register.yaml --user alice --group oncology
//   user:     alice (groups oncology)
//   ...
// Each line starting with "$ " is a command (a trailing "\" continues it on the next line); the
// lines up to the next command are what it prints (stdout, then stderr). In an expected line,
// "..." matches any text; a line that is only "..." matches any number of lines.
//
// Which commands run where is the tests' business: doc_examples_test runs the sovereignctl
// examples (marker `<!-- doc-test -->`) against a real sovereignd, doc_sbatch_e2e_test the
// sbatch examples (marker `<!-- doc-test: cluster -->`) against the mini cluster.
#pragma once

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"

namespace sovereign::testing {

struct DocExample {
  int line = 0;  // of the command in the doc
  std::string command;
  std::vector<std::string> expected;
};

struct DocExamples {
  std::vector<DocExample> examples;
  // Lines of fenced blocks with a line starting with one of `must_check` but not marked.
  std::vector<int> unchecked;
};

// The examples of the blocks marked `marker` in `text`.
inline DocExamples ParseDocExamples(const std::string& text, absl::string_view marker,
                                    const std::vector<std::string>& must_check) {
  DocExamples doc;
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!absl::StartsWith(lines[i], "```")) {
      continue;
    }
    const bool checked = i > 0 && absl::StripAsciiWhitespace(lines[i - 1]) == marker;
    size_t end = i + 1;
    while (end < lines.size() && !absl::StartsWith(lines[end], "```")) {
      ++end;
    }
    bool must = false;
    DocExample* current = nullptr;
    for (size_t k = i + 1; k < end; ++k) {
      for (const std::string& prefix : must_check) {
        must = must || absl::StartsWith(lines[k], prefix);
      }
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
    if (must && !checked) {
      doc.unchecked.push_back(static_cast<int>(i + 1));
    }
    i = end;
  }
  return doc;
}

// `line` against `pattern`, where "..." matches any text.
inline bool DocLineMatches(absl::string_view line, absl::string_view pattern) {
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

// `actual` from line `a` on against `expected` from line `e` on.
inline bool DocLinesMatch(const std::vector<std::string>& actual, size_t a,
                          const std::vector<std::string>& expected, size_t e) {
  if (e == expected.size()) {
    return a == actual.size();
  }
  if (expected[e] == "...") {
    for (size_t skip = a; skip <= actual.size(); ++skip) {
      if (DocLinesMatch(actual, skip, expected, e + 1)) {
        return true;
      }
    }
    return false;
  }
  return a < actual.size() && DocLineMatches(actual[a], expected[e]) &&
         DocLinesMatch(actual, a + 1, expected, e + 1);
}

// Expects that `ex` of `doc` printed what the doc says (`printed`: stdout then stderr) and
// exited 0 (yes), 1 (no) or 2 (a refused option, which an example may show), not crashed.
inline void ExpectDocExamplePrinted(const std::string& doc, const DocExample& ex,
                                    const std::string& printed, int exit_code) {
  std::vector<std::string> actual = absl::StrSplit(printed, '\n');
  if (!actual.empty() && actual.back().empty()) {
    actual.pop_back();
  }
  std::vector<std::string> expected = ex.expected;
  while (!expected.empty() && expected.back().empty()) {
    expected.pop_back();
  }
  EXPECT_TRUE(exit_code >= 0 && exit_code <= 2)
      << doc << ":" << ex.line << ": " << ex.command << " exited " << exit_code << ":\n"
      << printed;
  EXPECT_TRUE(DocLinesMatch(actual, 0, expected, 0))
      << doc << ":" << ex.line << ": `" << ex.command << "` does not print what the doc says.\n"
      << "--- the doc:\n"
      << absl::StrJoin(expected, "\n") << "\n--- the command:\n"
      << absl::StrJoin(actual, "\n");
}

}  // namespace sovereign::testing
