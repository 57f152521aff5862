// Lexical rules and small text helpers shared by the register's parser and validator.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "register_internal.h"

namespace sovereign::register_internal {

absl::string_view KindName(Kind kind) {
  switch (kind) {
    case Kind::kPolicy:
      return "policy";
    case Kind::kRegion:
      return "region";
    case Kind::kSite:
      return "site";
    case Kind::kPartition:
      return "partition";
    case Kind::kDataset:
      return "dataset";
    case Kind::kAccount:
      return "account";
  }
  return "object";
}

void FieldTable::SetLocation(Kind kind, int index, absl::string_view field, SourceLocation location,
                             int element) {
  locations_[Key(static_cast<int>(kind), index, std::string(field), element)] = std::move(location);
}

const SourceLocation* FieldTable::FindLocation(Kind kind, int index, absl::string_view field,
                                               int element) const {
  auto it = locations_.find(Key(static_cast<int>(kind), index, std::string(field), element));
  return it == locations_.end() ? nullptr : &it->second;
}

void FieldTable::MarkReported(Kind kind, int index, absl::string_view field) {
  reported_.insert(Key(static_cast<int>(kind), index, std::string(field), -1));
}

bool FieldTable::Reported(Kind kind, int index, absl::string_view field) const {
  return reported_.contains(Key(static_cast<int>(kind), index, std::string(field), -1));
}

std::string ObjectLabel(Kind kind, int index, absl::string_view name) {
  if (kind == Kind::kPolicy) {
    return "policy";
  }
  if (name.empty()) {
    return absl::StrCat(KindName(kind), " #", index + 1);
  }
  return absl::StrCat(KindName(kind), " ", Quote(name));
}

std::string Quote(absl::string_view text) {
  return absl::StrCat("\"", absl::CHexEscape(text), "\"");
}

bool IsValidName(absl::string_view name) {
  if (name.empty() || name.size() > static_cast<size_t>(kMaxNameBytes)) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

bool IsValidUnixName(absl::string_view name) {
  if (name.empty() || name.size() > 256) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u != 0x7f && c != ',' && c != ':';
  });
}

bool IsValidUtf8(absl::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto byte = static_cast<unsigned char>(text[i]);
    size_t length = 0;
    uint32_t code = 0;
    if (byte < 0x80) {
      ++i;
      continue;
    } else if ((byte & 0xe0) == 0xc0) {
      length = 2;
      code = byte & 0x1f;
    } else if ((byte & 0xf0) == 0xe0) {
      length = 3;
      code = byte & 0x0f;
    } else if ((byte & 0xf8) == 0xf0) {
      length = 4;
      code = byte & 0x07;
    } else {
      return false;
    }
    if (i + length > text.size()) {
      return false;
    }
    for (size_t k = 1; k < length; ++k) {
      auto next = static_cast<unsigned char>(text[i + k]);
      if ((next & 0xc0) != 0x80) {
        return false;
      }
      code = (code << 6) | (next & 0x3f);
    }
    static constexpr uint32_t kSmallest[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kSmallest[length] || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) {
      return false;
    }
    i += length;
  }
  return true;
}

bool IsCountryCode(absl::string_view code) {
  // ISO 3166-1 alpha-2, every officially assigned code (249), in order.
  static constexpr absl::string_view kCodes =
      "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO "
      "BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ "
      "DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP "
      "GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG "
      "KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML "
      "MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE "
      "PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL "
      "SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM "
      "US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";
  if (code.size() != 2 || !absl::ascii_isupper(static_cast<unsigned char>(code[0])) ||
      !absl::ascii_isupper(static_cast<unsigned char>(code[1]))) {
    return false;
  }
  for (size_t i = 0; i + 2 <= kCodes.size(); i += 3) {
    if (kCodes.substr(i, 2) == code) {
      return true;
    }
  }
  return false;
}

namespace {
// Optimal string alignment distance: edits, with a swap of neighbours counted as one.
// Three rolling rows (the swap looks two rows back); no allocation per cell row.
size_t EditDistance(absl::string_view a, absl::string_view b) {
  const size_t m = b.size() + 1;
  std::vector<size_t> rows(3 * m);
  size_t* two_back = rows.data();
  size_t* prev = two_back + m;
  size_t* cur = prev + m;
  for (size_t j = 0; j < m; ++j) {
    prev[j] = j;
  }
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j < m; ++j) {
      size_t cost = absl::ascii_tolower(a[i - 1]) == absl::ascii_tolower(b[j - 1]) ? 0 : 1;
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        cur[j] = std::min(cur[j], two_back[j - 2] + 1);
      }
    }
    std::swap(two_back, prev);
    std::swap(prev, cur);
  }
  return prev[m - 1];
}
}  // namespace

std::optional<std::string> ClosestMatch(absl::string_view word,
                                        const std::vector<std::string>& candidates) {
  if (word.size() > 256) {
    return std::nullopt;
  }
  const size_t limit = word.size() <= 4 ? 1 : 2;
  std::optional<std::string> best;
  size_t best_distance = limit + 1;
  bool tie = false;
  for (const std::string& candidate : candidates) {
    // The distance is at least the difference in length: skip the table for those.
    size_t gap = word.size() > candidate.size() ? word.size() - candidate.size()
                                                : candidate.size() - word.size();
    if (gap > limit) {
      continue;
    }
    size_t distance = EditDistance(word, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
      tie = false;
    } else if (distance == best_distance && best.has_value() && *best != candidate) {
      tie = true;
    }
  }
  if (tie) {
    return std::nullopt;
  }
  return best;
}

std::string KnownList(std::vector<std::string> names, size_t limit) {
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  if (names.empty()) {
    return "none declared";
  }
  if (names.size() <= limit) {
    return absl::StrJoin(names, ", ");
  }
  size_t more = names.size() - limit;
  names.resize(limit);
  return absl::StrCat(absl::StrJoin(names, ", "), ", ... (", more, " more)");
}

}  // namespace sovereign::register_internal
