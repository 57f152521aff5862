#include "power/prometheus_text.h"

#include <cmath>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "sovereign/user_text.h"

namespace sovereign::power {
namespace {

bool NameStart(char c) { return absl::ascii_isalpha(c) || c == '_' || c == ':'; }
bool NameChar(char c) { return NameStart(c) || absl::ascii_isdigit(c); }
bool LabelStart(char c) { return absl::ascii_isalpha(c) || c == '_'; }
bool LabelChar(char c) { return LabelStart(c) || absl::ascii_isdigit(c); }
bool Blank(char c) { return c == ' ' || c == '\t'; }

// Reads one sample line; an empty string when it is one, else what is wrong with it.
class LineReader {
 public:
  explicit LineReader(std::string_view line) : s_(line) {}

  std::string Read(PromSample* out) {
    if (!NameStart(Peek())) {
      return "a sample must start with a metric name";
    }
    while (NameChar(Peek())) {
      out->name += s_[i_++];
    }
    if (Peek() == '{') {
      ++i_;
      if (std::string e = Labels(out); !e.empty()) {
        return e;
      }
    }
    if (!Blank(Peek())) {
      return i_ < s_.size() ? "expected a space before the value" : "no value";
    }
    SkipBlanks();
    std::string_view value = Token();
    if (value.empty()) {
      return "no value";
    }
    if (!Number(value, &out->value)) {
      return absl::StrCat("value ", QuoteUserText(value, 40), " is not a number");
    }
    SkipBlanks();
    std::string_view ts = Token();
    if (!ts.empty()) {
      int64_t ms = 0;
      if (!absl::SimpleAtoi(absl::string_view(ts.data(), ts.size()), &ms)) {
        return absl::StrCat("timestamp ", QuoteUserText(ts, 40),
                            " is not a whole number of milliseconds");
      }
      out->timestamp_ms = ms;
    }
    SkipBlanks();
    if (i_ < s_.size()) {
      return "unexpected text after the timestamp";
    }
    return "";
  }

 private:
  char Peek() const { return i_ < s_.size() ? s_[i_] : '\0'; }
  void SkipBlanks() {
    while (i_ < s_.size() && Blank(s_[i_])) {
      ++i_;
    }
  }
  std::string_view Token() {
    const size_t start = i_;
    while (i_ < s_.size() && !Blank(s_[i_])) {
      ++i_;
    }
    return s_.substr(start, i_ - start);
  }

  // After '{': label="value" pairs, comma-separated (a trailing comma allowed), then '}'.
  std::string Labels(PromSample* out) {
    while (true) {
      SkipBlanks();
      if (Peek() == '}') {
        ++i_;
        return "";
      }
      if (!LabelStart(Peek())) {
        return i_ < s_.size() ? "a label name must start with a letter or _"
                              : "the labels are not closed with }";
      }
      std::string key;
      while (LabelChar(Peek())) {
        key += s_[i_++];
      }
      SkipBlanks();
      if (Peek() != '=') {
        return absl::StrCat("label ", key, " has no =");
      }
      ++i_;
      SkipBlanks();
      if (Peek() != '"') {
        return absl::StrCat("the value of label ", key, " is not in double quotes");
      }
      ++i_;
      std::string value;
      bool closed = false;
      while (i_ < s_.size()) {
        const char c = s_[i_++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c != '\\') {
          value += c;
          continue;
        }
        const char e = Peek();
        ++i_;
        if (e == '\\' || e == '"') {
          value += e;
        } else if (e == 'n') {
          value += '\n';
        } else {
          return absl::StrCat("label ", key, " holds an escape other than \\\\, \\\" or \\n");
        }
      }
      if (!closed) {
        return absl::StrCat("the value of label ", key, " has no closing quote");
      }
      out->labels.emplace_back(std::move(key), std::move(value));
      SkipBlanks();
      if (Peek() == ',') {
        ++i_;
      } else if (i_ >= s_.size()) {
        return "the labels are not closed with }";
      } else if (Peek() != '}') {
        return "expected , or } after a label";
      }
    }
  }

  static bool Number(std::string_view text, double* out) {
    if (text == "NaN") {
      *out = std::numeric_limits<double>::quiet_NaN();
      return true;
    }
    if (text == "+Inf" || text == "Inf") {
      *out = std::numeric_limits<double>::infinity();
      return true;
    }
    if (text == "-Inf") {
      *out = -std::numeric_limits<double>::infinity();
      return true;
    }
    // SimpleAtod would also take "nan" and "inf"; the format spells them as above only.
    if (text.find_first_of("nNiI") != std::string_view::npos) {
      return false;
    }
    return absl::SimpleAtod(absl::string_view(text.data(), text.size()), out);
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

const std::string* PromSample::Label(std::string_view key) const {
  for (const auto& [k, v] : labels) {
    if (k == key) {
      return &v;
    }
  }
  return nullptr;
}

absl::StatusOr<std::vector<PromSample>> ParsePrometheusText(std::string_view text,
                                                            std::string_view source) {
  std::vector<PromSample> out;
  int number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      end = text.size();
    }
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++number;
    if (!line.empty() && line.back() == '\r') {
      line.remove_suffix(1);
    }
    std::string_view trimmed = line;
    while (!trimmed.empty() && Blank(trimmed.front())) {
      trimmed.remove_prefix(1);
    }
    if (trimmed.empty() || trimmed.front() == '#') {
      continue;  // blank, a comment, # HELP or # TYPE
    }
    PromSample sample;
    if (std::string error = LineReader(trimmed).Read(&sample); !error.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(std::string(source), ":", number, ": ", error,
                                                     ": ", QuoteUserText(line, 120)));
    }
    out.push_back(std::move(sample));
  }
  return out;
}

}  // namespace sovereign::power
