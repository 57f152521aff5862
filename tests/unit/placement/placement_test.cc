#include "sovereign/placement.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sovereign/decision_json.h"

namespace sovereign {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const absl::Time kNow = absl::FromUnixSeconds(1795000000);

std::shared_ptr<const Register> Example(std::string_view patch_from = "",
                                        std::string_view patch_to = "") {
  auto reg = Register::Load(std::string(SOVEREIGN_SOURCE_DIR) + "/config/register.example.yaml");
  EXPECT_TRUE(reg.ok()) << reg.status();
  if (patch_from.empty()) {
    return *reg;
  }
  std::ifstream in(std::string(SOVEREIGN_SOURCE_DIR) + "/config/register.example.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  size_t at = text.find(patch_from);
  EXPECT_NE(at, std::string::npos) << patch_from;
  text.replace(at, patch_from.size(), patch_to);
  auto patched = Register::Parse(text, "patched.yaml");
  EXPECT_TRUE(patched.ok()) << patched.status();
  return *patched;
}

JobRequest Job(std::vector<std::string> datasets, int gpus = 2,
               std::vector<std::string> groups = {"alice", "oncology", "fintech", "genomics"}) {
  JobRequest r;
  r.user = "alice";
  r.uid = 1000;
  r.groups = std::move(groups);
  r.datasets = std::move(datasets);
  r.gpus = gpus;
  r.time_limit = absl::Hours(2);
  r.submit_time = kNow;
  return r;
}

const Candidate& Row(const Decision& d, const Register& reg, std::string_view name) {
  return d.candidates.at(reg.PartitionIndex(name));
}

class PlacementTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Register> reg_ = Example();
  ClusterView view_ = ClusterView::AllUp(*reg_);
  Decision Run(const JobRequest& r) { return Decide(r, view_, *reg_, kNow); }
};

TEST_F(PlacementTest, EuPatientDataLandsOnTheMostEfficientEuPartition) {
  Decision d = Run(Job({"patients-eu"}));
  EXPECT_EQ(d.verdict, Verdict::kPlace);
  EXPECT_EQ(d.code, RejectCode::kNone);
  EXPECT_EQ(d.partition_name, "gpu-fr-a100");
  EXPECT_EQ(d.region, "eu");
  EXPECT_THAT(d.labels, ElementsAre("patients-eu"));
  EXPECT_THAT(d.allowed_regions, ElementsAre("eu"));
  EXPECT_EQ(d.register_version, reg_->version());
  EXPECT_EQ(d.decided_at, kNow);
  EXPECT_EQ(d.reason,
            "placed on gpu-fr-a100 (region eu): 4.94 kWh, 153 gCO2 estimated; best of 2 "
            "compliant partitions by energy");
  // (2 x 400 W + 1 x 1100 W) x 2 h x PUE 1.3 = 4.94 kWh; x 31 g/kWh = 153.14 g.
  const Candidate& fr = Row(d, *reg_, "gpu-fr-a100");
  EXPECT_NEAR(fr.energy_kwh, 4.94, 1e-9);
  EXPECT_NEAR(fr.co2_grams, 153.14, 1e-9);
  EXPECT_NEAR(fr.jobs_per_kwh, 1 / 4.94, 1e-12);
  EXPECT_EQ(fr.rank, 1);
  EXPECT_EQ(fr.nodes, 1);
  const Candidate& de = Row(d, *reg_, "gpu-de-h100");
  EXPECT_EQ(de.exclusion, Exclusion::kEligible);
  EXPECT_EQ(de.rank, 2);
  EXPECT_NEAR(de.energy_kwh, 6.72, 1e-9);
  EXPECT_EQ(Row(d, *reg_, "gpu-de-cloud-h100").exclusion, Exclusion::kJurisdictionNotAccepted);
  EXPECT_EQ(Row(d, *reg_, "gpu-us-h100").exclusion, Exclusion::kRegionNotAllowed);
  EXPECT_EQ(Row(d, *reg_, "gpu-in-l40s").exclusion, Exclusion::kRegionNotAllowed);
  EXPECT_EQ(DescribeExclusion(Row(d, *reg_, "gpu-us-h100"), d, *reg_),
            "region us is not allowed for patients-eu");
  EXPECT_EQ(DescribeExclusion(Row(d, *reg_, "gpu-de-cloud-h100"), d, *reg_),
            "operator Example Cloud Inc. (Frankfurt region) is under US jurisdiction, not "
            "accepted for patients-eu");
  EXPECT_EQ(DescribeExclusion(de, d, *reg_), "eligible, ranked 2");
  EXPECT_EQ(DescribeExclusion(fr, d, *reg_), "chosen");
}

TEST_F(PlacementTest, ReasonGivesLargeEstimatesWithoutExponent) {
  JobRequest r = Job({"imagenet-public"}, 8);
  r.time_limit = absl::Hours(4);
  // (8 x 350 W + 1 x 800 W) x 4 h x PUE 1.5 = 21.6 kWh; x 593 g/kWh = 12808.8 g.
  EXPECT_EQ(Run(r).reason,
            "placed on gpu-in-l40s (region in): 21.6 kWh, 12809 gCO2 estimated; best of 5 "
            "compliant partitions by energy");
}

TEST_F(PlacementTest, AccountImpliesItsDatasets) {
  JobRequest r = Job({});
  r.account = "fintech-in";
  Decision d = Run(r);
  EXPECT_EQ(d.partition_name, "gpu-in-l40s");
  EXPECT_THAT(d.labels, ElementsAre("finance-in"));
}

TEST_F(PlacementTest, ObjectiveDecidesBetweenEnergyAndCarbon) {
  // Public data may go anywhere: L40S in India uses the least energy, France the least CO2.
  Decision energy = Run(Job({"imagenet-public"}));
  EXPECT_EQ(energy.partition_name, "gpu-in-l40s");
  EXPECT_NEAR(Row(energy, *reg_, "gpu-in-l40s").energy_kwh, 4.5, 1e-9);
  auto carbon_reg = Example("objective: energy", "objective: carbon");
  Decision carbon = Decide(Job({"imagenet-public"}), ClusterView::AllUp(*carbon_reg), *carbon_reg, kNow);
  EXPECT_EQ(carbon.partition_name, "gpu-fr-a100");
  EXPECT_THAT(carbon.reason, ::testing::EndsWith("best of 5 compliant partitions by carbon"));
}

TEST_F(PlacementTest, TiesGoToTheOtherFigureThenFreeGpusThenRegisterOrder) {
  // gpu-de-h100 and gpu-de-cloud-h100 differ only in PUE and operator; make them equal.
  auto reg = Example("    pue: 1.15                    # hyperscaler fleet average",
                     "    pue: 1.12");
  ClusterSnapshot snap;
  for (const Partition& p : reg->partitions()) {
    snap.partitions.push_back({p.name, PartitionState::kUp, p.nodes, p.nodes * 8, 10, {}, {}, {}});
  }
  snap.partitions[2].gpus_free = 20;  // gpu-de-cloud-h100
  JobRequest r = Job({"genomics-eu-us"});
  r.gpu_type = "h100";
  Decision d = Decide(r, ClusterView::Bind(snap, *reg), *reg, kNow);
  EXPECT_EQ(d.partition_name, "gpu-de-cloud-h100");  // same kWh and CO2, more free GPUs
  snap.partitions[2].gpus_free = 10;
  d = Decide(r, ClusterView::Bind(snap, *reg), *reg, kNow);
  EXPECT_EQ(d.partition_name, "gpu-de-h100");  // full tie: register order
  // The US partition ranks after both on energy (PUE 1.35).
  EXPECT_EQ(Row(d, *reg, "gpu-us-h100").rank, 3);
}

TEST_F(PlacementTest, APartitionWithoutTheGpusFreeLosesToOneThatHasThem) {
  ClusterSnapshot snap;
  for (const Partition& p : reg_->partitions()) {
    snap.partitions.push_back({p.name, PartitionState::kUp, p.nodes, p.nodes * 8, 16, {}, {}, {}});
  }
  snap.partitions[0].gpus_free = 0;  // gpu-fr-a100: the least energy, every GPU allocated
  Decision d = Decide(Job({"patients-eu"}), ClusterView::Bind(snap, *reg_), *reg_, kNow);
  EXPECT_EQ(d.partition_name, "gpu-de-h100");
  EXPECT_EQ(Row(d, *reg_, "gpu-fr-a100").rank, 2);
  EXPECT_THAT(d.reason, ::testing::EndsWith(
                            "best of 2 compliant partitions by energy among those with 2 GPUs "
                            "free now (gpu-fr-a100 would use less energy but has 0 free)"));
  // When none has them free, the most efficient wins anyway, and the reason says the job waits.
  snap.partitions[1].gpus_free = 1;  // gpu-de-h100
  d = Decide(Job({"patients-eu"}), ClusterView::Bind(snap, *reg_), *reg_, kNow);
  EXPECT_EQ(d.partition_name, "gpu-fr-a100");
  EXPECT_THAT(d.reason, ::testing::EndsWith(
                            "by energy; none has 2 GPUs free now (0 free here): the job waits in "
                            "its queue"));
}

TEST_F(PlacementTest, RequestedPartitionOutsideTheRegionIsRefusedNamingTheCompliantOnes) {
  JobRequest r = Job({"patients-eu"});
  r.partitions = {"gpu-us-h100"};
  Decision d = Run(r);
  EXPECT_EQ(d.verdict, Verdict::kReject);
  EXPECT_EQ(d.code, RejectCode::kPartitionOutsideRegion);
  EXPECT_EQ(d.reason,
            "dataset patients-eu may only be processed in region eu; partitions you may use: "
            "gpu-de-h100, gpu-fr-a100");
  EXPECT_EQ(d.partition, -1);
  EXPECT_EQ(d.candidates.size(), reg_->partitions().size());
}

TEST_F(PlacementTest, RequestedPartitionRefusedForItsOperatorSaysSo) {
  // gpu-de-cloud-h100 is in region eu, but its operator answers to US law.
  JobRequest r = Job({"patients-eu"});
  r.partitions = {"gpu-de-cloud-h100"};
  Decision d = Run(r);
  EXPECT_EQ(d.code, RejectCode::kPartitionOutsideRegion);
  EXPECT_EQ(d.reason,
            "partition gpu-de-cloud-h100: operator Example Cloud Inc. (Frankfurt region) is under "
            "US jurisdiction, not accepted for patients-eu; partitions you may use: gpu-de-h100, "
            "gpu-fr-a100");
  r.partitions = {"gpu-de-cloud-h100", "gpu-xx"};
  EXPECT_EQ(Run(r).reason,
            "partition gpu-de-cloud-h100: operator Example Cloud Inc. (Frankfurt region) is under "
            "US jurisdiction, not accepted for patients-eu; partition gpu-xx is not in the "
            "sovereignty register; partitions you may use: gpu-de-h100, gpu-fr-a100");
  // With a partition outside the region among those asked for, the residency rule is the answer.
  r.partitions = {"gpu-de-cloud-h100", "gpu-us-h100"};
  EXPECT_EQ(Run(r).reason,
            "dataset patients-eu may only be processed in region eu; partitions you may use: "
            "gpu-de-h100, gpu-fr-a100");
}

TEST_F(PlacementTest, OnlyPartitionsThatAreDownAdviseWaitingNotResizing) {
  ClusterSnapshot snap;
  snap.partitions = {{"gpu-fr-a100", PartitionState::kDrain, 16, 128, 0, {}, {}, {}},
                     {"gpu-de-h100", PartitionState::kDown, 0, 0, 0, {}, {}, {}}};
  Decision d = Decide(Job({"patients-eu"}), ClusterView::Bind(snap, *reg_), *reg_, kNow);
  EXPECT_EQ(d.code, RejectCode::kNoCandidate);
  EXPECT_EQ(d.reason,
            "no compliant partition can run this job now (gpu-fr-a100: partition is not up; "
            "gpu-de-h100: partition is not up); try again when one of them is up, or ask your "
            "cluster admins");
}

TEST_F(PlacementTest, RequestedPartitionInsideTheRegionIsHonoured) {
  JobRequest r = Job({"patients-eu"});
  r.partitions = {"gpu-us-h100", "gpu-de-h100"};
  Decision d = Run(r);
  EXPECT_EQ(d.partition_name, "gpu-de-h100");
  EXPECT_EQ(Row(d, *reg_, "gpu-fr-a100").exclusion, Exclusion::kNotRequested);
  EXPECT_EQ(DescribeExclusion(Row(d, *reg_, "gpu-fr-a100"), d, *reg_),
            "not among the partitions requested with -p");
}

TEST_F(PlacementTest, UnknownRequestedPartition) {
  JobRequest r = Job({"patients-eu"});
  r.partitions = {"gpu-xx"};
  EXPECT_EQ(Run(r).reason,
            "partition gpu-xx is not in the sovereignty register; partitions you may use: "
            "gpu-de-h100, gpu-fr-a100");
}

// A job may name any number of partitions, of any bytes: the refusal lists a few, each plain
// name as written and any other quoted and cut, and counts the rest.
TEST_F(PlacementTest, ManyOrHostileUnknownPartitionsAreListedBriefly) {
  JobRequest r = Job({"patients-eu"});
  for (int i = 0; i < 10000; ++i) {
    r.partitions.push_back(absl::StrCat("p", i));
  }
  EXPECT_EQ(Run(r).reason,
            "partitions p0, p1, p2, p3, p4 and 9995 more are not in the sovereignty register; "
            "partitions you may use: gpu-de-h100, gpu-fr-a100");
  r.partitions = {"gpu\x01\n", std::string(100, 'q')};
  EXPECT_EQ(Run(r).reason,
            "partitions \"gpu\\x01\\x0a\", \"qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq...\" are not in "
            "the sovereignty register; partitions you may use: gpu-de-h100, gpu-fr-a100");
}

TEST_F(PlacementTest, UnknownDatasetSuggestsTheClosest) {
  Decision d = Run(Job({"patiens-eu"}));
  EXPECT_EQ(d.code, RejectCode::kUnknownDataset);
  EXPECT_EQ(d.reason,
            "unknown dataset \"patiens-eu\" (did you mean \"patients-eu\"?); `sovereignctl "
            "datasets` lists the datasets you may use");
  EXPECT_THAT(d.candidates, IsEmpty());
  EXPECT_EQ(Run(Job({"weather"})).reason,
            "unknown dataset \"weather\"; `sovereignctl datasets` lists the datasets you may use");
}

TEST_F(PlacementTest, UserOutsideTheDatasetGroupsIsRefused) {
  JobRequest r = Job({"patients-eu"}, 2, {"bob", "users"});
  r.user = "bob";
  Decision d = Run(r);
  EXPECT_EQ(d.code, RejectCode::kNotAuthorised);
  EXPECT_EQ(d.reason,
            "user bob may not use dataset patients-eu (allowed groups: oncology); ask the data "
            "steward to add you");
  // Public data has no groups: anyone may use it.
  r.datasets = {"imagenet-public"};
  EXPECT_EQ(Run(r).verdict, Verdict::kPlace);
}

TEST_F(PlacementTest, RefusalForADatasetTheAccountImpliesNamesTheAccount) {
  JobRequest r = Job({}, 2, {"bob", "users"});
  r.user = "sov-bob";
  r.account = "oncology";
  Decision d = Run(r);
  EXPECT_EQ(d.code, RejectCode::kNotAuthorised);
  EXPECT_EQ(d.reason,
            "account oncology implies dataset patients-eu, which user sov-bob may not use "
            "(allowed groups: oncology); charge the job to another account (-A), or ask the data "
            "steward to add you");
  // Declared as well as implied: the declaration is what the user reads first.
  r.datasets = {"patients-eu"};
  EXPECT_EQ(Run(r).reason,
            "user sov-bob may not use dataset patients-eu (allowed groups: oncology); ask the "
            "data steward to add you");
}

TEST_F(PlacementTest, NamedUserIsAllowedWithoutTheGroup) {
  auto reg = Example("    groups: [fintech]", "    groups: [fintech]\n    users: [carol]");
  JobRequest r = Job({"finance-in"}, 1, {"carol"});
  r.user = "carol";
  EXPECT_EQ(Decide(r, ClusterView::AllUp(*reg), *reg, kNow).verdict, Verdict::kPlace);
  r.user = "dave";
  EXPECT_EQ(Decide(r, ClusterView::AllUp(*reg), *reg, kNow).reason,
            "user dave may not use dataset finance-in (allowed groups: fintech; users: carol); "
            "ask the data steward to add you");
}

TEST_F(PlacementTest, DatasetsWithNoCommonRegionConflict) {
  Decision d = Run(Job({"patients-eu", "finance-in"}));
  EXPECT_EQ(d.code, RejectCode::kRegionConflict);
  EXPECT_EQ(d.reason,
            "datasets finance-in (regions: in) and patients-eu (regions: eu) have no region in "
            "common; submit them as separate jobs");
  EXPECT_THAT(d.allowed_regions, IsEmpty());
  for (const Candidate& c : d.candidates) {
    EXPECT_EQ(c.exclusion, Exclusion::kRegionNotAllowed);
  }
}

TEST_F(PlacementTest, IntersectionOfRegions) {
  Decision d = Run(Job({"genomics-eu-us", "imagenet-public"}));
  EXPECT_THAT(d.allowed_regions, ElementsAre("eu", "us"));
  EXPECT_EQ(d.partition_name, "gpu-fr-a100");
}

TEST_F(PlacementTest, LabelLimits) {
  std::string long_name(65, 'x');
  Decision d = Run(Job({long_name}));
  EXPECT_EQ(d.code, RejectCode::kLabelTooLong);
  EXPECT_EQ(d.reason,
            "dataset name \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" is 65 bytes, longer than the "
            "limit of 64 bytes; check the --dataset value");
  std::vector<std::string> many;
  for (int i = 0; i < 9; ++i) {
    many.push_back("ds-" + std::to_string(i));
  }
  d = Run(Job(many));
  EXPECT_EQ(d.code, RejectCode::kTooManyLabels);
  EXPECT_EQ(d.reason, "the job touches 9 datasets; the limit is 8; split the work into several jobs");
}

TEST_F(PlacementTest, InvalidRequest) {
  JobRequest r = Job({}, -1);
  Decision d = Run(r);
  EXPECT_EQ(d.code, RejectCode::kInvalidRequest);
  EXPECT_EQ(d.reason,
            "invalid request: gpus=-1, nodes=0, time limit=2h; GPUs and nodes must be between 0 "
            "and 1000000 and the time limit must not be negative");
}

TEST_F(PlacementTest, UnlabelledJobsFollowThePolicy) {
  Decision any = Run(Job({}));
  EXPECT_EQ(any.verdict, Verdict::kPlace);
  EXPECT_THAT(any.allowed_regions, ElementsAre("eu", "in", "us"));
  auto reg = Example("  unlabelled: any-region", "  unlabelled: default-region\n  default_region: us");
  JobRequest r = Job({});
  r.partitions = {"gpu-fr-a100"};
  Decision d = Decide(r, ClusterView::AllUp(*reg), *reg, kNow);
  EXPECT_EQ(d.code, RejectCode::kPartitionOutsideRegion);
  EXPECT_EQ(d.reason,
            "jobs without datasets run in region us (site policy); partitions you may use: "
            "gpu-us-h100");
  EXPECT_EQ(DescribeExclusion(Row(d, *reg, "gpu-fr-a100"), d, *reg),
            "region eu is outside the default region for jobs without datasets");
}

TEST_F(PlacementTest, ClusterStateExcludesPartitions) {
  ClusterSnapshot snap;
  snap.partitions = {{"gpu-fr-a100", PartitionState::kDrain, 16, 128, 0, {}, {}, {}},
                     {"gpu-de-h100", PartitionState::kUp, 1, 8, 8, {}, {}, {}},
                     {"not-in-register", PartitionState::kUp, 1, 8, 8, {}, {}, {}}};
  ClusterView view = ClusterView::Bind(snap, *reg_);
  EXPECT_FALSE(view.present(reg_->PartitionIndex("gpu-us-h100")));
  JobRequest r = Job({"patients-eu"}, 16);
  Decision d = Decide(r, view, *reg_, kNow);
  EXPECT_EQ(d.code, RejectCode::kNoCandidate);
  EXPECT_EQ(d.reason,
            "no compliant partition can run this job now (gpu-fr-a100: partition is not up; "
            "gpu-de-h100: job needs 2 nodes, fewer are up); ask for fewer GPUs or another GPU "
            "type");
  r.gpus = 8;
  d = Decide(r, view, *reg_, kNow);
  EXPECT_EQ(d.partition_name, "gpu-de-h100");
  r.datasets = {"imagenet-public"};
  d = Decide(r, view, *reg_, kNow);
  EXPECT_EQ(Row(d, *reg_, "gpu-us-h100").exclusion, Exclusion::kNotInCluster);
  EXPECT_EQ(DescribeExclusion(Row(d, *reg_, "gpu-us-h100"), d, *reg_),
            "not in the cluster view (not configured in Slurm?)");
}

TEST_F(PlacementTest, GpuTypeAndPerNodeLimits) {
  JobRequest r = Job({"patients-eu"}, 4);
  r.gpu_type = "h100";
  Decision d = Run(r);
  EXPECT_EQ(d.partition_name, "gpu-de-h100");
  EXPECT_EQ(DescribeExclusion(Row(d, *reg_, "gpu-fr-a100"), d, *reg_),
            "has a100 GPUs, not the type requested");
  r.gpu_type.clear();
  r.gpus = 16;
  r.nodes = 1;
  d = Run(r);
  EXPECT_EQ(d.code, RejectCode::kNoCandidate);
  EXPECT_EQ(DescribeExclusion(Row(d, *reg_, "gpu-de-h100"), d, *reg_),
            "has 8 GPUs per node, too few on 1 node");
  r.nodes = 0;  // let placement spread the job: two nodes
  d = Run(r);
  EXPECT_EQ(d.partition_name, "gpu-fr-a100");
  EXPECT_EQ(Row(d, *reg_, "gpu-fr-a100").nodes, 2);
}

TEST_F(PlacementTest, GpuTypeOnlyOutsideTheAllowedSitesSaysWhereItIs) {
  JobRequest r = Job({"patients-eu"});
  r.gpu_type = "l40s";
  Decision d = Run(r);
  EXPECT_EQ(d.code, RejectCode::kNoCandidate);
  EXPECT_EQ(d.reason,
            "l40s GPUs are only where your datasets may not be processed: gpu-in-l40s (region "
            "in is not allowed for patients-eu); GPU types you may ask for: a100, h100");
  // A type no partition has at all.
  r.gpu_type = "v100";
  EXPECT_EQ(Run(r).reason,
            "no partition in the sovereignty register has v100 GPUs; GPU types you may ask for: "
            "a100, h100");
  // A type a compliant partition has, down: the generic reason, which names the partition.
  ClusterSnapshot snap;
  snap.partitions = {{"gpu-fr-a100", PartitionState::kDown, 16, 128, 0, {}, {}, {}},
                     {"gpu-de-h100", PartitionState::kUp, 30, 240, 24, {}, {}, {}}};
  r.gpu_type = "a100";
  EXPECT_EQ(Decide(r, ClusterView::Bind(snap, *reg_), *reg_, kNow).reason,
            "no compliant partition can run this job now (gpu-fr-a100: partition is not up; "
            "gpu-de-h100: has h100 GPUs, not the type requested); ask for fewer GPUs or another "
            "GPU type");
}

TEST_F(PlacementTest, ExclusionNamesOnlyTheDatasetsThatExcludeTheRegion) {
  Decision d = Run(Job({"genomics-eu-us", "imagenet-public"}));
  EXPECT_EQ(DescribeExclusion(Row(d, *reg_, "gpu-in-l40s"), d, *reg_),
            "region in is not allowed for genomics-eu-us");
}

// The example register promises 16 nodes of 8 GPUs; the mini cluster has 2 nodes of 2.
ClusterSnapshot SmallCluster() {
  ClusterSnapshot snap;
  for (const char* name : {"gpu-fr-a100", "gpu-de-h100"}) {
    snap.partitions.push_back(
        {name, PartitionState::kUp, 2, 4, 4, {}, /*gpus_per_node=*/2, /*nodes_total=*/2});
  }
  return snap;
}

TEST_F(PlacementTest, RealNodeSizesFromSlurmDecide) {
  ClusterSnapshot snap = SmallCluster();
  ClusterView view = ClusterView::Bind(snap, *reg_);
  JobRequest r = Job({"patients-eu"}, 4);
  Decision d = Decide(r, view, *reg_, kNow);
  EXPECT_EQ(d.partition_name, "gpu-fr-a100");
  EXPECT_EQ(Row(d, *reg_, "gpu-fr-a100").nodes, 2);  // two nodes of 2, not one of 8
  r.gpus = 8;
  d = Decide(r, view, *reg_, kNow);
  EXPECT_EQ(d.code, RejectCode::kNoCandidate);
  EXPECT_EQ(d.reason,
            "the job asks for 8 GPUs; the largest compliant partition, gpu-fr-a100, has 2 nodes "
            "with 2 GPUs each (4 GPUs); ask for at most 4 GPUs");
  r.gpus = 4;
  r.nodes = 1;
  d = Decide(r, view, *reg_, kNow);
  EXPECT_EQ(d.reason,
            "the job asks for 4 GPUs on 1 node; the largest compliant partition, gpu-fr-a100, "
            "has 2 nodes with 2 GPUs each (4 GPUs); ask for at most 2 GPUs per node");
  EXPECT_EQ(DescribeExclusion(Row(d, *reg_, "gpu-de-h100"), d, *reg_),
            "has 2 GPUs per node, too few on 1 node");
  r.gpus = 3;
  r.nodes = 3;
  EXPECT_EQ(Decide(r, view, *reg_, kNow).reason,
            "the job asks for 3 GPUs on 3 nodes; the largest compliant partition, gpu-fr-a100, "
            "has 2 nodes with 2 GPUs each (4 GPUs); ask for at most 2 nodes");
}

TEST_F(PlacementTest, AJobThatFitsOnceNodesAreBackIsNotCalledTooLarge) {
  ClusterSnapshot snap = SmallCluster();
  for (PartitionStatus& s : snap.partitions) {
    s.nodes_up = 1;  // one node of two down
    s.gpus_total = s.gpus_free = 2;
  }
  JobRequest r = Job({"patients-eu"}, 4);
  EXPECT_EQ(Decide(r, ClusterView::Bind(snap, *reg_), *reg_, kNow).reason,
            "no compliant partition can run this job now (gpu-fr-a100: job needs 2 nodes, fewer "
            "are up; gpu-de-h100: job needs 2 nodes, fewer are up); ask for fewer GPUs or "
            "another GPU type");
}

TEST_F(PlacementTest, DefaultTimeLimitWhenNoneGiven) {
  JobRequest r = Job({"patients-eu"});
  r.time_limit = absl::ZeroDuration();
  Decision d = Run(r);
  EXPECT_NEAR(Row(d, *reg_, "gpu-fr-a100").energy_kwh, 2.47, 1e-9);  // 1 h default
}

TEST_F(PlacementTest, DeterministicAndRenderedAsJson) {
  JobRequest r = Job({"patients-eu"});
  auto a = nlohmann::json::parse(DecisionJsonText(Run(r), r, *reg_));
  auto b = nlohmann::json::parse(DecisionJsonText(Run(r), r, *reg_));
  EXPECT_EQ(a.dump(), b.dump());
  EXPECT_EQ(a["verdict"], "place");
  EXPECT_EQ(a["code"], "none");
  EXPECT_EQ(a["partition"], "gpu-fr-a100");
  EXPECT_EQ(a["decided_at"], "2026-11-18T11:06:40Z");
  EXPECT_EQ(a["request"]["time_limit_seconds"], 7200);
  ASSERT_EQ(a["candidates"].size(), 5u);
  EXPECT_EQ(a["candidates"][0]["status"], "chosen");
  EXPECT_EQ(a["candidates"][0]["energy_kwh"], 4.94);
  EXPECT_EQ(a["candidates"][1]["status"], "eligible");
  EXPECT_EQ(a["candidates"][2]["status"], "excluded");
  EXPECT_EQ(a["candidates"][2]["exclusion"], "jurisdiction_not_accepted");
}

TEST_F(PlacementTest, JsonTextIsWhatNlohmannWouldWrite) {
  // Placed and rejected, with every candidate: the directly written text is byte for byte the
  // compact dump of the same document as a JSON value (sorted members, same numbers).
  for (const JobRequest& r : {Job({"patients-eu"}), Job({"patients-eu"}, /*gpus=*/4096)}) {
    Decision d = Run(r);
    std::string text = DecisionJsonText(d, r, *reg_, {{"id", "d-1"}, {"caller", "uid=0(root)"}});
    nlohmann::json value = nlohmann::json::parse(text);
    EXPECT_EQ(value["id"], "d-1");
    EXPECT_EQ(value["caller"], "uid=0(root)");
    value.erase("id");
    value.erase("caller");
    EXPECT_EQ(value.dump(), DecisionJsonText(d, r, *reg_));
  }
}

TEST_F(PlacementTest, JsonTextEscapesNamesAndReplacesIllFormedUtf8) {
  JobRequest r = Job({"patients-eu"});
  r.user = "a\"b\\c\n\t\x01\x7f";
  r.account = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x92";  // well-formed: kept as is
  r.groups = {"bad\xff", "cut\xe2\x82", "overlong\xc0\xaf", "surrogate\xed\xa0\x80"};
  std::string text = JobRequestJsonText(r);
  EXPECT_NE(text.find(R"("user":"a\"b\\c\n\t\u0001)" + std::string("\x7f\"")), std::string::npos)
      << text;
  nlohmann::json value = nlohmann::json::parse(text);  // throws on invalid JSON or UTF-8
  EXPECT_EQ(value["user"], r.user);
  EXPECT_EQ(value["account"], r.account);
  EXPECT_EQ(value["groups"][0], "bad\xef\xbf\xbd");
  EXPECT_EQ(value["groups"][1], "cut\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(value["groups"][2], "overlong\xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(value["groups"][3], "surrogate\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

TEST_F(PlacementTest, JsonTextWritesNumbersAsNlohmannDoes) {
  JobRequest r = Job({"patients-eu"});
  Decision d = Run(r);
  ASSERT_FALSE(d.candidates.empty());
  for (double v : {0.0, 5.0, 0.0001, 0.0002, 0.0123, 173.29, 2824077.312, 123456789012345.0,
                   1e15, 1234567890123456.0, 1e21, 1.5e300, -2.5, -0.0003}) {
    d.candidates[0].co2_grams = v;
    std::string text = DecisionJsonText(d, r, *reg_);
    size_t at = text.find("\"co2_grams\":") + 12;
    std::string written = text.substr(at, text.find(',', at) - at);
    double rounded = std::round(v * 1e4) / 1e4;  // figures are rounded to 4 decimals
    EXPECT_EQ(written, nlohmann::json(rounded).dump()) << v;
  }
}

}  // namespace
}  // namespace sovereign
