#include "sovereign/dataset_declaration.h"

#include <algorithm>
#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sovereign/duration.h"
#include "sovereign/user_text.h"

namespace sovereign {
namespace {

// What separates the tokens of a --comment.
constexpr char kCommentSeparators[] = " \t\r\n;";

// User text echoed in a message is cut to this many bytes.
constexpr size_t kMaxEcho = 60;
std::string Quote(absl::string_view text) {
  return QuoteUserText(std::string_view(text.data(), text.size()), kMaxEcho);
}

// What a --comment token is, as far as datasets go (see dataset_declaration.h).
enum class CommentToken { kOther, kDeclaration, kUnreadable };

// Classifies `token`; for a declaration sets *names to the text after "dataset:".
CommentToken ClassifyCommentToken(absl::string_view token, absl::string_view* names) {
  absl::string_view rest;
  if (absl::StartsWithIgnoreCase(token, "datasets")) {
    rest = token.substr(8);
  } else if (absl::StartsWithIgnoreCase(token, "dataset")) {
    rest = token.substr(7);
  } else {
    return CommentToken::kOther;
  }
  if (!rest.empty() && rest.front() != ':' && rest.front() != '=') {
    return CommentToken::kOther;  // "dataset_v2", "datasets.", "datasetname": not a key
  }
  if (rest.size() >= 2 && rest.front() == ':') {
    *names = rest.substr(1);
    return CommentToken::kDeclaration;
  }
  return CommentToken::kUnreadable;  // "dataset", "dataset:", "dataset=...", "dataset="
}

constexpr absl::string_view kGreenKey = "green-window";

}  // namespace

absl::Status ReadGreenWindow(absl::string_view text, absl::string_view where,
                             absl::Duration* out) {
  const std::optional<absl::Duration> d =
      ParseDuration(std::string_view(text.data(), text.size()));
  if (!d.has_value() || *d <= absl::ZeroDuration() || *d > kMaxGreenWindow) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot read the green window ", Quote(text), " in ", where,
        "; give how far the start may move, longer than zero and at most 14d, e.g. ",
        where == "--comment" ? "--comment=green-window:6h" : "--green-window=6h"));
  }
  *out = *d;
  return absl::OkStatus();
}

absl::Status AddCommentGreenWindow(absl::string_view comment, absl::Duration* out) {
  for (absl::string_view token :
       absl::StrSplit(comment, absl::ByAnyChar(kCommentSeparators), absl::SkipEmpty())) {
    if (!absl::StartsWithIgnoreCase(token, kGreenKey)) {
      continue;
    }
    absl::string_view rest = token.substr(kGreenKey.size());
    if (!rest.empty() && rest.front() != ':' && rest.front() != '=') {
      continue;  // "green-windows", "green-window2": ordinary text
    }
    if (rest.size() < 2 || rest.front() != ':') {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot read the green window ", Quote(token),
                       " in --comment; write it as one word, e.g. --comment=green-window:6h"));
    }
    if (absl::Status s = ReadGreenWindow(rest.substr(1), "--comment", out); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status AddDatasetNames(absl::string_view list, absl::string_view where,
                             std::vector<std::string>* out) {
  for (absl::string_view name : absl::StrSplit(list, ',')) {
    name = absl::StripAsciiWhitespace(name);
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "empty dataset name in ", where, " ", Quote(list),
          "; use a comma-separated list such as --dataset=patients-eu,imagenet-public"));
    }
    if (std::find(out->begin(), out->end(), name) == out->end()) {
      out->emplace_back(name);
    }
  }
  return absl::OkStatus();
}

absl::Status AddCommentDatasets(absl::string_view comment, std::vector<std::string>* out) {
  const std::vector<absl::string_view> tokens =
      absl::StrSplit(comment, absl::ByAnyChar(kCommentSeparators), absl::SkipEmpty());
  for (size_t i = 0; i < tokens.size(); ++i) {
    absl::string_view names;
    switch (ClassifyCommentToken(tokens[i], &names)) {
      case CommentToken::kOther:
        break;
      case CommentToken::kDeclaration:
        if (absl::Status s = AddDatasetNames(names, "--comment", out); !s.ok()) {
          return s;
        }
        break;
      case CommentToken::kUnreadable: {
        // Quote what was typed: the token, and the next ones while the names evidently
        // follow ("dataset: patients-eu", "dataset = patients-eu").
        absl::string_view typed = tokens[i];
        for (size_t next = i + 1; next < tokens.size(); ++next) {
          const bool names_follow = typed.back() == ':' || typed.back() == '=' ||
                                    absl::EqualsIgnoreCase(typed, "dataset") ||
                                    absl::EqualsIgnoreCase(typed, "datasets");
          if (!names_follow) {
            break;
          }
          typed = absl::string_view(
              typed.data(),
              static_cast<size_t>(tokens[next].data() + tokens[next].size() - typed.data()));
        }
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot read the dataset declaration ", Quote(typed),
            " in --comment; write \"dataset:\" and the names as one word, without spaces, e.g. "
            "--comment=dataset:patients-eu or --comment=dataset:patients-eu,imagenet-public"));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace sovereign
