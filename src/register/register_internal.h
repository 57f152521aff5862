// Internals shared by the register's parser, validator and canonicaliser. Not installed.
#pragma once

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "sovereign/register.h"

namespace sovereign::register_internal {

// The kinds of object a register declares; the policy is the single object of its kind.
enum class Kind { kPolicy, kRegion, kSite, kPartition, kDataset, kAccount };

// "policy", "region", "site", ... as written in diagnostics.
absl::string_view KindName(Kind kind);

// Where each field of each object was written, and which fields already have a diagnostic
// (the parser reports a missing or mistyped field; the validator then leaves it alone so that
// one mistake yields one message). Objects built in code have an empty table.
class FieldTable {
 public:
  // `field` "" stands for the object itself; `element` >= 0 for one entry of a list field.
  void SetLocation(Kind kind, int index, absl::string_view field, SourceLocation location,
                   int element = -1);
  // nullptr when not recorded.
  const SourceLocation* FindLocation(Kind kind, int index, absl::string_view field,
                                     int element = -1) const;

  void MarkReported(Kind kind, int index, absl::string_view field);
  bool Reported(Kind kind, int index, absl::string_view field) const;

 private:
  using Key = std::tuple<int, int, std::string, int>;
  absl::flat_hash_map<Key, SourceLocation> locations_;
  absl::flat_hash_set<Key> reported_;
};

// Everything a register declares, before validation.
struct Parts {
  Policy policy;
  std::vector<Region> regions;
  std::vector<Site> sites;
  std::vector<Partition> partitions;
  std::vector<Dataset> datasets;
  std::vector<Account> accounts;
  FieldTable fields;
};

// Checks every name, value range and cross-reference; appends one Diagnostic per problem (all
// of them, not only the first).
void Validate(const Parts& parts, std::vector<Diagnostic>* out);

// Runs Validate, merges its diagnostics with `found` (the parser's), sorts them by line and
// column (those without a line keep their order, last), stores them in `*diagnostics` when
// given (cleared on success), and returns INVALID_ARGUMENT listing them one per line, or OK.
absl::Status CheckParts(const Parts& parts, std::vector<Diagnostic> found,
                        std::vector<Diagnostic>* diagnostics);

// The canonical form: compact JSON with object keys sorted and named objects sorted by name,
// unordered lists (regions, groups, ...) sorted and de-duplicated, durations in seconds, no
// source locations. Independent of YAML formatting and order.
std::string Canonicalize(const Parts& parts);

// ---- Lexical rules shared by parser and validator (register_rules.cc) ----

// How an object is named in diagnostics: `site "paris-1"`, `site #2` when it has no name yet,
// `policy` for the policy.
std::string ObjectLabel(Kind kind, int index, absl::string_view name);

// `"text"`, with non-printable bytes escaped.
std::string Quote(absl::string_view text);

// Names of regions, sites, partitions, datasets, accounts: 1..64 bytes of [A-Za-z0-9._-].
inline constexpr int kMaxNameBytes = 64;
bool IsValidName(absl::string_view name);
inline constexpr absl::string_view kNameRule =
    "names are 1 to 64 bytes of letters, digits, '.', '_' and '-'";

// Unix user and group names: 1..256 bytes, no whitespace, control characters, ',' or ':'.
bool IsValidUnixName(absl::string_view name);

// Well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool IsValidUtf8(absl::string_view text);

// An assigned ISO 3166-1 alpha-2 code ("FR", "DE", ...).
bool IsCountryCode(absl::string_view code);

// The closest of `candidates` to `word` when it is an obvious typo (a small edit distance),
// else nullopt.
std::optional<std::string> ClosestMatch(absl::string_view word,
                                        const std::vector<std::string>& candidates);

// "a, b, c" sorted; at most `limit` names then ", ... (N more)". "none declared" when empty.
std::string KnownList(std::vector<std::string> names, size_t limit = 20);

}  // namespace sovereign::register_internal
