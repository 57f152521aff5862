// The canonical form of a register; its SHA-256 (sovereign/digest.h) is the register's version.
//
// Everything an admin writes that carries meaning goes in, including free text shown to
// auditors (descriptions, legal bases); nothing that is only presentation does (key order,
// list order of named objects and of set-like lists, comments, formatting, source locations).
#include <algorithm>
#include <nlohmann/json.hpp>

#include "absl/time/time.h"
#include "register_internal.h"

namespace sovereign::register_internal {
namespace {

using nlohmann::json;

// Sorted and de-duplicated: the order and repetition of these lists mean nothing.
json Set(std::vector<std::string> items) {
  std::sort(items.begin(), items.end());
  items.erase(std::unique(items.begin(), items.end()), items.end());
  return json(std::move(items));
}

// -0.0 and 0.0 mean the same figure.
double Number(double value) { return value + 0.0; }

// Objects sorted by name. Names are unique in a valid register; ties keep a stable order.
template <typename T, typename F>
json SortedByName(const std::vector<T>& items, F&& to_json) {
  std::vector<const T*> sorted;
  sorted.reserve(items.size());
  for (const T& item : items) {
    sorted.push_back(&item);
  }
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const T* a, const T* b) { return a->name < b->name; });
  json out = json::array();
  for (const T* item : sorted) {
    out.push_back(to_json(*item));
  }
  return out;
}

std::string_view UnlabelledName(UnlabelledRule rule) {
  return rule == UnlabelledRule::kDefaultRegion ? "default-region" : "any-region";
}

}  // namespace

std::string Canonicalize(const Parts& parts) {
  const Policy& p = parts.policy;
  json root;
  root["policy"] = {
      {"unlabelled", UnlabelledName(p.unlabelled)},
      {"default_region", p.default_region},
      {"max_labels", p.max_labels},
      {"max_label_bytes", p.max_label_bytes},
      {"objective", ObjectiveName(p.objective)},
      {"default_time_limit_seconds", absl::ToInt64Seconds(p.default_time_limit)},
  };
  // Added after the first registers were applied: written only when they differ from the
  // defaults, so that a register that does not set them keeps its version.
  const Policy defaults;
  if (p.objective == Objective::kMix) {
    root["policy"]["energy_weight"] = Number(p.energy_weight);
    root["policy"]["carbon_weight"] = Number(p.carbon_weight);
  }
  if (p.green_min_saving != defaults.green_min_saving) {
    root["policy"]["green_min_saving"] = Number(p.green_min_saving);
  }
  if (p.green_max_window != defaults.green_max_window) {
    root["policy"]["green_max_window_seconds"] = absl::ToInt64Seconds(p.green_max_window);
  }
  if (p.learned_energy_min_jobs != defaults.learned_energy_min_jobs) {
    root["policy"]["learned_energy_min_jobs"] = p.learned_energy_min_jobs;
  }
  root["regions"] = SortedByName(parts.regions, [](const Region& r) {
    return json{{"name", r.name}, {"description", r.description}, {"law", r.law}};
  });
  root["sites"] = SortedByName(parts.sites, [](const Site& s) {
    return json{{"name", s.name},
                {"region", s.region},
                {"country", s.country},
                {"operator", s.operator_name},
                {"operator_jurisdiction", s.operator_jurisdiction},
                {"pue", Number(s.pue)},
                {"carbon_intensity", Number(s.carbon_intensity)}};
  });
  root["partitions"] = SortedByName(parts.partitions, [](const Partition& p) {
    return json{{"name", p.name},
                {"site", p.site},
                {"gpu_model", p.gpu_model},
                {"gpu_type", p.gpu_type},
                {"gpus_per_node", p.gpus_per_node},
                {"nodes", p.nodes},
                {"gpu_watts", Number(p.gpu_watts)},
                {"gpu_idle_watts", Number(p.gpu_idle_watts)},
                {"node_watts", Number(p.node_watts)}};
  });
  root["datasets"] = SortedByName(parts.datasets, [](const Dataset& d) {
    return json{{"name", d.name},
                {"classification", ClassificationName(d.classification)},
                {"regions", Set(d.regions)},
                {"jurisdictions", Set(d.jurisdictions)},
                {"groups", Set(d.groups)},
                {"users", Set(d.users)},
                {"legal_basis", d.legal_basis}};
  });
  root["accounts"] = SortedByName(parts.accounts, [](const Account& a) {
    return json{{"name", a.name}, {"datasets", Set(a.datasets)}};
  });
  // Invalid UTF-8 in free text is replaced rather than thrown on: dump() must not throw.
  return root.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace sovereign::register_internal
