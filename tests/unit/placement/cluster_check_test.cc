// The register checked against the cluster: slurm.conf and gres.conf read without libslurm,
// every finding's text and severity, and the Unix groups and users through a fake look-up.
#include "sovereign/cluster_check.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "support/temp_dir.h"

namespace sovereign {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::string kRegisterPath = std::string(SOVEREIGN_SOURCE_DIR) + "/config/register.example.yaml";

std::vector<std::string> Texts(const std::vector<ClusterFinding>& findings) {
  std::vector<std::string> out;
  for (const ClusterFinding& f : findings) {
    out.push_back(f.ToString());
  }
  return out;
}

class ClusterCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir_.path();
    absl::StatusOr<std::shared_ptr<const Register>> reg = Register::Load(kRegisterPath);
    ASSERT_TRUE(reg.ok()) << reg.status();
    reg_ = *reg;
  }
  std::string Write(const std::string& name, const std::string& text) {
    return temp_dir_.Write(name, text);
  }
  // The example register's five partitions as the register says them, with `edit` applied.
  std::string SlurmConf(const std::vector<std::pair<std::string, std::string>>& edits = {}) {
    std::string conf =
        "# matches config/register.example.yaml\n"
        "NodeName=DEFAULT CPUs=4 Gres=gpu:h100:8\n"
        "NodeName=fr-a100-[01-16] Gres=gpu:a100:8(S:0-1) Features=site_paris-1\n"
        "NodeName=de-h100-[1-32]\n"
        "NodeName=de-cloud-[1-8]\n"
        "NodeName=us-h100-[1-24] \\\n"
        "   Weight=10\n"
        "NodeName=in-l40s-[1-12] Gres=gpu:l40s:8\n"
        "PartitionName=DEFAULT State=UP\n"
        "PartitionName=gpu-fr-a100 Nodes=fr-a100-[01-16] Default=YES\n"
        "PartitionName=gpu-de-h100 Nodes=de-h100-[1-32]\n"
        "PartitionName=gpu-de-cloud-h100 Nodes=de-cloud-[1-8]\n"
        "PartitionName=gpu-us-h100 Nodes=us-h100-[1-24]\n"
        "PartitionName=gpu-in-l40s Nodes=in-l40s-[1-12]\n";
    return Write("slurm.conf", absl::StrReplaceAll(conf, edits));
  }
  std::vector<std::string> Check(const std::string& slurm_conf) {
    absl::StatusOr<SlurmInventory> inv = ReadSlurmConf(slurm_conf);
    EXPECT_TRUE(inv.ok()) << inv.status();
    return inv.ok() ? Texts(CheckAgainstSlurm(*reg_, *inv)) : std::vector<std::string>{};
  }

  testing::TempDir temp_dir_;
  std::filesystem::path dir_;
  std::shared_ptr<const Register> reg_;
};

TEST(GresTest, ReadsGpusOfEveryForm) {
  std::vector<SlurmGpus> g = GpusOfGres("gpu:a100:2(S:0-1),mps:100,gpu:h100:1");
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].type, "a100");
  EXPECT_EQ(g[0].count, 2);
  EXPECT_EQ(g[1].type, "h100");
  EXPECT_EQ(GpusOfGres("gpu:4")[0].type, "");
  EXPECT_EQ(GpusOfGres("gpu:4")[0].count, 4);
  EXPECT_EQ(GpusOfGres("gpu")[0].count, 1);
  EXPECT_THAT(GpusOfGres("mps:100"), IsEmpty());
}

TEST_F(ClusterCheckTest, AMatchingSlurmConfHasNoFindings) {
  EXPECT_THAT(Check(SlurmConf()), IsEmpty());
}

TEST_F(ClusterCheckTest, AMissingPartitionIsAnError) {
  std::vector<ClusterFinding> findings;
  absl::StatusOr<SlurmInventory> inv =
      ReadSlurmConf(SlurmConf({{"PartitionName=gpu-in-l40s", "PartitionName=gpu-in-l4"}}));
  ASSERT_TRUE(inv.ok()) << inv.status();
  findings = CheckAgainstSlurm(*reg_, *inv);
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].severity, FindingSeverity::kError);
  EXPECT_EQ(findings[0].ToString(),
            absl::StrCat(kRegisterPath,
                         ":128:5: error: partition \"gpu-in-l40s\": Slurm has no partition "
                         "gpu-in-l40s (slurm.conf ",
                         (dir_ / "slurm.conf").string(),
                         " has: gpu-de-cloud-h100, gpu-de-h100, gpu-fr-a100, gpu-in-l4, "
                         "gpu-us-h100)"));
  EXPECT_EQ(CountErrors(findings), 1);
}

TEST_F(ClusterCheckTest, AGpuTypeNoNodeHasIsAnErrorAndCountsAreWarnings) {
  EXPECT_THAT(
      Check(SlurmConf({{"Gres=gpu:l40s:8", "Gres=gpu:l4:4"},
                       {"fr-a100-[01-16] Default", "fr-a100-[01-14] Default"},
                       {"NodeName=de-h100-[1-32]", "NodeName=de-h100-[1-32] Gres=gpu:h100:4"}})),
      ElementsAre(
          absl::StrCat(kRegisterPath, ":92:5: warning: partition \"gpu-fr-a100\": field \"nodes\": "
                                      "the register says 16, Slurm has 14"),
          absl::StrCat(kRegisterPath, ":101:5: warning: partition \"gpu-de-h100\": field "
                                      "\"gpus_per_node\": the register says 8, Slurm's nodes have "
                                      "4 h100 GPUs"),
          absl::StrCat(kRegisterPath, ":128:5: error: partition \"gpu-in-l40s\": field "
                                      "\"gpu_type\": no node of Slurm partition gpu-in-l40s has "
                                      "GPUs of type l40s (it has: l4)")));
}

TEST_F(ClusterCheckTest, NodesWithoutGpusAreNamedSo) {
  EXPECT_THAT(Check(SlurmConf({{"Gres=gpu:l40s:8", "Gres=mps:100"}})),
              ElementsAre(absl::StrCat(kRegisterPath,
                                       ":128:5: error: partition \"gpu-in-l40s\": field "
                                       "\"gpu_type\": no node of Slurm partition gpu-in-l40s has "
                                       "GPUs of type l40s (its nodes have no GPUs)")));
}

TEST_F(ClusterCheckTest, UntypedGpusTakeTheirTypeFromGresConf) {
  const std::string conf = SlurmConf({{"Gres=gpu:l40s:8", "Gres=gpu:8"}});
  EXPECT_THAT(Check(conf), ElementsAre(absl::StrCat(
                               kRegisterPath,
                               ":128:5: error: partition \"gpu-in-l40s\": field \"gpu_type\": no "
                               "node of Slurm partition gpu-in-l40s has GPUs of type l40s (it "
                               "has: untyped)")));
  Write("gres.conf", "AutoDetect=off\nNodeName=in-l40s-[1-12] Name=gpu Type=l40s File=/dev/null\n");
  EXPECT_THAT(Check(conf), IsEmpty());
}

TEST_F(ClusterCheckTest, SlurmConfErrorsNameTheFileAndLine) {
  EXPECT_EQ(ReadSlurmConf((dir_ / "none.conf").string()).status().message(),
            absl::StrCat("cannot read ", (dir_ / "none.conf").string()));
  EXPECT_EQ(ReadSlurmConf(Write("slurm.conf", "# x\nNodeName=n[1-\n")).status().message(),
            "slurm.conf:2: node list \"n[1-\": unbalanced brackets");
}

TEST_F(ClusterCheckTest, MissingGroupsAreErrorsAndMissingUsersWarnings) {
  std::ifstream in(kRegisterPath);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  absl::StatusOr<std::shared_ptr<const Register>> reg = Register::Parse(
      absl::StrReplaceAll(text, {{"    groups: [fintech]\n", "    groups: [fintech]\n    users: [ravi, meera]\n"}}),
      "register.yaml");
  ASSERT_TRUE(reg.ok()) << reg.status();
  AccountLookup accounts;
  accounts.group_exists = [](const std::string& g) { return g != "fintech"; };
  accounts.user_exists = [](const std::string& u) { return u == "meera"; };
  std::vector<ClusterFinding> findings = CheckAccounts(**reg, accounts);
  EXPECT_THAT(Texts(findings),
              ElementsAre("register.yaml:149:5: error: dataset \"finance-in\": field \"groups\": "
                          "Unix group \"fintech\" does not exist on this host",
                          "register.yaml:149:5: warning: dataset \"finance-in\": field \"users\": "
                          "Unix user \"ravi\" does not exist on this host"));
  EXPECT_EQ(CountErrors(findings), 1);
}

}  // namespace
}  // namespace sovereign
