#include "sovereign/residency.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sovereign/cluster.h"

namespace sovereign {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class ResidencyTest : public ::testing::Test {
 protected:
  std::shared_ptr<const Register> reg_ = *Register::Load(
      std::string(SOVEREIGN_SOURCE_DIR) + "/config/register.example.yaml");
  int Site(std::string_view name) {
    return static_cast<int>(reg_->FindSite(name) - reg_->sites().data());
  }
  Residency Of(std::vector<std::string> names) { return *Residency::OfNames(names, *reg_); }
};

TEST_F(ResidencyTest, RegionAndJurisdictionBothDecideASite) {
  Residency r = Of({"patients-eu"});
  EXPECT_TRUE(r.site_allowed(Site("paris-1")));
  EXPECT_TRUE(r.site_allowed(Site("munich-1")));
  EXPECT_EQ(r.site_rule(Site("fra-cloud-1")), SiteRule::kJurisdiction);
  EXPECT_EQ(r.site_rule(Site("sanjose-1")), SiteRule::kRegion);
  EXPECT_THAT(r.allowed_sites(), ElementsAre(Site("paris-1"), Site("munich-1")));
  EXPECT_EQ(r.WhyNot(Site("fra-cloud-1")),
            "operator Example Cloud Inc. (Frankfurt region) is under US jurisdiction, not "
            "accepted for patients-eu");
  EXPECT_EQ(r.WhyNot(Site("paris-1")), "");
}

TEST_F(ResidencyTest, WhyNotNamesOnlyTheDatasetsThatExcludeTheSite) {
  Residency r = Of({"genomics-eu-us", "imagenet-public", "patients-eu"});
  EXPECT_EQ(r.WhyNot(Site("sanjose-1")), "region us is not allowed for patients-eu");
  EXPECT_EQ(r.WhyNot(Site("mumbai-1")), "region in is not allowed for genomics-eu-us, patients-eu");
}

TEST_F(ResidencyTest, UnlabelledJobsFollowThePolicy) {
  Residency any = Of({});
  EXPECT_TRUE(any.unrestricted());
  EXPECT_EQ(SiteGuardTerm(any, "site_"), "");
  auto strict = Register::Parse(
      "policy: {unlabelled: default-region, default_region: in}\n"
      "regions: [{name: eu}, {name: in}]\n"
      "sites: [{name: a, region: eu, country: FR, operator: o, operator_jurisdiction: EU, pue: 1,"
      " carbon_intensity: 1}, {name: b, region: in, country: IN, operator: o,"
      " operator_jurisdiction: IN, pue: 1, carbon_intensity: 1}]\n"
      "partitions: [{name: p, site: a, gpu_model: m, gpu_type: t, gpus_per_node: 1, nodes: 1,"
      " gpu_watts: 1, gpu_idle_watts: 1, node_watts: 1}]\n"
      "datasets: []\naccounts: []\n",
      "strict.yaml");
  ASSERT_TRUE(strict.ok()) << strict.status();
  Residency r = *Residency::OfNames({}, **strict);
  EXPECT_FALSE(r.unrestricted());
  EXPECT_EQ(SiteGuardTerm(r, "site_"), "site_b");
  EXPECT_EQ(r.WhyNot(0), "region eu is outside the default region for jobs without datasets");
}

TEST_F(ResidencyTest, UnknownDatasetIsNamed) {
  EXPECT_EQ(Residency::OfNames({"nope"}, *reg_).status().message(),
            "dataset \"nope\" is not in register " + std::string(reg_->short_version()));
}

TEST_F(ResidencyTest, GuardTermListsAllowedSitesWithNodes) {
  Residency r = Of({"patients-eu"});
  EXPECT_EQ(SiteGuardTerm(r, "site_"), "(site_paris-1|site_munich-1)");
  std::vector<NodeStatus> nodes = {{"fr1", {"gpu-fr-a100"}, {"site_paris-1", "region_eu"}},
                                   {"us1", {"gpu-us-h100"}, {"site_sanjose-1"}}};
  std::vector<char> present = SitesWithNodes(*reg_, "site_", nodes);
  EXPECT_EQ(SiteGuardTerm(r, "site_", &present), "site_paris-1");
  EXPECT_EQ(SiteGuardTerm(Of({"finance-in"}), "sov_"), "sov_mumbai-1");
}

TEST_F(ResidencyTest, GuardIsTheLastAndTermAndCanBeReadBack) {
  EXPECT_EQ(AppendSiteGuard("", "site_a"), "site_a");
  EXPECT_EQ(AppendSiteGuard("gpu_a100|gpu_h100", "(site_a|site_b)"),
            "gpu_a100|gpu_h100&(site_a|site_b)");
  EXPECT_THAT(*TrailingSiteGuard("gpu_a100|gpu_h100&(site_a|site_b)", "site_"),
              ElementsAre("a", "b"));
  EXPECT_THAT(*TrailingSiteGuard("site_paris-1", "site_"), ElementsAre("paris-1"));
  EXPECT_THAT(*TrailingSiteGuard("[r1|r2]&site_x", "site_"), ElementsAre("x"));
  // Not a guard at the end, or one a bracket could escape.
  EXPECT_EQ(TrailingSiteGuard("gpu_h100", "site_").status().message(),
            "features \"gpu_h100\" do not end with a site guard (site_...)");
  EXPECT_FALSE(TrailingSiteGuard("site_a&gpu_h100", "site_").ok());
  EXPECT_FALSE(TrailingSiteGuard("gpu|site_a|site_b", "site_").ok());
  EXPECT_FALSE(TrailingSiteGuard("(gpu&site_a", "site_").ok());
  EXPECT_EQ(TrailingSiteGuard("gpu)&site_a", "site_").status().message(),
            "features \"gpu)&site_a\" have an unbalanced bracket");
  EXPECT_FALSE(TrailingSiteGuard("[gpu&site_a]", "site_").ok());
  EXPECT_EQ(StripSiteGuard("gpu_a100|gpu_h100&(site_a|site_b)", "site_"), "gpu_a100|gpu_h100");
  EXPECT_EQ(StripSiteGuard("site_a", "site_"), "");
  EXPECT_EQ(StripSiteGuard("gpu_a100", "site_"), "gpu_a100");
  EXPECT_EQ(TrailingSiteGuard("gpu*1&site_a", "site_").status().message(),
            "features \"gpu*1&site_a\" use node counts (*N), under which Slurm does not enforce "
            "a site guard");
}

TEST_F(ResidencyTest, NodeSiteNeedsItsFeatureAndItsPartitionsToAgree) {
  NodeSite ok = SiteOfNode(*reg_, "site_", {"gpu-fr-a100"}, {"region_eu", "site_paris-1"});
  EXPECT_EQ(ok.site, Site("paris-1"));
  NodeSite none = SiteOfNode(*reg_, "site_", {"gpu-fr-a100"}, {"region_eu"});
  EXPECT_EQ(none.site, -1);
  EXPECT_EQ(none.why, "it carries no site feature (site_<site>)");
  NodeSite moved = SiteOfNode(*reg_, "site_", {"gpu-fr-a100", "gpu-us-h100"}, {"site_paris-1"});
  EXPECT_EQ(moved.site, -1);
  EXPECT_EQ(moved.why,
            "its feature says site paris-1 but it is in partition gpu-us-h100 of site sanjose-1");
  EXPECT_THAT(SiteOfNode(*reg_, "site_", {}, {"site_atlantis"}).why,
              HasSubstr("its feature site_atlantis names no site of the register"));
  EXPECT_THAT(SiteOfNode(*reg_, "site_", {}, {"site_paris-1", "site_mumbai-1"}).why,
              HasSubstr("two site features"));
  // Partitions outside the register say nothing about a site.
  EXPECT_EQ(SiteOfNode(*reg_, "site_", {"debug"}, {"site_mumbai-1"}).site, Site("mumbai-1"));
}

TEST(ExpandNodeList, ReadsSlurmHostLists) {
  EXPECT_THAT(*ExpandNodeList("fr-a100-[1-2],us-h100-1"),
              ElementsAre("fr-a100-1", "fr-a100-2", "us-h100-1"));
  EXPECT_THAT(*ExpandNodeList("n[01-03,7]x"), ElementsAre("n01x", "n02x", "n03x", "n7x"));
  EXPECT_EQ(ExpandNodeList("n[1-2][3]").status().message(),
            "node list \"n[1-2][3]\": more than one bracket group in a name");
  EXPECT_EQ(ExpandNodeList("n[3-1]").status().message(),
            "node list \"n[3-1]\": range \"3-1\" is not N or N-M");
  EXPECT_FALSE(ExpandNodeList("n[1-2").ok());
  EXPECT_FALSE(ExpandNodeList("n[1-99999999]").ok());
}

}  // namespace
}  // namespace sovereign
