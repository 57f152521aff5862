#include "dataset_option.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdio>

#include "sovereign/user_text.h"

namespace sovereign::spank {
namespace {

constexpr std::string_view kNameRule =
    "names start with a letter or digit and use only letters, digits, '.', '_' and '-'";
constexpr std::string_view kExample = "e.g. --dataset=patients-eu,imagenet-public";
// Echoed user text is cut to this many bytes: the value may be arbitrarily long.
constexpr size_t kMaxEcho = 40;

// ASCII only, whatever the locale of the sbatch process.
bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}
bool IsNameChar(char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-'; }
bool IsSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

std::string_view Strip(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) {
    s.remove_prefix(1);
  }
  while (!s.empty() && IsSpace(s.back())) {
    s.remove_suffix(1);
  }
  return s;
}

std::string Hex(unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%02x", c);
  return buf;
}

std::string Quote(std::string_view text) { return sovereign::QuoteUserText(text, kMaxEcho); }

std::string DescribeChar(char ch) {
  const unsigned char c = static_cast<unsigned char>(ch);
  if (c <= 0x20 || c >= 0x7f) {
    return "byte 0x" + Hex(c);
  }
  return std::string("'") + ch + "'";
}

// Empty when `name` is a valid dataset name, else why not.
std::string CheckName(std::string_view name, const DatasetOptionLimits& limits) {
  if (static_cast<int>(name.size()) > limits.max_name_bytes) {
    return "--dataset: dataset " + Quote(name) + " is " + std::to_string(name.size()) +
           " bytes long; the limit is " + std::to_string(limits.max_name_bytes);
  }
  for (size_t i = 0; i < name.size(); ++i) {
    if (!(i == 0 ? IsAlnum(name[i]) : IsNameChar(name[i]))) {
      return "--dataset: dataset " + Quote(name) + " has " + DescribeChar(name[i]) +
             " at position " + std::to_string(i + 1) + "; " + std::string(kNameRule);
    }
  }
  return "";
}

}  // namespace

Checked<DatasetOptionLimits> ParseDatasetOptionArgs(const std::vector<std::string_view>& args) {
  Checked<DatasetOptionLimits> out;
  for (std::string_view arg : args) {
    const size_t eq = arg.find('=');
    const std::string_view key = arg.substr(0, eq);
    const std::string_view value = eq == std::string_view::npos ? "" : arg.substr(eq + 1);
    int* field = nullptr;
    if (key == "max_name_bytes") {
      field = &out.value.max_name_bytes;
    } else if (key == "max_names") {
      field = &out.value.max_names;
    } else {
      out.error = "sovereign_spank.so: unknown argument " + Quote(arg) +
                  " (known: max_name_bytes=N, max_names=N)";
      return out;
    }
    int n = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < 1 || n > 4096) {
      out.error = "sovereign_spank.so: argument " + Quote(arg) + ": " + std::string(key) +
                  " must be a number in 1..4096";
      return out;
    }
    *field = n;
  }
  return out;
}

Checked<std::vector<std::string>> ParseDatasetOption(std::string_view value,
                                                     const DatasetOptionLimits& limits) {
  return AddDatasetOption({}, value, limits);
}

Checked<std::vector<std::string>> AddDatasetOption(const std::vector<std::string>& declared,
                                                   std::string_view value,
                                                   const DatasetOptionLimits& limits) {
  Checked<std::vector<std::string>> out;
  out.value = declared;
  if (Strip(value).empty()) {
    out.error = "--dataset needs one or more dataset names, " + std::string(kExample);
    return out;
  }
  std::vector<std::string>& names = out.value;
  int position = 0;
  size_t start = 0;
  while (start <= value.size()) {
    const size_t comma = std::min(value.find(',', start), value.size());
    const std::string_view name = Strip(value.substr(start, comma - start));
    start = comma + 1;
    ++position;
    if (name.empty()) {
      out.error = "--dataset: name " + std::to_string(position) + " of " + Quote(value) +
                  " is empty; separate names with single commas, " + std::string(kExample);
      return out;
    }
    if (std::string why = CheckName(name, limits); !why.empty()) {
      out.error = std::move(why);
      return out;
    }
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      if (static_cast<int>(names.size()) == limits.max_names) {
        out.error = "--dataset: more than " + std::to_string(limits.max_names) +
                    " datasets; a job may declare at most " + std::to_string(limits.max_names) +
                    ", counting every --dataset option and #SBATCH --dataset line";
        return out;
      }
      names.emplace_back(name);
    }
  }
  return out;
}

Checked<std::string> ParseGreenWindowOption(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
    value.remove_suffix(1);
  }
  Checked<std::string> out;
  double seconds = 0;
  bool readable = !value.empty() && value.size() <= 32;
  for (size_t i = 0; readable && i < value.size();) {
    double number = 0, scale = 0;  // scale: 0 before the point, then 0.1, 0.01, ...
    size_t digits = 0;
    for (; i < value.size() && ((value[i] >= '0' && value[i] <= '9') ||
                                (value[i] == '.' && scale == 0 && digits > 0));
         ++i) {
      if (value[i] == '.') {
        scale = 0.1;
      } else if (scale == 0) {
        number = number * 10 + (value[i] - '0');
        ++digits;
      } else {
        number += (value[i] - '0') * scale;
        scale /= 10;
      }
    }
    const double unit = i >= value.size() ? 0
                        : value[i] == 'd' ? 86400
                        : value[i] == 'h' ? 3600
                        : value[i] == 'm' ? 60
                        : value[i] == 's' ? 1
                                          : 0;
    readable = digits > 0 && unit > 0;
    seconds += number * unit;
    ++i;
  }
  if (!readable || seconds <= 0 || seconds > 14 * 86400) {
    out.error = "--green-window: cannot read \"" + std::string(value.substr(0, 40)) +
                "\"; give how far the job's start may move for less CO2, longer than zero and "
                "at most 14d, e.g. --green-window=6h (units d, h, m, s)";
    return out;
  }
  out.value = std::string(value);
  return out;
}

bool IsJobId(std::string_view text) {
  if (text.empty() || text.size() > 10) {
    return false;
  }
  uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return false;
    }
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  return n > 0 && n <= 0xffffffffull;
}

std::string JoinDatasets(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& name : names) {
    if (!out.empty()) {
      out += ',';
    }
    out += name;
  }
  return out;
}

}  // namespace sovereign::spank
