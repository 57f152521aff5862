// Register::Load: reading the file, and the example register shipped in config/.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "register_test_util.h"
#include "sovereign/register.h"
#include "support/temp_dir.h"

namespace sovereign {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAre;

class RegisterLoadTest : public testing::TempDirTest {
 protected:
};

TEST_F(RegisterLoadTest, LoadsAFile) {
  std::string path = Write("register.yaml", testing::kBase);
  auto reg = Register::Load(path);
  ASSERT_TRUE(reg.ok()) << reg.status();
  EXPECT_NE((*reg)->FindPartition("gpu-fr"), nullptr);
  EXPECT_EQ((*reg)->FindPartition("gpu-fr")->location.file, path);
  auto parsed = Register::Parse(testing::kBase, "elsewhere.yaml");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*reg)->version(), (*parsed)->version());
}

TEST_F(RegisterLoadTest, DiagnosticsNameThePath) {
  std::string path = Write("bad.yaml", testing::With("pue: 1.2", "pue: 0.5"));
  std::vector<Diagnostic> diagnostics;
  auto reg = Register::Load(path, &diagnostics);
  ASSERT_FALSE(reg.ok());
  EXPECT_EQ(reg.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(reg.status().message(), "invalid register (1 error):\n" + path +
                                        ":10:10: site \"paris-1\": field \"pue\": must be >= "
                                        "1.0, got 0.5");
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].location.file, path);
}

TEST_F(RegisterLoadTest, MissingFile) {
  std::string path = dir_ + "/missing.yaml";
  auto reg = Register::Load(path);
  EXPECT_EQ(reg.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(reg.status().message(),
            "cannot read register \"" + path + "\": No such file or directory");
}

TEST_F(RegisterLoadTest, Directory) {
  auto reg = Register::Load(dir_);
  EXPECT_EQ(reg.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(reg.status().message(), "cannot read register \"" + dir_ + "\": it is a directory");
}

TEST_F(RegisterLoadTest, Unreadable) {
  std::string path = Write("secret.yaml", testing::kBase);
  ASSERT_EQ(chmod(path.c_str(), 0), 0);
  ASSERT_EQ(chmod(dir_.c_str(), 0755), 0);
  // Root reads anything: check from a child that has dropped to an unprivileged user.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0)) {
      _exit(10);
    }
    auto reg = Register::Load(path);
    bool expected =
        reg.status().code() == absl::StatusCode::kPermissionDenied &&
        reg.status().message() == "cannot read register \"" + path + "\": Permission denied";
    if (!expected) {
      std::fprintf(stderr, "got: %s\n", reg.status().ToString().c_str());
    }
    _exit(expected ? 0 : 11);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: could not drop privileges, 11: wrong status";
}

TEST(RegisterExampleTest, TheShippedExampleIsValid) {
  std::vector<Diagnostic> diagnostics;
  auto reg = Register::Load(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml", &diagnostics);
  ASSERT_TRUE(reg.ok()) << reg.status();
  const Register& r = **reg;
  std::vector<std::string> partitions;
  for (const Partition& p : r.partitions()) {
    partitions.push_back(p.name);
  }
  EXPECT_THAT(partitions, UnorderedElementsAre("gpu-fr-a100", "gpu-de-h100", "gpu-de-cloud-h100",
                                               "gpu-us-h100", "gpu-in-l40s"));
  EXPECT_DOUBLE_EQ(r.FindPartition("gpu-de-h100")->gpu_watts, 700);
  EXPECT_DOUBLE_EQ(r.FindPartition("gpu-fr-a100")->gpu_watts, 400);
  EXPECT_DOUBLE_EQ(r.FindPartition("gpu-in-l40s")->gpu_watts, 350);
  EXPECT_DOUBLE_EQ(r.FindSite("paris-1")->carbon_intensity, 31);

  // The EU partition run under US jurisdiction: in the EU region, not an EU operator.
  int cloud = r.PartitionIndex("gpu-de-cloud-h100");
  ASSERT_GE(cloud, 0);
  const Site& cloud_site = r.sites()[r.SiteOfPartition(cloud)];
  EXPECT_EQ(r.regions()[r.RegionOfPartition(cloud)].name, "eu");
  EXPECT_EQ(cloud_site.country, "DE");
  EXPECT_EQ(cloud_site.operator_jurisdiction, "US");
  EXPECT_EQ(r.regions()[r.RegionOfPartition(r.PartitionIndex("gpu-fr-a100"))].name, "eu");
  EXPECT_EQ(r.regions()[r.RegionOfPartition(r.PartitionIndex("gpu-in-l40s"))].name, "in");

  const Dataset* patients = r.FindDataset("patients-eu");
  ASSERT_NE(patients, nullptr);
  EXPECT_EQ(patients->classification, Classification::kSovereign);
  EXPECT_THAT(patients->regions, ElementsAre("eu"));
  EXPECT_THAT(patients->jurisdictions, ElementsAre("EU"));
  EXPECT_THAT(patients->groups, ElementsAre("oncology"));
  EXPECT_THAT(r.FindDataset("finance-in")->regions, ElementsAre("in"));
  EXPECT_THAT(r.FindDataset("imagenet-public")->regions, ElementsAre("eu", "us", "in"));
  EXPECT_TRUE(r.FindDataset("imagenet-public")->OpenToAll());
  EXPECT_THAT(r.FindAccount("oncology")->datasets, ElementsAre("patients-eu"));
  EXPECT_THAT(r.FindAccount("fintech-in")->datasets, ElementsAre("finance-in"));
  EXPECT_TRUE(r.FindAccount("vision")->datasets.empty());
}

}  // namespace
}  // namespace sovereign
