#include "start_check.h"

#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sovereign::prolog {
namespace {

using ::testing::ElementsAre;
using Kind = StartVerdict::Kind;

constexpr char kTag[] = "sovereign:v1;id=d-1;ds=patients-eu;region=eu;reg=0123456789ab";

class StartCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ifstream in(std::string(SOVEREIGN_SOURCE_DIR) + "/config/register.example.yaml");
    std::stringstream yaml;
    yaml << in.rdbuf();
    auto reg = Register::Parse(yaml.str(), "register.yaml");
    ASSERT_TRUE(reg.ok()) << reg.status();
    auto snap = snapshot::DecodeSnapshot(
        snapshot::EncodeSnapshot(yaml.str(), "register.yaml", **reg, ClusterSnapshot{},
                                 absl::UnixEpoch()),
        "snapshot");
    ASSERT_TRUE(snap.ok()) << snap.status();
    snap_ = *snap;
  }
  std::shared_ptr<const snapshot::LoadedSnapshot> snap_;
  std::vector<NodeStatus> nodes_ = {{"fr-a100-1", {"gpu-fr-a100"}, {"site_paris-1"}},
                                    {"us-h100-1", {"gpu-us-h100"}, {"site_sanjose-1"}},
                                    {"faked", {"gpu-us-h100"}, {"site_paris-1"}}};
};

TEST_F(StartCheckTest, JobsThePluginDidNotPlaceAreNotItsBusiness) {
  EXPECT_EQ(CheckStart(nullptr, snap_.get(), absl::OkStatus(), "site_", {"us-h100-1"}, nodes_).kind,
            Kind::kNotPlaced);
  EXPECT_EQ(CheckStart("admin note", nullptr, absl::OkStatus(), "site_", {}, nodes_).kind,
            Kind::kNotPlaced);
}

TEST_F(StartCheckTest, AllowedSitesStartOthersAreRefusedNodeByNode) {
  StartVerdict ok = CheckStart(kTag, snap_.get(), absl::OkStatus(), "site_", {"fr-a100-1"}, nodes_);
  EXPECT_EQ(ok.kind, Kind::kAllowed);
  EXPECT_EQ(ok.register_version, snap_->reg->version());
  StartVerdict bad = CheckStart(kTag, snap_.get(), absl::OkStatus(), "site_",
                                {"fr-a100-1", "us-h100-1", "faked", "gone"}, nodes_);
  EXPECT_EQ(bad.kind, Kind::kRefused);
  EXPECT_EQ(bad.decision_id, "d-1");
  EXPECT_THAT(bad.reasons,
              ElementsAre("node us-h100-1 (site sanjose-1): region us is not allowed for "
                          "patients-eu",
                          "node faked has no known site: its feature says site paris-1 but it is "
                          "in partition gpu-us-h100 of site sanjose-1",
                          "node gone has no known site: slurmctld does not list it"));
}

TEST_F(StartCheckTest, WhatCannotBeCheckedDoesNotStart) {
  StartVerdict no_register = CheckStart(kTag, nullptr, absl::NotFoundError("snapshot /s: missing"),
                                        "site_", {"fr-a100-1"}, nodes_);
  EXPECT_EQ(no_register.kind, Kind::kRefused);
  EXPECT_THAT(no_register.reasons,
              ElementsAre("no sovereignty register can be read to check the start (snapshot /s: "
                          "missing)"));
  StartVerdict torn = CheckStart("sovereign:v1;ds=x", snap_.get(), absl::OkStatus(), "site_",
                                 {"fr-a100-1"}, nodes_);
  EXPECT_EQ(torn.kind, Kind::kRefused);
  EXPECT_THAT(torn.reasons, ElementsAre("the job's residency tag cannot be read (malformed "
                                        "sovereign tag \"sovereign:v1;ds=x\": no decision id)"));
  StartVerdict unknown = CheckStart("sovereign:v1;id=d-2;ds=gone-dataset;region=eu;reg=0",
                                    snap_.get(), absl::OkStatus(), "site_", {"fr-a100-1"}, nodes_);
  EXPECT_EQ(unknown.kind, Kind::kRefused);
  EXPECT_THAT(unknown.reasons[0], ::testing::HasSubstr("dataset \"gone-dataset\" is not in register"));
}

}  // namespace
}  // namespace sovereign::prolog
