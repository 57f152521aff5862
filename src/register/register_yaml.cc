#include "register_yaml.h"

#include <algorithm>
#include <charconv>
#include <optional>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "sovereign/duration.h"
#include "sovereign/did_you_mean.h"

namespace sovereign::register_internal {

SourceLocation YamlContext::Location(const YAML::Mark& mark) const {
  if (mark.is_null() || mark.line < 0) {
    return FileOnly();
  }
  return SourceLocation{file_, mark.line + 1, mark.column + 1};
}

SourceLocation YamlContext::Location(const YAML::Node& node, const SourceLocation& fallback) const {
  // yaml-cpp places an empty value at the start of the next token, often the next line:
  // the key's position (the fallback) says more.
  if (!node.IsDefined() || node.IsNull() || node.Mark().is_null() || node.Mark().line < 0) {
    return fallback;
  }
  return Location(node.Mark());
}

std::string Describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar:
      return Quote(node.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Null:
      return "an empty value";
    case YAML::NodeType::Undefined:
      break;
  }
  return "nothing";
}

std::vector<Entry> MappingEntries(YamlContext* ctx, const YAML::Node& mapping,
                                  absl::string_view where, absl::string_view noun) {
  std::vector<Entry> entries;
  absl::flat_hash_map<std::string, int> first_line;
  for (const auto& pair : mapping) {
    const YAML::Node& key = pair.first;
    SourceLocation at = ctx->Location(key, ctx->Location(mapping, ctx->FileOnly()));
    if (!key.IsScalar()) {
      ctx->Add(at, absl::StrCat(where, noun, " names must be plain words, got ", Describe(key)));
      continue;
    }
    auto [seen, inserted] = first_line.emplace(key.Scalar(), at.line);
    if (!inserted) {
      ctx->Add(at, absl::StrCat(where, noun, " ", Quote(key.Scalar()),
                                " is given twice (first at line ", seen->second, ")"));
      continue;
    }
    entries.push_back(Entry{key.Scalar(), key, pair.second});
  }
  return entries;
}

void ReportUnknownKeys(YamlContext* ctx, const std::vector<Entry>& entries,
                       const std::vector<std::string>& known, absl::string_view where,
                       absl::string_view noun) {
  for (const Entry& entry : entries) {
    if (std::find(known.begin(), known.end(), entry.key) != known.end()) {
      continue;
    }
    std::optional<std::string> close = ClosestMatch(entry.key, known);
    std::string hint = close.has_value() ? absl::StrCat("did you mean ", Quote(*close), "?")
                                         : absl::StrCat("known ", noun, "s: ", KnownList(known));
    ctx->Add(ctx->Location(entry.key_node, ctx->FileOnly()),
             absl::StrCat(where, "unknown ", noun, " ", Quote(entry.key), " (", hint, ")"));
  }
}

ObjectReader::ObjectReader(YamlContext* ctx, const YAML::Node& mapping, Kind kind, int index,
                           std::vector<std::string> known)
    : ctx_(ctx), kind_(kind), index_(index) {
  location_ = ctx->Location(mapping, ctx->FileOnly());
  ctx->parts().fields.SetLocation(kind, index, "", location_);
  std::string name;
  for (const auto& pair : mapping) {
    if (pair.first.IsScalar() && pair.first.Scalar() == "name" && pair.second.IsScalar()) {
      name = pair.second.Scalar();
      break;
    }
  }
  label_ = ObjectLabel(kind, index, name);
  std::string where = absl::StrCat(label_, ": ");
  entries_ = MappingEntries(ctx, mapping, where, "field");
  ReportUnknownKeys(ctx, entries_, known, where, "field");
}

const Entry* ObjectReader::Find(absl::string_view key, bool required) {
  for (const Entry& entry : entries_) {
    if (entry.key == key) {
      SourceLocation key_at = ctx_->Location(entry.key_node, location_);
      ctx_->parts().fields.SetLocation(kind_, index_, key, ctx_->Location(entry.value, key_at));
      return &entry;
    }
  }
  if (required) {
    ctx_->Add(location_, absl::StrCat(label_, ": missing required field ", Quote(key)));
    ctx_->parts().fields.MarkReported(kind_, index_, key);
  }
  return nullptr;
}

void ObjectReader::Bad(const Entry& entry, const YAML::Node& node, std::string detail) {
  SourceLocation key_at = ctx_->Location(entry.key_node, location_);
  ctx_->Add(ctx_->Location(node, key_at),
            absl::StrCat(label_, ": field ", Quote(entry.key), ": ", detail));
  ctx_->parts().fields.MarkReported(kind_, index_, entry.key);
}

bool ObjectReader::Scalar(const Entry& entry, absl::string_view expected) {
  if (entry.value.IsScalar()) {
    return true;
  }
  Bad(entry, entry.value, absl::StrCat("expected ", expected, ", got ", Describe(entry.value)));
  return false;
}

bool ObjectReader::String(absl::string_view key, bool required, std::string* out) {
  const Entry* entry = Find(key, required);
  if (entry == nullptr || !Scalar(*entry, "a string")) {
    return false;
  }
  *out = entry->value.Scalar();
  return true;
}

template <typename T>
bool ObjectReader::Numeric(absl::string_view key, bool required, absl::string_view expected,
                           T* out) {
  const Entry* entry = Find(key, required);
  if (entry == nullptr || !Scalar(*entry, expected)) {
    return false;
  }
  const std::string& text = entry->value.Scalar();
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) {
    Bad(*entry, entry->value,
        absl::StrCat("expected ", expected, ", got ", Quote(text),
                     ec == std::errc::result_out_of_range ? " (out of range)" : ""));
    return false;
  }
  *out = value;
  return true;
}

bool ObjectReader::Number(absl::string_view key, bool required, double* out) {
  return Numeric(key, required, "a number", out);
}

bool ObjectReader::Integer(absl::string_view key, bool required, int* out) {
  return Numeric(key, required, "an integer", out);
}

bool ObjectReader::StringList(absl::string_view key, bool required, std::vector<std::string>* out) {
  const Entry* entry = Find(key, required);
  if (entry == nullptr) {
    return false;
  }
  const YAML::Node& value = entry->value;
  if (!value.IsSequence()) {
    std::string hint;
    if (value.IsScalar()) {
      hint = absl::StrCat(" (write [", value.Scalar(), "])");
    } else if (value.IsNull()) {
      hint = " (write [] for none)";
    }
    Bad(*entry, value, absl::StrCat("expected a list, got ", Describe(value), hint));
    return false;
  }
  std::vector<std::string> items;
  bool ok = true;
  SourceLocation list_at = ctx_->Location(value, location_);
  for (size_t i = 0; i < value.size(); ++i) {
    const YAML::Node& item = value[i];
    SourceLocation at = ctx_->Location(item, list_at);
    ctx_->parts().fields.SetLocation(kind_, index_, key, at, static_cast<int>(i));
    if (!item.IsScalar()) {
      Bad(*entry, item,
          absl::StrCat("element ", i + 1, ": expected a string, got ", Describe(item)));
      ok = false;
      continue;
    }
    items.push_back(item.Scalar());
  }
  if (ok) {
    *out = std::move(items);
  }
  return ok;
}

bool ObjectReader::Duration(absl::string_view key, bool required, absl::Duration* out) {
  std::string text;
  if (!String(key, required, &text)) {
    return false;
  }
  // The syntax every sovereign file shares; the register adds its range: at most 10 years, and
  // whole seconds, since its canonical form (and so its version) counts durations in seconds.
  std::optional<absl::Duration> value = sovereign::ParseDuration(text);
  std::string why;
  if (!value.has_value()) {
    why = "expected e.g. 90s, 30m, 2h, 1d or 1h30m";
  } else if (*value > absl::Hours(3650 * 24)) {
    why = "at most 10 years";
  } else if (*value != absl::Seconds(absl::ToInt64Seconds(*value))) {
    why = "a whole number of seconds";
  }
  if (!why.empty()) {
    const Entry* entry = Find(key, false);
    Bad(*entry, entry->value, absl::StrCat("bad duration ", Quote(text), " (", why, ")"));
    return false;
  }
  *out = *value;
  return true;
}

}  // namespace sovereign::register_internal
