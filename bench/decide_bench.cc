// Decide() against synthetic registers of 10 to 10,000 partitions and 10,000 datasets.
//
// Reported as ratios: BM_Baseline walks the same partitions doing the energy arithmetic only
// (the least any placement must do), so Decide/Baseline at the same size says what the rules,
// the ranking and the reason cost on top, independent of how loaded the machine is.
//
// BM_DecisionJson/{text,tree} render one decision on the example register (the audit record's
// body): written directly, and as a JSON tree dumped, beside BM_DecideExample, the decision.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "sovereign/decision_json.h"
#include "sovereign/placement.h"

namespace sovereign {
namespace {

constexpr int kDatasets = 10000;
constexpr int kRegions = 8;

std::shared_ptr<const Register> Synthetic(int partitions) {
  std::vector<Region> regions;
  for (int r = 0; r < kRegions; ++r) {
    regions.push_back({absl::StrCat("region-", r), "", "", {}});
  }
  std::vector<Site> sites;
  for (int s = 0; s < std::max(kRegions, partitions / 4); ++s) {
    sites.push_back({absl::StrCat("site-", s), absl::StrCat("region-", s % kRegions), "FR",
                     "operator", s % 5 == 0 ? "US" : "EU", 1.1 + 0.01 * (s % 40),
                     30.0 + 10 * (s % 60), {}});
  }
  std::vector<Partition> parts;
  for (int p = 0; p < partitions; ++p) {
    parts.push_back({absl::StrCat("gpu-", p), sites[p % sites.size()].name, "H100",
                     p % 3 == 0 ? "a100" : "h100", 8, 4 + p % 16, 400.0 + 100 * (p % 4), 50,
                     1000.0 + p % 7 * 50, {}});
  }
  std::vector<Dataset> datasets;
  for (int d = 0; d < kDatasets; ++d) {
    Dataset ds;
    ds.name = absl::StrCat("dataset-", d);
    ds.regions = {absl::StrCat("region-", d % kRegions), absl::StrCat("region-", (d + 1) % kRegions)};
    if (d % 2 == 0) {
      ds.jurisdictions = {"EU"};
    }
    ds.groups = {absl::StrCat("group-", d % 50)};
    datasets.push_back(std::move(ds));
  }
  std::vector<Account> accounts = {{"research", {"dataset-1"}, {}}};
  auto reg = Register::FromParts(Policy{}, regions, sites, parts, datasets, accounts);
  if (!reg.ok()) {
    std::abort();
  }
  return *reg;
}

JobRequest Request() {
  JobRequest r;
  r.user = "alice";
  r.uid = 1000;
  r.groups = {"alice", "group-0", "group-1", "group-2"};
  r.account = "research";
  r.datasets = {"dataset-2"};  // with the account's dataset-1: regions 1..3 ∩ 2..3 = region-2
  r.gpus = 4;
  r.gpu_type = "h100";
  r.time_limit = absl::Hours(2);
  return r;
}

void BM_Decide(benchmark::State& state) {
  auto reg = Synthetic(static_cast<int>(state.range(0)));
  ClusterView view = ClusterView::AllUp(*reg);
  JobRequest req = Request();
  absl::Time now = absl::FromUnixSeconds(1795000000);
  for (auto _ : state) {
    Decision d = Decide(req, view, *reg, now);
    benchmark::DoNotOptimize(d);
    if (d.verdict != Verdict::kPlace) {
      state.SkipWithError("benchmark request was not placed");
      break;
    }
  }
  state.SetComplexityN(state.range(0));
  state.counters["partitions"] = static_cast<double>(state.range(0));
}
BENCHMARK(BM_Decide)->RangeMultiplier(10)->Range(10, 10000)->Complexity(benchmark::oN);

void BM_Baseline(benchmark::State& state) {
  auto reg = Synthetic(static_cast<int>(state.range(0)));
  JobRequest req = Request();
  for (auto _ : state) {
    double best = 1e300;
    for (size_t i = 0; i < reg->partitions().size(); ++i) {
      const Partition& p = reg->partitions()[i];
      const Site& s = reg->sites()[reg->SiteOfPartition(static_cast<int>(i))];
      double kwh = (req.gpus * p.gpu_watts + p.node_watts) * 2.0 * s.pue / 1000.0;
      best = std::min(best, kwh);
    }
    benchmark::DoNotOptimize(best);
  }
  state.SetComplexityN(state.range(0));
}
BENCHMARK(BM_Baseline)->RangeMultiplier(10)->Range(10, 10000)->Complexity(benchmark::oN);

// An unknown dataset: the refusal path with its "did you mean" search over 10,000 names.
void BM_DecideUnknownDataset(benchmark::State& state) {
  auto reg = Synthetic(1000);
  ClusterView view = ClusterView::AllUp(*reg);
  JobRequest req = Request();
  req.datasets = {"datset-2"};
  for (auto _ : state) {
    benchmark::DoNotOptimize(Decide(req, view, *reg, absl::UnixEpoch()));
  }
}
BENCHMARK(BM_DecideUnknownDataset);

// The example register and a request that sees all its five partitions as candidates.
struct Example {
  std::shared_ptr<const Register> reg = *Register::Load(SOVEREIGN_SOURCE_DIR
                                                        "/config/register.example.yaml");
  ClusterView view = ClusterView::AllUp(*reg);
  JobRequest req = [] {
    JobRequest r;
    r.user = "alice";
    r.uid = 2001;
    r.groups = {"oncology"};
    r.account = "oncology";
    r.datasets = {"patients-eu"};
    r.gpus = 8;
    return r;
  }();
};

void BM_DecideExample(benchmark::State& state) {
  Example e;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Decide(e.req, e.view, *e.reg, absl::UnixEpoch()));
  }
}
BENCHMARK(BM_DecideExample);

void BM_DecisionJson(benchmark::State& state) {
  Example e;
  Decision d = Decide(e.req, e.view, *e.reg, absl::UnixEpoch());
  const bool tree = state.range(0) == 1;
  state.SetLabel(tree ? "tree" : "text");
  for (auto _ : state) {
    if (tree) {
      benchmark::DoNotOptimize(nlohmann::json::parse(DecisionJsonText(d, e.req, *e.reg)).dump());
    } else {
      benchmark::DoNotOptimize(DecisionJsonText(d, e.req, *e.reg));
    }
  }
}
BENCHMARK(BM_DecisionJson)->Arg(0)->Arg(1);

}  // namespace
}  // namespace sovereign

BENCHMARK_MAIN();
