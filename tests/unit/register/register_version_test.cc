// The register's version: stable under presentation changes, changed by any change of meaning.
#include <set>
#include <utility>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "register_internal.h"
#include "register_test_util.h"
#include "sovereign/digest.h"
#include "sovereign/register.h"

namespace sovereign {
namespace {

using ::sovereign::testing::kBase;
using ::sovereign::testing::With;

std::string Version(const std::string& yaml) {
  auto reg = Register::Parse(yaml, "register.yaml");
  EXPECT_TRUE(reg.ok()) << reg.status();
  return reg.ok() ? (*reg)->version() : "";
}

// kBase written differently: sections, objects and keys reordered, flow style, quotes,
// comments, numbers spelt otherwise, set-like lists reordered and repeated, defaults explicit.
constexpr char kReformatted[] = R"(# The same register as kBase.
accounts: [{datasets: [patients-eu, patients-eu], name: oncology}]
datasets:
  - regions:
      - eu     # only here
      - eu
    classification: "sovereign"
    name: patients-eu

partitions:
  - {node_watts: 900.0, gpu_idle_watts: 5e1, gpu_watts: 400, nodes: 4, gpus_per_node: 8,
     gpu_type: a100, site: paris-1, name: gpu-fr}
sites:
  - carbon_intensity: 31.0
    pue: 1.20
    operator_jurisdiction: EU
    operator: "Example SAS"
    country: FR
    region: eu
    name: 'paris-1'
regions:
  - name: us
  - name: eu
policy:
  unlabelled: any-region
  max_labels: 16
  objective: energy
  default_time_limit: 60m
)";

TEST(RegisterVersionTest, IsTheSha256OfTheCanonicalForm) {
  auto reg = Register::Parse(kBase, "register.yaml");
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ((*reg)->canonical(),
            R"({"accounts":[{"datasets":["patients-eu"],"name":"oncology"}],)"
            R"("datasets":[{"classification":"sovereign","groups":[],"jurisdictions":[],)"
            R"("legal_basis":"","name":"patients-eu","regions":["eu"],"users":[]}],)"
            R"("partitions":[{"gpu_idle_watts":50.0,"gpu_model":"","gpu_type":"a100",)"
            R"("gpu_watts":400.0,"gpus_per_node":8,"name":"gpu-fr","node_watts":900.0,)"
            R"("nodes":4,"site":"paris-1"}],)"
            R"("policy":{"default_region":"","default_time_limit_seconds":3600,)"
            R"("max_label_bytes":64,"max_labels":16,"objective":"energy",)"
            R"("unlabelled":"any-region"},)"
            R"("regions":[{"description":"","law":"","name":"eu"},)"
            R"({"description":"","law":"","name":"us"}],)"
            R"("sites":[{"carbon_intensity":31.0,"country":"FR","name":"paris-1",)"
            R"("operator":"Example SAS","operator_jurisdiction":"EU","pue":1.2,"region":"eu"}]})");
  EXPECT_EQ((*reg)->version(), Sha256Hex((*reg)->canonical()));
  EXPECT_EQ((*reg)->version().size(), 64u);
  EXPECT_EQ((*reg)->short_version(), (*reg)->version().substr(0, 12));
}

TEST(RegisterVersionTest, StableUnderReorderingReformattingAndComments) {
  const std::string base = Version(kBase);
  ASSERT_FALSE(base.empty());
  EXPECT_EQ(Version(kReformatted), base);
  EXPECT_EQ(Version("# header comment\n\n" + std::string(kBase) + "# trailing\n"), base);
  EXPECT_EQ(Version(With("  - name: eu\n  - name: us\n", "  - name: us\n  - name: eu\n")), base);
  EXPECT_EQ(
      Version(With("regions: [eu]", "regions: [eu, us]\n    groups: [b, a]\n    users: [y, x]")),
      Version(With("regions: [eu]",
                   "regions: [us, eu, us]\n    groups: [a, b, a]\n"
                   "    users: [x, y]")));
}

TEST(RegisterVersionTest, BuiltInCodeMatchesTheSameRegisterInYaml) {
  auto reg = Register::FromParts({}, {testing::NamedRegion("us"), testing::NamedRegion("eu")},
                                 {testing::ParisSite()}, {testing::GpuFr()},
                                 {testing::PatientsEu()}, {testing::Oncology()});
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_EQ((*reg)->version(), Version(kBase));
}

TEST(RegisterVersionTest, EveryChangeOfMeaningChangesIt) {
  const std::vector<std::pair<std::string, std::string>> changes = {
      {"gpu_watts: 400", "gpu_watts: 401"},
      {"gpu_idle_watts: 50", "gpu_idle_watts: 51"},
      {"node_watts: 900", "node_watts: 950"},
      {"gpus_per_node: 8", "gpus_per_node: 4"},
      {"nodes: 4", "nodes: 5"},
      {"gpu_type: a100", "gpu_type: a100-80g"},
      {"gpu_type: a100", "gpu_type: a100\n    gpu_model: NVIDIA A100"},
      {"name: gpu-fr", "name: gpu-fr-2"},
      {"regions: [eu]", "regions: [eu, us]"},
      {"regions: [eu]", "regions: [us]"},
      {"regions: [eu]", "regions: [eu]\n    groups: [oncology]"},
      {"regions: [eu]", "regions: [eu]\n    users: [alice]"},
      {"regions: [eu]", "regions: [eu]\n    jurisdictions: [EU]"},
      {"regions: [eu]", "regions: [eu]\n    legal_basis: GDPR Art. 9(2)(j)"},
      {"classification: sovereign", "classification: restricted"},
      {"datasets: [patients-eu]", "datasets: []"},
      {"name: oncology", "name: oncology-2"},
      {"pue: 1.2", "pue: 1.25"},
      {"carbon_intensity: 31", "carbon_intensity: 32"},
      {"country: FR", "country: DE"},
      {"operator: Example SAS", "operator: Example GmbH"},
      {"operator_jurisdiction: EU", "operator_jurisdiction: US"},
      {"    region: eu", "    region: us"},
      {"  - name: us\n", "  - name: us\n    law: CCPA\n"},
      {"  - name: us\n", "  - name: us\n    description: United States\n"},
      {"  - name: us\n", "  - name: us\n  - name: in\n"},
  };
  const std::vector<std::string> policies = {
      "  objective: carbon\n",
      "  max_labels: 8\n",
      "  max_label_bytes: 32\n",
      "  default_time_limit: 2h\n",
      "  unlabelled: default-region\n  default_region: eu\n",
  };
  std::set<std::string> versions = {Version(kBase)};
  for (const auto& [from, to] : changes) {
    EXPECT_TRUE(versions.insert(Version(With(from, to))).second) << from << " -> " << to;
  }
  for (const std::string& policy : policies) {
    EXPECT_TRUE(versions.insert(Version("policy:\n" + policy + kBase)).second) << policy;
  }
  EXPECT_EQ(versions.size(), 1 + changes.size() + policies.size());
}

}  // namespace
}  // namespace sovereign
