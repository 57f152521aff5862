// Typed reading of the register's YAML mappings, with a diagnostic (file:line:column, object,
// field, bad value) for every unknown key, missing field and value of the wrong type. Not
// installed; used by register_parser.cc only.
//
// yaml-cpp marks are 0-based; SourceLocation is 1-based.
#pragma once

#include <yaml-cpp/yaml.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "register_internal.h"

namespace sovereign::register_internal {

// The state of one parse: the file name, the parts read so far and the diagnostics found.
class YamlContext {
 public:
  YamlContext(absl::string_view filename, Parts* parts) : file_(filename), parts_(parts) {}

  // The node's position, or `fallback` when yaml-cpp has none.
  SourceLocation Location(const YAML::Node& node, const SourceLocation& fallback) const;
  SourceLocation Location(const YAML::Mark& mark) const;
  SourceLocation FileOnly() const { return SourceLocation{file_, 0, 0}; }

  void Add(SourceLocation location, std::string message) {
    diagnostics_.push_back(Diagnostic{std::move(location), std::move(message)});
  }

  Parts& parts() { return *parts_; }
  std::vector<Diagnostic>& diagnostics() { return diagnostics_; }

 private:
  std::string file_;
  Parts* parts_;
  std::vector<Diagnostic> diagnostics_;
};

// "a list", "a mapping", "an empty value" or the scalar quoted.
std::string Describe(const YAML::Node& node);

// One entry of a mapping, in file order.
struct Entry {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

// The entries of `mapping`. A key that is not a plain scalar is reported and skipped, so is a
// key given twice (the first one stands).
// `where` prefixes the messages ("site \"paris-1\": "); `noun` is "field" or "section".
std::vector<Entry> MappingEntries(YamlContext* ctx, const YAML::Node& mapping,
                                  absl::string_view where, absl::string_view noun);

// Reports every entry whose key is not in `known`, suggesting the closest known key.
void ReportUnknownKeys(YamlContext* ctx, const std::vector<Entry>& entries,
                       const std::vector<std::string>& known, absl::string_view where,
                       absl::string_view noun);

// Reads the fields of one object (a YAML mapping) of kind `kind` at `index`. Each read records
// the field's location in the parts' FieldTable; on a problem it adds a diagnostic, marks the
// field reported (so that validation stays quiet about it) and leaves `*out` unchanged.
// Every read returns true when `*out` was set.
class ObjectReader {
 public:
  // `known` lists every key the object may have; "name" is read first to label diagnostics.
  ObjectReader(YamlContext* ctx, const YAML::Node& mapping, Kind kind, int index,
               std::vector<std::string> known);

  // The mapping's own location.
  const SourceLocation& location() const { return location_; }

  bool String(absl::string_view key, bool required, std::string* out);
  bool Number(absl::string_view key, bool required, double* out);
  bool Integer(absl::string_view key, bool required, int* out);
  bool StringList(absl::string_view key, bool required, std::vector<std::string>* out);
  bool Duration(absl::string_view key, bool required, absl::Duration* out);
  template <typename T>
  bool Enum(absl::string_view key, bool required,
            const std::vector<std::pair<absl::string_view, T>>& values, T* out);

 private:
  // The value of `key`, or nullptr (reported when required) when absent.
  const Entry* Find(absl::string_view key, bool required);
  // Adds `<label>: field "<key>": <detail>` at `node` and marks the field reported.
  void Bad(const Entry& entry, const YAML::Node& node, std::string detail);
  // True when the value is a scalar; reports it otherwise. `expected`: "a string", ...
  bool Scalar(const Entry& entry, absl::string_view expected);
  // A number written in full, parsed with std::from_chars; `expected`: "a number", ...
  template <typename T>
  bool Numeric(absl::string_view key, bool required, absl::string_view expected, T* out);

  YamlContext* ctx_;
  Kind kind_;
  int index_;
  std::string label_;
  SourceLocation location_;
  std::vector<Entry> entries_;
};

template <typename T>
bool ObjectReader::Enum(absl::string_view key, bool required,
                        const std::vector<std::pair<absl::string_view, T>>& values, T* out) {
  std::string text;
  if (!String(key, required, &text)) {
    return false;
  }
  std::string names;
  for (const auto& [name, value] : values) {
    if (name == text) {
      *out = value;
      return true;
    }
    absl::StrAppend(&names, names.empty() ? "" : ", ", name);
  }
  Bad(*Find(key, false), Find(key, false)->value,
      absl::StrCat("bad value ", Quote(text), " (expected one of: ", names, ")"));
  return false;
}

}  // namespace sovereign::register_internal
