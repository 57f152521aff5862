#include "sovereign/cluster.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace sovereign {
namespace {

using nlohmann::json;

// A partition's "gpu_power": {"watts_per_gpu": W, "from": "dcgm", "at": RFC 3339}, or with
// "from": "learned" and "jobs": N.
absl::StatusOr<MeasuredPower> ParseMeasuredPower(const json& j, const std::string& where) {
  auto bad = [&where](std::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": field \"gpu_power\": ", std::string(what)));
  };
  if (!j.is_object()) {
    return bad("expected an object {watts_per_gpu, from, at}");
  }
  MeasuredPower power;
  auto watts = j.find("watts_per_gpu");
  if (watts == j.end() || !watts->is_number() || !(watts->get<double>() >= 0) ||
      watts->get<double>() > 100000) {
    return bad("watts_per_gpu must be a number from 0 to 100000");
  }
  power.watts_per_gpu = watts->get<double>();
  const std::string from = j.value("from", "");
  if (from != "dcgm" && from != "learned") {
    return bad("from must be \"dcgm\" or \"learned\"");
  }
  power.from = from == "dcgm" ? PowerFrom::kDcgm : PowerFrom::kLearned;
  if (power.from == PowerFrom::kLearned) {
    auto jobs = j.find("jobs");
    if (jobs == j.end() || !jobs->is_number_integer() || jobs->get<int64_t>() < 1) {
      return bad("a learned figure needs jobs, a whole number from 1");
    }
    power.jobs = jobs->get<int64_t>();
  }
  std::string err;
  auto at = j.find("at");
  if (at == j.end() || !at->is_string() ||
      !absl::ParseTime(absl::RFC3339_full, at->get<std::string>(), &power.at, &err)) {
    return bad("at must be an RFC 3339 time");
  }
  return power;
}

}  // namespace

std::string_view PowerFromName(PowerFrom from) {
  switch (from) {
    case PowerFrom::kDcgm:
      return "dcgm";
    case PowerFrom::kLearned:
      return "learned";
    case PowerFrom::kRegister:
      break;
  }
  return "register";
}

std::string_view PartitionStateName(PartitionState s) {
  switch (s) {
    case PartitionState::kUp:
      return "up";
    case PartitionState::kDown:
      return "down";
    case PartitionState::kDrain:
      return "drain";
    case PartitionState::kInactive:
      return "inactive";
  }
  return "unknown";
}

// One entry of "carbon": {"site", "source", "basis", "points": [[time, gCO2/kWh, kind]]}.
absl::StatusOr<SiteCarbon> SiteCarbonFromJson(const json& j, const std::string& where) {
  const char* kShape =
      ": expected {\"site\": ..., \"source\": ..., \"basis\": \"location-based\" or "
      "\"market-based\", \"points\": [[time, gCO2/kWh, \"measured\" or \"forecast\"], ...]}";
  if (!j.is_object() || !j.contains("site") || !j["site"].is_string() || !j.contains("points") ||
      !j["points"].is_array() || (j.contains("source") && !j["source"].is_string()) ||
      (j.contains("basis") && !j["basis"].is_string())) {
    return absl::InvalidArgumentError(absl::StrCat(where, kShape));
  }
  SiteCarbon c;
  c.site = j["site"].get<std::string>();
  c.source = j.value("source", "");
  const std::string basis = j.value("basis", "location-based");
  if (basis != "location-based" && basis != "market-based") {
    return absl::InvalidArgumentError(absl::StrCat(where, kShape));
  }
  c.basis = basis == "market-based" ? CarbonBasis::kMarket : CarbonBasis::kLocation;
  std::vector<CarbonPoint> points;
  for (const json& p : j["points"]) {
    CarbonPoint point;
    std::string err;
    if (!p.is_array() || p.size() != 3 || !p[0].is_string() || !p[1].is_number() ||
        !p[2].is_string() ||
        !absl::ParseTime(absl::RFC3339_full, p[0].get<std::string>(), &point.at, &err) ||
        (p[2] != "measured" && p[2] != "forecast")) {
      return absl::InvalidArgumentError(absl::StrCat(where, kShape));
    }
    point.gco2_per_kwh = p[1].get<double>();
    point.forecast = p[2] == "forecast";
    points.push_back(point);
  }
  absl::StatusOr<CarbonSeries> series = CarbonSeries::FromPoints(std::move(points), c.site);
  if (!series.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(where, ": ", series.status().message()));
  }
  c.series = std::make_shared<const CarbonSeries>(*std::move(series));
  return c;
}

absl::StatusOr<ClusterSnapshot> ClusterSnapshot::FromJson(std::string_view text,
                                                          std::string_view source) {
  const std::string src(source);
  json doc = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) {
    return absl::InvalidArgumentError(absl::StrCat("cluster snapshot ", src, ": not valid JSON"));
  }
  if (!doc.is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cluster snapshot ", src, ": expected a JSON object at the top"));
  }
  ClusterSnapshot snap;
  if (auto it = doc.find("taken_at"); it != doc.end()) {
    std::string err;
    if (!it->is_string() ||
        !absl::ParseTime(absl::RFC3339_full, it->get<std::string>(), &snap.taken_at, &err)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster snapshot ", src,
                       ": field \"taken_at\": expected an RFC 3339 time such as "
                       "\"2026-11-22T10:00:00Z\", got ",
                       it->dump()));
    }
  }
  auto parts = doc.find("partitions");
  if (parts == doc.end() || !parts->is_array()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cluster snapshot ", src, ": field \"partitions\": expected a list of partitions"));
  }
  for (size_t i = 0; i < parts->size(); ++i) {
    const json& p = (*parts)[i];
    std::string where = absl::StrCat("cluster snapshot ", src, ": partitions[", i, "]");
    if (!p.is_object()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": expected an object"));
    }
    PartitionStatus s;
    auto name = p.find("name");
    if (name == p.end() || !name->is_string() || name->get<std::string>().empty()) {
      return absl::InvalidArgumentError(absl::StrCat(where, ": field \"name\": expected a name"));
    }
    s.name = name->get<std::string>();
    where = absl::StrCat("cluster snapshot ", src, ": partition \"", s.name, "\"");
    std::string state = "up";
    if (auto it = p.find("state"); it != p.end()) {
      if (!it->is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": field \"state\": expected a string, got ", it->dump()));
      }
      state = it->get<std::string>();
    }
    if (state == "up") {
      s.state = PartitionState::kUp;
    } else if (state == "down") {
      s.state = PartitionState::kDown;
    } else if (state == "drain") {
      s.state = PartitionState::kDrain;
    } else if (state == "inactive") {
      s.state = PartitionState::kInactive;
    } else {
      return absl::InvalidArgumentError(absl::StrCat(where, ": field \"state\": \"", state,
                                                     "\" is not one of up, down, drain, inactive"));
    }
    for (auto [key, field] : {std::pair<const char*, int*>{"nodes_up", &s.nodes_up},
                              {"gpus_total", &s.gpus_total},
                              {"gpus_free", &s.gpus_free}}) {
      auto it = p.find(key);
      if (it == p.end()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": field \"", key, "\" is missing"));
      }
      if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 10000000) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": field \"", key, "\": expected a whole number >= 0, got ", it->dump()));
      }
      *field = it->get<int>();
    }
    if (s.gpus_free > s.gpus_total) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": gpus_free (", s.gpus_free, ") is larger than gpus_total (", s.gpus_total, ")"));
    }
    if (auto it = p.find("current_watts"); it != p.end() && !it->is_null()) {
      if (!it->is_number() || it->get<double>() < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": field \"current_watts\": expected a number >= 0, got ", it->dump()));
      }
      s.current_watts = it->get<double>();
    }
    for (auto [key, field] :
         {std::pair<const char*, std::optional<int>*>{"gpus_per_node", &s.gpus_per_node},
          {"nodes_total", &s.nodes_total}}) {
      auto it = p.find(key);
      if (it == p.end() || it->is_null()) {
        continue;
      }
      if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 10000000) {
        return absl::InvalidArgumentError(absl::StrCat(
            where, ": field \"", key, "\": expected a whole number >= 0, got ", it->dump()));
      }
      *field = it->get<int>();
    }
    if (auto it = p.find("gpu_power"); it != p.end() && !it->is_null()) {
      absl::StatusOr<MeasuredPower> power = ParseMeasuredPower(*it, where);
      if (!power.ok()) {
        return power.status();
      }
      s.gpu_power = *power;
    }
    for (const auto& [key, value] : p.items()) {
      if (key != "name" && key != "state" && key != "nodes_up" && key != "gpus_total" &&
          key != "gpus_free" && key != "current_watts" && key != "gpus_per_node" &&
          key != "nodes_total" && key != "gpu_power") {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": unknown field \"", key,
                         "\" (known: name, state, nodes_up, gpus_total, gpus_free, "
                         "current_watts, gpus_per_node, nodes_total, gpu_power)"));
      }
    }
    snap.partitions.push_back(std::move(s));
  }
  if (auto nodes = doc.find("nodes"); nodes != doc.end()) {
    if (!nodes->is_array()) {
      return absl::InvalidArgumentError(
          absl::StrCat("cluster snapshot ", src, ": field \"nodes\": expected a list of nodes"));
    }
    for (size_t i = 0; i < nodes->size(); ++i) {
      const json& n = (*nodes)[i];
      NodeStatus node;
      auto strings = [](const json& j, const char* key, std::vector<std::string>* out) {
        auto it = j.find(key);
        if (it == j.end()) {
          return true;
        }
        if (!it->is_array()) {
          return false;
        }
        for (const json& v : *it) {
          if (!v.is_string()) {
            return false;
          }
          out->push_back(v.get<std::string>());
        }
        return true;
      };
      if (!n.is_object() || !n.contains("name") || !n["name"].is_string() ||
          !strings(n, "partitions", &node.partitions) || !strings(n, "features", &node.features)) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cluster snapshot ", src, ": nodes[", i,
            "]: expected {\"name\": ..., \"partitions\": [...], \"features\": [...]}"));
      }
      node.name = n["name"].get<std::string>();
      snap.nodes.push_back(std::move(node));
    }
  }
  if (auto carbon = doc.find("carbon"); carbon != doc.end()) {
    if (!carbon->is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cluster snapshot ", src, ": field \"carbon\": expected a list of site series"));
    }
    for (size_t i = 0; i < carbon->size(); ++i) {
      absl::StatusOr<SiteCarbon> site = SiteCarbonFromJson(
          (*carbon)[i], absl::StrCat("cluster snapshot ", src, ": carbon[", i, "]"));
      if (!site.ok()) {
        return site.status();
      }
      snap.carbon.push_back(*std::move(site));
    }
  }
  return snap;
}

absl::StatusOr<ClusterSnapshot> ClusterSnapshot::Load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cluster snapshot ", path, ": cannot be read"));
  }
  std::stringstream text;
  text << in.rdbuf();
  return FromJson(text.str(), path);
}

std::string ClusterSnapshot::ToJson() const {
  json parts = json::array();
  for (const PartitionStatus& s : partitions) {
    json p = {{"name", s.name},
              {"state", std::string(PartitionStateName(s.state))},
              {"nodes_up", s.nodes_up},
              {"gpus_total", s.gpus_total},
              {"gpus_free", s.gpus_free}};
    if (s.current_watts.has_value()) {
      p["current_watts"] = *s.current_watts;
    }
    if (s.gpus_per_node.has_value()) {
      p["gpus_per_node"] = *s.gpus_per_node;
    }
    if (s.nodes_total.has_value()) {
      p["nodes_total"] = *s.nodes_total;
    }
    if (s.gpu_power.has_value()) {
      p["gpu_power"] = {
          {"watts_per_gpu", s.gpu_power->watts_per_gpu},
          {"from", std::string(PowerFromName(s.gpu_power->from))},
          {"at", absl::FormatTime(absl::RFC3339_full, s.gpu_power->at, absl::UTCTimeZone())}};
      if (s.gpu_power->from == PowerFrom::kLearned) {
        p["gpu_power"]["jobs"] = s.gpu_power->jobs;
      }
    }
    parts.push_back(std::move(p));
  }
  json doc = {{"partitions", std::move(parts)}};
  if (!nodes.empty()) {
    json list = json::array();
    for (const NodeStatus& n : nodes) {
      list.push_back({{"name", n.name}, {"partitions", n.partitions}, {"features", n.features}});
    }
    doc["nodes"] = std::move(list);
  }
  if (!carbon.empty()) {
    json list = json::array();
    for (const SiteCarbon& c : carbon) {
      json points = json::array();
      for (const CarbonPoint& p : c.series->points()) {
        points.push_back({absl::FormatTime(absl::RFC3339_full, p.at, absl::UTCTimeZone()),
                          p.gco2_per_kwh, p.forecast ? "forecast" : "measured"});
      }
      list.push_back({{"site", c.site},
                      {"source", c.source},
                      {"basis", std::string(CarbonBasisName(c.basis))},
                      {"points", std::move(points)}});
    }
    doc["carbon"] = std::move(list);
  }
  if (taken_at != absl::InfinitePast()) {
    doc["taken_at"] = absl::FormatTime(absl::RFC3339_full, taken_at, absl::UTCTimeZone());
  }
  return doc.dump();
}

ClusterView ClusterView::Bind(const ClusterSnapshot& snapshot, const Register& reg) {
  ClusterView view;
  view.taken_at_ = snapshot.taken_at;
  view.statuses_.resize(reg.partitions().size());
  view.present_.assign(reg.partitions().size(), false);
  for (const PartitionStatus& s : snapshot.partitions) {
    int i = reg.PartitionIndex(s.name);
    if (i >= 0) {
      view.statuses_[i] = s;
      view.present_[i] = true;
    }
  }
  for (const SiteCarbon& c : snapshot.carbon) {
    const Site* site = reg.FindSite(c.site);
    if (site != nullptr && c.series != nullptr) {
      view.carbon_.resize(reg.sites().size());
      view.carbon_[site - reg.sites().data()] = {c.series, c.basis};
    }
  }
  view.Pack();
  return view;
}

void ClusterView::Pack() {
  live_.resize(statuses_.size());
  for (size_t i = 0; i < statuses_.size(); ++i) {
    live_[i] = {present_[i] != 0,
                statuses_[i].state == PartitionState::kUp,
                statuses_[i].nodes_up,
                statuses_[i].gpus_free,
                statuses_[i].gpus_per_node.value_or(-1),
                statuses_[i].gpu_power.has_value() ? statuses_[i].gpu_power->watts_per_gpu : -1};
  }
}

ClusterView ClusterView::AllUp(const Register& reg) {
  ClusterView view;
  view.statuses_.reserve(reg.partitions().size());
  for (const Partition& p : reg.partitions()) {
    PartitionStatus s;
    s.name = p.name;
    s.nodes_up = p.nodes;
    s.gpus_total = p.nodes * p.gpus_per_node;
    s.gpus_free = s.gpus_total;
    view.statuses_.push_back(std::move(s));
  }
  view.present_.assign(reg.partitions().size(), true);
  view.Pack();
  return view;
}

}  // namespace sovereign
