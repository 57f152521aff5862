#include "dataset_option.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace sovereign::spank {
namespace {

constexpr absl::string_view kNameRule =
    "names start with a letter or digit and use only letters, digits, '.', '_' and '-'";
constexpr absl::string_view kExample = "e.g. --dataset=patients-eu,imagenet-public";
// Echoed user text is cut to this many bytes: the value may be arbitrarily long.
constexpr size_t kMaxEcho = 40;

// `text` in double quotes, cut to kMaxEcho bytes, non-printable bytes as \xNN.
std::string Quote(absl::string_view text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size() && i < kMaxEcho; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", c);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  if (text.size() > kMaxEcho) {
    out += "...";
  }
  out += "\"";
  return out;
}

std::string DescribeChar(char ch) {
  const unsigned char c = static_cast<unsigned char>(ch);
  if (c <= 0x20 || c >= 0x7f) {
    return absl::StrFormat("byte 0x%02x", c);
  }
  return absl::StrCat("'", std::string(1, ch), "'");
}

bool IsNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

absl::Status CheckName(absl::string_view name, const DatasetOptionLimits& limits) {
  if (static_cast<int>(name.size()) > limits.max_name_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("--dataset: dataset ", Quote(name), " is ",
                                                   name.size(), " bytes long; the limit is ",
                                                   limits.max_name_bytes));
  }
  for (size_t i = 0; i < name.size(); ++i) {
    const bool ok =
        i == 0 ? absl::ascii_isalnum(static_cast<unsigned char>(name[i])) : IsNameChar(name[i]);
    if (!ok) {
      return absl::InvalidArgumentError(absl::StrCat("--dataset: dataset ", Quote(name), " has ",
                                                     DescribeChar(name[i]), " at position ", i + 1,
                                                     "; ", kNameRule));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> PositiveArg(absl::string_view arg, absl::string_view key,
                                absl::string_view value) {
  int n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 4096) {
    return absl::InvalidArgumentError(absl::StrCat("sovereign_spank.so: argument ", Quote(arg),
                                                   ": ", key, " must be a number in 1..4096"));
  }
  return n;
}

}  // namespace

absl::StatusOr<DatasetOptionLimits> ParseDatasetOptionArgs(
    const std::vector<absl::string_view>& args) {
  DatasetOptionLimits limits;
  for (absl::string_view arg : args) {
    const std::pair<absl::string_view, absl::string_view> kv =
        absl::StrSplit(arg, absl::MaxSplits('=', 1));
    int* field = nullptr;
    if (kv.first == "max_name_bytes") {
      field = &limits.max_name_bytes;
    } else if (kv.first == "max_names") {
      field = &limits.max_names;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("sovereign_spank.so: unknown argument ",
                                                     Quote(arg),
                                                     " (known: max_name_bytes=N, max_names=N)"));
    }
    absl::StatusOr<int> n = PositiveArg(arg, kv.first, kv.second);
    if (!n.ok()) {
      return n.status();
    }
    *field = *n;
  }
  return limits;
}

absl::StatusOr<std::vector<std::string>> ParseDatasetOption(absl::string_view value,
                                                            const DatasetOptionLimits& limits) {
  if (absl::StripAsciiWhitespace(value).empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--dataset needs one or more dataset names, ", kExample));
  }
  std::vector<std::string> names;
  int position = 0;
  for (absl::string_view part : absl::StrSplit(value, ',')) {
    ++position;
    const absl::string_view name = absl::StripAsciiWhitespace(part);
    if (name.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--dataset: name ", position, " of ", Quote(value),
                       " is empty; separate names with single commas, ", kExample));
    }
    if (absl::Status s = CheckName(name, limits); !s.ok()) {
      return s;
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      if (static_cast<int>(names.size()) == limits.max_names) {
        return absl::InvalidArgumentError(absl::StrCat("--dataset: more than ", limits.max_names,
                                                       " datasets; a job may declare at most ",
                                                       limits.max_names));
      }
      names.emplace_back(name);
    }
  }
  return names;
}

std::string JoinDatasets(const std::vector<std::string>& names) {
  return absl::StrJoin(names, ",");
}

}  // namespace sovereign::spank
