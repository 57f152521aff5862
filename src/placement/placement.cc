#include "sovereign/placement.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "decide_steps.h"
#include "sovereign/dataset_access.h"
#include "sovereign/residency.h"
#include "sovereign/did_you_mean.h"

namespace sovereign {
namespace {

using decide_internal::ChooseGreenStart;
using decide_internal::GridIntensity;
using decide_internal::GridIntensityOver;
using decide_internal::ListRegions;
using decide_internal::Quote;
using decide_internal::Reject;
using decide_internal::RejectNoCandidate;
using decide_internal::RejectRequestedOutside;
using decide_internal::Work;

// A job asking for more than this many GPUs or nodes is not a real request.
constexpr int kMaxGpus = 1000000;

// Step 1: the request's own figures and dataset names are within bounds. False when rejected.
bool CheckRequest(Work& w) {
  const JobRequest& req = w.req;
  const Policy& policy = w.reg.policy();
  if (req.gpus < 0 || req.gpus > kMaxGpus || req.nodes < 0 || req.nodes > kMaxGpus ||
      req.time_limit < absl::ZeroDuration()) {
    Reject(w.d, RejectCode::kInvalidRequest,
           absl::StrCat("invalid request: gpus=", req.gpus, ", nodes=", req.nodes,
                        ", time limit=", absl::FormatDuration(req.time_limit),
                        "; GPUs and nodes must be between 0 and ", kMaxGpus,
                        " and the time limit must not be negative"));
    return false;
  }
  for (const std::string& name : req.datasets) {
    if (name.size() > static_cast<size_t>(policy.max_label_bytes)) {
      Reject(w.d, RejectCode::kLabelTooLong,
             absl::StrCat("dataset name ", Quote(name), " is ", name.size(),
                          " bytes, longer than the limit of ", policy.max_label_bytes,
                          " bytes; check the --dataset value"));
      return false;
    }
  }
  return true;
}

// Step 2: the job's datasets, those it names and those its account implies, each found in the
// register. False when rejected.
bool ResolveDatasets(Work& w) {
  const JobRequest& req = w.req;
  const Policy& policy = w.reg.policy();
  std::vector<std::string>& labels = w.d.labels;
  labels = req.datasets;
  w.account = req.account.empty() ? nullptr : w.reg.FindAccount(req.account);
  const Account* account = w.account;
  if (account != nullptr) {
    labels.insert(labels.end(), account->datasets.begin(), account->datasets.end());
  }
  std::sort(labels.begin(), labels.end());
  labels.erase(std::unique(labels.begin(), labels.end()), labels.end());
  if (labels.size() > static_cast<size_t>(policy.max_labels)) {
    Reject(w.d, RejectCode::kTooManyLabels,
           absl::StrCat("the job touches ", labels.size(), " datasets",
                        account != nullptr && !account->datasets.empty()
                            ? absl::StrCat(" (including those of account ", account->name, ")")
                            : "",
                        "; the limit is ", policy.max_labels, "; split the work into several jobs"));
    return false;
  }
  w.datasets.reserve(labels.size());
  for (const std::string& name : labels) {
    const Dataset* ds = w.reg.FindDataset(name);
    if (ds == nullptr) {
      std::vector<std::string> known;
      known.reserve(w.reg.datasets().size());
      for (const Dataset& d : w.reg.datasets()) {
        known.push_back(d.name);
      }
      std::optional<std::string> close = ClosestMatch(name, known);
      Reject(w.d, RejectCode::kUnknownDataset,
             absl::StrCat("unknown dataset ", Quote(name),
                          close.has_value() ? absl::StrCat(" (did you mean \"", *close, "\"?)")
                                            : std::string(),
                          "; `sovereignctl datasets` lists the datasets you may use"));
      return false;
    }
    w.datasets.push_back(ds);
  }
  return true;
}

// Step 3: the user, or one of their groups, may use every dataset. False when rejected.
bool CheckAccess(Work& w) {
  const JobRequest& req = w.req;
  const Account* account = w.account;
  for (const Dataset* ds : w.datasets) {
    if (GrantOf(*ds, req.user, req.groups).by == DatasetGrant::kNone) {
      std::vector<std::string> who;
      if (!ds->groups.empty()) {
        who.push_back(absl::StrCat("groups: ", absl::StrJoin(ds->groups, ", ")));
      }
      if (!ds->users.empty()) {
        who.push_back(absl::StrCat("users: ", absl::StrJoin(ds->users, ", ")));
      }
      const std::string user =
          absl::StrCat("user ", req.user.empty() ? absl::StrCat("uid ", req.uid) : req.user);
      // A dataset the job did not declare came from its account: say so, or the researcher
      // is left wondering why a dataset they never named refuses their job.
      const bool declared =
          std::find(req.datasets.begin(), req.datasets.end(), ds->name) != req.datasets.end();
      if (!declared && account != nullptr) {
        Reject(w.d, RejectCode::kNotAuthorised,
               absl::StrCat("account ", account->name, " implies dataset ", ds->name,
                            ", which ", user, " may not use (allowed ", absl::StrJoin(who, "; "),
                            "); charge the job to another account (-A), or ask the data "
                            "steward to add you"));
        return false;
      }
      Reject(w.d, RejectCode::kNotAuthorised,
             absl::StrCat(user, " may not use dataset ", ds->name, " (allowed ",
                          absl::StrJoin(who, "; "), "); ask the data steward to add you"));
      return false;
    }
  }
  return true;
}

// Step 4: allowed regions and accepted operator jurisdictions. False when rejected.
bool ResolveRegions(Work& w) {
  const Register& reg = w.reg;
  w.residency = Residency::Of(w.datasets, reg);
  const size_t nregions = reg.regions().size();
  for (size_t r = 0; r < nregions; ++r) {
    if (w.residency->region_allowed(static_cast<int>(r))) {
      w.d.allowed_regions.push_back(reg.regions()[r].name);
    }
  }
  std::sort(w.d.allowed_regions.begin(), w.d.allowed_regions.end());

  if (!w.d.allowed_regions.empty()) {
    return true;
  }
  // Name the conflict: a pair of datasets with no region in common if there is one.
  auto describe = [](const Dataset* ds) {
    return absl::StrCat(ds->name, " (regions: ", absl::StrJoin(ds->regions, ", "), ")");
  };
  for (size_t a = 0; a < w.datasets.size(); ++a) {
    for (size_t b = a + 1; b < w.datasets.size(); ++b) {
      bool common = false;
      for (const std::string& r : w.datasets[a]->regions) {
        common = common || std::find(w.datasets[b]->regions.begin(), w.datasets[b]->regions.end(),
                                     r) != w.datasets[b]->regions.end();
      }
      if (!common) {
        Reject(w.d, RejectCode::kRegionConflict,
               absl::StrCat("datasets ", describe(w.datasets[a]), " and ",
                            describe(w.datasets[b]),
                            " have no region in common; submit them as separate jobs"));
        return false;
      }
    }
  }
  std::vector<std::string> all;
  for (const Dataset* ds : w.datasets) {
    all.push_back(describe(ds));
  }
  Reject(w.d, RejectCode::kRegionConflict,
         absl::StrCat("datasets ", absl::StrJoin(all, ", "),
                      " have no region in common; submit them as separate jobs"));
  return false;
}

// The partitions named with -p, as one flag per register partition (empty: the job named none).
std::vector<char> RequestedPartitions(const Work& w) {
  std::vector<char> requested;
  if (!w.req.partitions.empty()) {
    requested.assign(w.reg.partitions().size(), 0);
    for (const std::string& name : w.req.partitions) {
      int i = w.reg.PartitionIndex(name);
      if (i >= 0) {
        requested[i] = 1;
      }
    }
  }
  return requested;
}

// The job's size and cost on partition `c.partition`: nodes, GPUs per node, energy, CO2 and
// GPUs free. Returns the GPUs the job needs on each node.
int SizeAndCost(const Work& w, double hours, Candidate& c) {
  const JobRequest& request = w.req;
  const Register::PartitionFigures& f = w.reg.figures(c.partition);
  const ClusterView::Live& live = w.view.live(c.partition);
  // The hardware as Slurm reports it, where the view knows it: a register may promise more.
  const int gpn = live.present && live.gpus_per_node >= 0 ? live.gpus_per_node : f.gpus_per_node;
  c.gpus_per_node = gpn;
  int per_node;
  if (request.nodes > 0) {
    c.nodes = request.nodes;
    per_node = (request.gpus + request.nodes - 1) / request.nodes;
  } else {
    // One node in the common case; divide only for jobs larger than a node.
    c.nodes = request.gpus <= gpn || gpn == 0 ? 1 : (request.gpus + gpn - 1) / gpn;
    per_node = gpn == 0 ? request.gpus : std::min(request.gpus, gpn);  // 0: nodes without GPUs
  }
  c.gpu_watts = f.gpu_watts;
  if (live.gpu_watts >= 0) {
    c.gpu_watts = live.gpu_watts;
    c.power_from = w.view.status(c.partition).gpu_power->from;
    c.power_at = w.view.status(c.partition).gpu_power->at;
  }
  c.energy_kwh = (request.gpus * c.gpu_watts + c.nodes * f.node_watts) * hours * f.pue / 1000.0;
  c.jobs_per_kwh = c.energy_kwh > 0 ? 1.0 / c.energy_kwh : 0;
  const GridIntensity grid = GridIntensityOver(w, f, w.start);
  c.gco2_per_kwh = grid.gco2_per_kwh;
  c.carbon_covered = grid.covered;
  c.carbon_forecast = grid.forecast;
  c.carbon_basis = grid.basis;
  c.co2_grams = c.energy_kwh * c.gco2_per_kwh;
  c.free_gpus = live.present ? live.gpus_free : 0;
  return per_node;
}

// Why partition `c.partition` cannot take the job (residency first, then -p, then the
// cluster's state and size), or kEligible.
Exclusion ExclusionOf(const Work& w, const Candidate& c, SiteRule rule, bool not_requested,
                      int per_node) {
  if (rule == SiteRule::kRegion) {
    return Exclusion::kRegionNotAllowed;
  }
  if (rule == SiteRule::kJurisdiction) {
    return Exclusion::kJurisdictionNotAccepted;
  }
  if (not_requested) {
    return Exclusion::kNotRequested;
  }
  const ClusterView::Live& live = w.view.live(c.partition);
  if (!live.present) {
    return Exclusion::kNotInCluster;
  }
  if (!live.up) {
    return Exclusion::kNotUp;
  }
  if (!w.req.gpu_type.empty() && w.req.gpu_type != w.reg.partitions()[c.partition].gpu_type) {
    return Exclusion::kGpuTypeMismatch;
  }
  if (per_node > c.gpus_per_node) {
    return Exclusion::kTooFewGpusPerNode;
  }
  if (c.nodes > live.nodes_up) {
    return Exclusion::kTooFewNodes;
  }
  return Exclusion::kEligible;
}

// Step 5: every partition gets a row with its figures and why it is excluded, also when the
// regions conflict, so that explain can show what an excluded partition would have cost.
void JudgePartitions(Work& w, bool regions_ok) {
  const size_t n = w.reg.partitions().size();
  const std::vector<char> requested = RequestedPartitions(w);
  const double hours = absl::ToDoubleHours(w.run);
  w.d.candidates.resize(n);
  for (size_t i = 0; i < n; ++i) {
    Candidate& c = w.d.candidates[i];
    c.partition = static_cast<int>(i);
    const int per_node = SizeAndCost(w, hours, c);
    const SiteRule rule =
        regions_ok ? w.residency->site_rule(w.reg.figures(c.partition).site) : SiteRule::kRegion;
    c.exclusion = ExclusionOf(w, c, rule, !requested.empty() && !requested[i], per_node);
    if (c.exclusion != Exclusion::kRegionNotAllowed &&
        c.exclusion != Exclusion::kJurisdictionNotAccepted &&
        c.exclusion != Exclusion::kNotRequested) {
      w.any_requested_compliant = true;  // compliant and (if the user named partitions) requested
    }
    if (c.exclusion == Exclusion::kEligible) {
      ++w.eligible;
    }
  }
}

// An eligible partition's place in the ranking. A partition without the job's GPUs free now
// ranks after every one that has them: the job would queue there while a compliant partition
// could run it at once.
struct RankKey {
  bool busy;
  int64_t primary, secondary;
  int free_gpus;
  int index;
};

// The figure a policy objective minimises, as an integer at a fixed resolution (1e-9 kWh,
// 1e-6 g, 1e-9 of a mix score), so that figures equal up to rounding tie and the sort compares
// integers, not doubles with a tolerance. A mix score is energy_weight x kWh / least kWh +
// carbon_weight x g / least g, the least among the eligible partitions.
struct ObjectiveScale {
  Objective objective;
  double energy_weight = 0, carbon_weight = 0;
  double least_kwh = 0, least_grams = 0;

  int64_t Primary(const Candidate& c) const {
    switch (objective) {
      case Objective::kEnergy:
        return std::llround(c.energy_kwh * 1e9);
      case Objective::kCarbon:
        return std::llround(c.co2_grams * 1e6);
      case Objective::kMix:
        return std::llround(
            (energy_weight * (least_kwh > 0 ? c.energy_kwh / least_kwh : 0) +
             carbon_weight * (least_grams > 0 ? c.co2_grams / least_grams : 0)) *
            1e9);
    }
    return 0;
  }
  // Energy breaks a carbon or mix tie, CO2 an energy tie.
  int64_t Secondary(const Candidate& c) const {
    return objective == Objective::kEnergy ? std::llround(c.co2_grams * 1e6)
                                           : std::llround(c.energy_kwh * 1e9);
  }
};

ObjectiveScale ScaleOf(const Work& w) {
  const Policy& p = w.reg.policy();
  ObjectiveScale scale{p.objective, p.energy_weight, p.carbon_weight};
  bool first = true;
  for (const Candidate& c : w.d.candidates) {
    if (c.exclusion == Exclusion::kEligible) {
      scale.least_kwh = first ? c.energy_kwh : std::min(scale.least_kwh, c.energy_kwh);
      scale.least_grams = first ? c.co2_grams : std::min(scale.least_grams, c.co2_grams);
      first = false;
    }
  }
  return scale;
}

// What the ranking was by, for the reason: "energy", "carbon", "energy and carbon (1:3)".
std::string ObjectiveText(const Policy& p) {
  if (p.objective != Objective::kMix) {
    return std::string(ObjectiveName(p.objective));
  }
  return absl::StrCat("energy and carbon weighted ", EstimateText(p.energy_weight), ":",
                      EstimateText(p.carbon_weight));
}

// Step 8: rank the eligible partitions: GPUs free now, then the objective, the other figure,
// most free GPUs, register order. Sets each one's rank; returns them best first.
std::vector<RankKey> Rank(Work& w) {
  const ObjectiveScale scale = ScaleOf(w);
  std::vector<RankKey> order;
  order.reserve(w.eligible);
  for (size_t i = 0; i < w.d.candidates.size(); ++i) {
    const Candidate& c = w.d.candidates[i];
    if (c.exclusion == Exclusion::kEligible) {
      order.push_back({c.free_gpus < w.req.gpus, scale.Primary(c), scale.Secondary(c),
                       c.free_gpus, static_cast<int>(i)});
    }
  }
  std::sort(order.begin(), order.end(), [](const RankKey& x, const RankKey& y) {
    if (x.busy != y.busy) {
      return !x.busy;
    }
    if (x.primary != y.primary) {
      return x.primary < y.primary;
    }
    if (x.secondary != y.secondary) {
      return x.secondary < y.secondary;
    }
    if (x.free_gpus != y.free_gpus) {
      return x.free_gpus > y.free_gpus;
    }
    return x.index < y.index;
  });
  for (size_t r = 0; r < order.size(); ++r) {
    w.d.candidates[order[r].index].rank = static_cast<int>(r) + 1;
  }
  return order;
}

// Step 9: place the job on the best partition and say why it won.
void Choose(Work& w, const std::vector<RankKey>& order) {
  const Register& reg = w.reg;
  Decision& d = w.d;
  const Candidate& best = d.candidates[order[0].index];
  d.verdict = Verdict::kPlace;
  d.code = RejectCode::kNone;
  d.partition = best.partition;
  d.partition_name = reg.partitions()[best.partition].name;
  d.region = reg.regions()[reg.RegionOfPartition(best.partition)].name;
  d.reason = absl::StrFormat(
      "placed on %s (region %s): %s kWh, %s gCO2 estimated; best of %d compliant "
      "partition%s by %s",
      d.partition_name, d.region, EstimateText(best.energy_kwh), EstimateText(best.co2_grams),
      w.eligible, w.eligible == 1 ? "" : "s", ObjectiveText(reg.policy()));
  if (order[0].busy) {
    absl::StrAppend(&d.reason, "; none has ", w.req.gpus, " GPUs free now (", best.free_gpus,
                    " free here): the job waits in its queue");
  } else {
    // The most efficient partition, had its GPUs been free.
    const RankKey* efficient = &order[0];
    for (const RankKey& k : order) {
      if (k.primary < efficient->primary) {
        efficient = &k;
      }
    }
    if (efficient != &order[0]) {
      absl::StrAppend(&d.reason, " among those with ", w.req.gpus, " GPUs free now (",
                      reg.partitions()[efficient->index].name,
                      reg.policy().objective == Objective::kMix
                          ? absl::StrCat(" would score better by ", ObjectiveText(reg.policy()))
                          : absl::StrCat(" would use less ", ObjectiveText(reg.policy())),
                      " but has ", efficient->free_gpus,
                      " free)");
    }
  }
}

}  // namespace

std::string EstimateText(double value) {
  return value >= 100 ? absl::StrFormat("%.0f", value) : absl::StrFormat("%.3g", value);
}

std::string_view VerdictName(Verdict v) { return v == Verdict::kPlace ? "place" : "reject"; }

std::string_view RejectCodeName(RejectCode c) {
  switch (c) {
    case RejectCode::kNone:
      return "none";
    case RejectCode::kInvalidRequest:
      return "invalid_request";
    case RejectCode::kTooManyLabels:
      return "too_many_labels";
    case RejectCode::kLabelTooLong:
      return "label_too_long";
    case RejectCode::kUnknownDataset:
      return "unknown_dataset";
    case RejectCode::kUnknownAccount:
      return "unknown_account";
    case RejectCode::kNotAuthorised:
      return "not_authorised";
    case RejectCode::kRegionConflict:
      return "region_conflict";
    case RejectCode::kPartitionOutsideRegion:
      return "partition_outside_region";
    case RejectCode::kNoCandidate:
      return "no_candidate";
    case RejectCode::kModificationRefused:
      return "modification_refused";
    case RejectCode::kStartRefused:
      return "start_refused";
  }
  return "unknown";
}

std::string_view ExclusionName(Exclusion e) {
  switch (e) {
    case Exclusion::kEligible:
      return "eligible";
    case Exclusion::kRegionNotAllowed:
      return "region_not_allowed";
    case Exclusion::kJurisdictionNotAccepted:
      return "jurisdiction_not_accepted";
    case Exclusion::kNotRequested:
      return "not_requested";
    case Exclusion::kNotInCluster:
      return "not_in_cluster";
    case Exclusion::kNotUp:
      return "not_up";
    case Exclusion::kGpuTypeMismatch:
      return "gpu_type_mismatch";
    case Exclusion::kTooFewGpusPerNode:
      return "too_few_gpus_per_node";
    case Exclusion::kTooFewNodes:
      return "too_few_nodes";
  }
  return "unknown";
}

// The steps above, in order. A rejection ends the decision, except a region conflict: every
// partition still gets its row, for explain.
Decision Decide(const JobRequest& request, const ClusterView& view, const Register& reg,
                absl::Time now) {
  Decision d;
  d.decided_at = now;
  d.register_version = reg.version();
  Work w{request, view, reg, d, nullptr, {}, std::nullopt, 0, false};
  w.start = std::max(now, request.begin_time);
  w.run = request.time_limit > absl::ZeroDuration() ? request.time_limit
                                                    : reg.policy().default_time_limit;
  if (!CheckRequest(w) || !ResolveDatasets(w) || !CheckAccess(w)) {
    return d;
  }
  const bool regions_ok = ResolveRegions(w);
  JudgePartitions(w, regions_ok);
  if (!regions_ok || RejectRequestedOutside(w) || RejectNoCandidate(w)) {
    return d;
  }
  Choose(w, Rank(w));
  if (request.green_window > absl::ZeroDuration()) {
    ChooseGreenStart(w);
  }
  return d;
}

std::string DescribeExclusion(const Candidate& c, const Decision& d, const Register& reg,
                              const Residency* residency) {
  const Partition& p = reg.partitions()[c.partition];
  const Site& s = reg.sites()[reg.SiteOfPartition(c.partition)];
  switch (c.exclusion) {
    case Exclusion::kEligible:
      return c.rank == 1 ? "chosen" : absl::StrCat("eligible, ranked ", c.rank);
    case Exclusion::kRegionNotAllowed:
    case Exclusion::kJurisdictionNotAccepted: {
      // The labels of a decision are all in its register: only the rule can be asked here.
      std::optional<Residency> computed;
      if (residency == nullptr) {
        if (absl::StatusOr<Residency> r = Residency::OfNames(d.labels, reg); r.ok()) {
          computed = *std::move(r);
          residency = &*computed;
        }
      }
      if (residency != nullptr &&
          residency->site_rule(reg.SiteOfPartition(c.partition)) != SiteRule::kAllowed) {
        return residency->WhyNot(reg.SiteOfPartition(c.partition));
      }
      return absl::StrCat("site ", s.name, " is not allowed for ", absl::StrJoin(d.labels, ", "));
    }
    case Exclusion::kNotRequested:
      return "not among the partitions requested with -p";
    case Exclusion::kNotInCluster:
      return "not in the cluster view (not configured in Slurm?)";
    case Exclusion::kNotUp:
      return "partition is not up";
    case Exclusion::kGpuTypeMismatch:
      return absl::StrCat("has ", p.gpu_type, " GPUs, not the type requested");
    case Exclusion::kTooFewGpusPerNode:
      return absl::StrCat("has ", c.gpus_per_node, " GPUs per node, too few on ", c.nodes,
                          c.nodes == 1 ? " node" : " nodes");
    case Exclusion::kTooFewNodes:
      return absl::StrCat("job needs ", c.nodes, c.nodes == 1 ? " node" : " nodes",
                          ", fewer are up");
  }
  return "excluded";
}

}  // namespace sovereign
