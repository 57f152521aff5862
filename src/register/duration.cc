#include "sovereign/duration.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sovereign {

std::optional<absl::Duration> ParseDuration(std::string_view text) {
  absl::string_view rest(text.data(), text.size());
  // Whole-text forms and the sign are absl::ParseDuration's ("0", "inf", "-5m", "+5m").
  bool negative = false;
  absl::string_view unsigned_text = rest;
  if (absl::ConsumePrefix(&unsigned_text, "-")) {
    negative = true;
  } else {
    absl::ConsumePrefix(&unsigned_text, "+");
  }
  if (unsigned_text == "0" || unsigned_text == "inf") {
    absl::Duration d;
    if (!absl::ParseDuration(rest, &d)) {
      return std::nullopt;
    }
    return d;
  }
  if (unsigned_text.empty()) {
    return std::nullopt;
  }
  // Groups of <number><unit>: absl parses each (ns us ms s m h); days are 24 of its hours.
  absl::Duration total;
  rest = unsigned_text;
  while (!rest.empty()) {
    size_t number = 0;
    while (number < rest.size() &&
           (absl::ascii_isdigit(static_cast<unsigned char>(rest[number])) || rest[number] == '.')) {
      ++number;
    }
    size_t unit = number;
    while (unit < rest.size() && absl::ascii_islower(static_cast<unsigned char>(rest[unit]))) {
      ++unit;
    }
    if (number == 0 || unit == number) {
      return std::nullopt;
    }
    const absl::string_view digits = rest.substr(0, number);
    const absl::string_view suffix = rest.substr(number, unit - number);
    absl::Duration group;
    if (suffix == "d") {
      if (!absl::ParseDuration(absl::StrCat(digits, "h"), &group)) {
        return std::nullopt;
      }
      group *= 24;
    } else if (!absl::ParseDuration(rest.substr(0, unit), &group)) {
      return std::nullopt;
    }
    total += group;
    rest.remove_prefix(unit);
  }
  return negative ? -total : total;
}

}  // namespace sovereign
