#include "sovereign/register_diff.h"

#include <map>
#include <nlohmann/json.hpp>

namespace sovereign {
namespace {

using nlohmann::json;

std::string Dump(const json& value) {
  if (value.is_string()) {
    return value.get<std::string>();
  }
  return value.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::vector<FieldDiff> DiffFields(const json& from, const json& to) {
  std::vector<FieldDiff> fields;
  // json objects iterate in key order, so the fields come out sorted.
  for (auto it = from.begin(); it != from.end(); ++it) {
    auto other = to.find(it.key());
    if (other == to.end()) {
      fields.push_back({it.key(), Dump(it.value()), ""});
    } else if (*other != it.value()) {
      fields.push_back({it.key(), Dump(it.value()), Dump(*other)});
    }
  }
  for (auto it = to.begin(); it != to.end(); ++it) {
    if (!from.contains(it.key())) {
      fields.push_back({it.key(), "", Dump(it.value())});
    }
  }
  return fields;
}

std::map<std::string, json> ByName(const json& list) {
  std::map<std::string, json> out;
  if (list.is_array()) {
    for (const json& item : list) {
      json rest = item;
      std::string name = rest.value("name", "");
      rest.erase("name");
      out.emplace(std::move(name), std::move(rest));
    }
  }
  return out;
}

void DiffNamed(const std::string& kind, const json& from, const json& to,
               std::vector<ObjectDiff>* out) {
  std::map<std::string, json> a = ByName(from);
  std::map<std::string, json> b = ByName(to);
  for (const auto& [name, value] : a) {
    auto it = b.find(name);
    if (it == b.end()) {
      out->push_back({kind, name, ObjectDiff::Change::kRemoved, {}});
    } else if (it->second != value) {
      out->push_back({kind, name, ObjectDiff::Change::kChanged, DiffFields(value, it->second)});
    }
  }
  for (const auto& [name, value] : b) {
    if (a.find(name) == a.end()) {
      out->push_back({kind, name, ObjectDiff::Change::kAdded, {}});
    }
  }
}

}  // namespace

std::vector<ObjectDiff> DiffRegisters(const Register& from, const Register& to) {
  std::vector<ObjectDiff> out;
  if (from.version() == to.version()) {
    return out;
  }
  // The canonical form is produced by our own serialiser: parsing it cannot fail.
  json a = json::parse(from.canonical(), nullptr, false);
  json b = json::parse(to.canonical(), nullptr, false);
  if (a.is_discarded() || b.is_discarded()) {
    return out;
  }
  if (a["policy"] != b["policy"]) {
    out.push_back(
        {"policy", "", ObjectDiff::Change::kChanged, DiffFields(a["policy"], b["policy"])});
  }
  static const std::pair<const char*, const char*> kKinds[] = {
      {"regions", "region"},   {"sites", "site"},       {"partitions", "partition"},
      {"datasets", "dataset"}, {"accounts", "account"},
  };
  for (const auto& [key, kind] : kKinds) {
    DiffNamed(kind, a[key], b[key], &out);
  }
  return out;
}

}  // namespace sovereign
