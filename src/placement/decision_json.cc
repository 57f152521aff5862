#include "sovereign/decision_json.h"

#include <cmath>

namespace sovereign {
namespace {

using nlohmann::json;

double Round4(double v) { return std::isfinite(v) ? std::round(v * 1e4) / 1e4 : 0.0; }

std::string TimeText(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace

json JobRequestToJson(const JobRequest& r) {
  return json{{"user", r.user},
              {"uid", r.uid},
              {"groups", r.groups},
              {"account", r.account},
              {"datasets", r.datasets},
              {"partitions", r.partitions},
              {"gpus", r.gpus},
              {"gpu_type", r.gpu_type},
              {"nodes", r.nodes},
              {"time_limit_seconds", absl::ToInt64Seconds(r.time_limit)},
              {"submit_time", TimeText(r.submit_time)}};
}

json DecisionToJson(const Decision& d, const JobRequest& request, const Register& reg) {
  json candidates = json::array();
  for (const Candidate& c : d.candidates) {
    if (c.partition < 0 || static_cast<size_t>(c.partition) >= reg.partitions().size()) {
      continue;  // not from this register
    }
    const Partition& p = reg.partitions()[c.partition];
    const Site& s = reg.sites()[reg.SiteOfPartition(c.partition)];
    std::string status = c.exclusion != Exclusion::kEligible ? "excluded"
                         : c.rank == 1                       ? "chosen"
                                                             : "eligible";
    json& j = candidates.emplace_back(json::object());
    j["partition"] = p.name;
    j["site"] = s.name;
    j["region"] = s.region;
    j["gpu_type"] = p.gpu_type;
    j["status"] = std::move(status);
    j["exclusion"] = std::string(ExclusionName(c.exclusion));
    j["why"] = DescribeExclusion(c, d, reg);
    j["rank"] = c.rank;
    j["nodes"] = c.nodes;
    j["energy_kwh"] = Round4(c.energy_kwh);
    j["jobs_per_kwh"] = Round4(c.jobs_per_kwh);
    j["co2_grams"] = Round4(c.co2_grams);
    j["free_gpus"] = c.free_gpus;
  }
  return json{{"request", JobRequestToJson(request)},
              {"verdict", std::string(VerdictName(d.verdict))},
              {"code", std::string(RejectCodeName(d.code))},
              {"reason", d.reason},
              {"partition", d.partition_name},
              {"region", d.region},
              {"labels", d.labels},
              {"allowed_regions", d.allowed_regions},
              {"register_version", d.register_version},
              {"decided_at", TimeText(d.decided_at)},
              {"candidates", std::move(candidates)}};
}

}  // namespace sovereign
