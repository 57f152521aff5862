// job_submit/sovereign inside a real slurmctld: researchers submit with real sbatch (as real
// Unix users), the plugin decides from the snapshot file, tags, spools, and refuses what
// cannot be placed compliantly. The snapshot is published from the live cluster through
// libslurm, as sovereignd does.
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cluster_reader.h"
#include "support/minicluster.h"
#include "support/plugin_cluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "slurm_loops/snapshot_publisher.h"
#include "sovereign/spool.h"
#include "sovereign/spool_record.h"

namespace sovereign::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

class PluginE2ETest : public PluginClusterTest {};

TEST_F(PluginE2ETest, WithoutAnySnapshotALabelledJobIsRefusedWithTheReason) {
  CommandResult r = Sbatch(kAlice, {"--dataset=patients-eu", "--wrap", "true"});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.err, HasSubstr("sbatch: error: sovereign: cannot place jobs yet: no valid "
                               "sovereignty register has been published"));
}

TEST_F(PluginE2ETest, EuPatientJobLandsInTheEuTaggedAndSpooled) {
  Publish();
  const size_t before = Spooled().size();
  uint32_t id = SubmitOk(kAlice, {"--dataset=patients-eu", "--gres=gpu:1", "-t", "30",
                                  "--wrap", "echo node=$SLURMD_NODENAME"});
  ASSERT_GT(id, 0u);
  auto state = cluster().WaitForJobState(id, {"COMPLETED"});
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*cluster().JobField(id, "Partition"), "gpu-fr-a100");
  EXPECT_EQ(*cluster().JobField(id, "Features"), "(site_paris-1|site_munich-1)");
  EXPECT_THAT(*cluster().JobField(id, "AdminComment"),
              MatchesRegex("sovereign:v1;id=[0-9a-f-]+;ds=patients-eu;region=eu;reg=[0-9a-f]{12}"));
  EXPECT_THAT(ReadText(absl::StrCat(cluster().output_dir(), "/", id, ".out")),
              MatchesRegex("node=fr-a100-[12]\n"));
  auto spooled = Spooled();
  ASSERT_EQ(spooled.size(), before + 1);
  EXPECT_EQ(spooled.back().request.user, kAlice);
  EXPECT_EQ(spooled.back().request.gpus, 1);
  EXPECT_EQ(spooled.back().decision.partition_name, "gpu-fr-a100");
  EXPECT_THAT(*cluster().JobField(id, "AdminComment"),
              HasSubstr("id=" + spooled.back().decision_id + ";"));
}

TEST_F(PluginE2ETest, RefusalsReachTheResearcherInSbatchOutput) {
  Publish();
  const size_t before = Spooled().size();
  CommandResult us = Sbatch(kAlice, {"--dataset=patients-eu", "-p", "gpu-us-h100", "--wrap", "true"});
  EXPECT_NE(us.exit_code, 0);
  EXPECT_THAT(us.err, MatchesRegex("(.|\n)*sbatch: error: sovereign: dataset patients-eu may only "
                                   "be processed in region eu; partitions you may use: "
                                   "gpu-de-h100, gpu-fr-a100 \\[decision [0-9a-f-]+\\](.|\n)*"));
  CommandResult unknown = Sbatch(kAlice, {"--dataset=patiens-eu", "--wrap", "true"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_THAT(unknown.err, HasSubstr("sbatch: error: sovereign: unknown dataset \"patiens-eu\" "
                                     "(did you mean \"patients-eu\"?)"));
  CommandResult bob = Sbatch(kBob, {"--dataset=patients-eu", "--wrap", "true"});
  EXPECT_NE(bob.exit_code, 0);
  EXPECT_THAT(bob.err, HasSubstr("sbatch: error: sovereign: user sov-bob may not use dataset "
                                 "patients-eu (allowed groups: oncology); ask the data steward "
                                 "to add you"));
  CommandResult comment = Sbatch(kAlice, {"--comment=dataset:finance-in,patients-eu", "--wrap", "true"});
  EXPECT_NE(comment.exit_code, 0);
  EXPECT_THAT(comment.err, HasSubstr("user sov-alice may not use dataset finance-in"));
  // Every decision, refusals included, is written down.
  EXPECT_EQ(Spooled().size(), before + 4);
}

TEST_F(PluginE2ETest, MovingATaggedJobOutOfRegionIsRefused) {
  Publish();
  uint32_t id = SubmitOk(kAlice, {"--dataset=patients-eu", "--hold", "--wrap", "true"});
  ASSERT_GT(id, 0u);
  EXPECT_EQ(*cluster().JobField(id, "Partition"), "gpu-fr-a100");
  CommandResult move = cluster().Run({"scontrol", "update", absl::StrCat("jobid=", id),
                                      "partition=gpu-us-h100"});
  EXPECT_NE(move.exit_code, 0) << move.Describe();
  EXPECT_THAT(move.err, HasSubstr("Access/permission denied"));
  EXPECT_EQ(*cluster().JobField(id, "Partition"), "gpu-fr-a100");
  EXPECT_THAT(ReadText(cluster().log_dir() + "/slurmctld.log"),
              HasSubstr("partition gpu-us-h100 (site sanjose-1): region us is not allowed for "
                        "patients-eu"));
  // Inside the region the change goes through.
  CommandResult inside = cluster().Run({"scontrol", "update", absl::StrCat("jobid=", id),
                                        "partition=gpu-de-h100"});
  EXPECT_EQ(inside.exit_code, 0) << inside.Describe();
  EXPECT_EQ(*cluster().JobField(id, "Partition"), "gpu-de-h100");
  // The researcher cannot rewrite the tag: Slurm keeps admin_comment for operators ...
  CommandResult user_tag = cluster().Run({"runuser", "-u", kAlice, "--", "scontrol", "update",
                                          absl::StrCat("jobid=", id), "admincomment=free"});
  EXPECT_NE(user_tag.exit_code, 0);
  // ... and the plugin refuses even an operator's change of it.
  CommandResult root_tag = cluster().Run({"scontrol", "update", absl::StrCat("jobid=", id),
                                          "admincomment=sovereign:v1;id=x;ds=;region=us;reg=0"});
  EXPECT_NE(root_tag.exit_code, 0);
  EXPECT_THAT(*cluster().JobField(id, "AdminComment"), StartsWith("sovereign:v1;id="));
  cluster().Run({"scancel", absl::StrCat(id)});
}

TEST_F(PluginE2ETest, ArrayTasksAllRunInRegion) {
  Publish();
  uint32_t id = SubmitOk(kAlice, {"--dataset=patients-eu", "--array=0-3", "--wrap",
                                  "echo node=$SLURMD_NODENAME"});
  ASSERT_GT(id, 0u);
  for (int task = 0; task < 4; ++task) {
    std::string task_id = absl::StrCat(id, "_", task);
    CommandResult r;
    // Array tasks finish at their own pace: poll each (bounded).
    for (int i = 0; i < 60; ++i) {
      r = cluster().Run({"scontrol", "show", "job", "-o", task_id});
      if (r.out.find("JobState=COMPLETED") != std::string::npos) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    EXPECT_THAT(r.out, HasSubstr("JobState=COMPLETED")) << r.Describe();
    EXPECT_THAT(r.out, MatchesRegex(".*Partition=gpu-(fr-a100|de-h100) .*"));
    EXPECT_THAT(r.out, MatchesRegex(".*NodeList=(fr-a100|de-h100)-[12] .*"));
  }
}

TEST_F(PluginE2ETest, GarbageSnapshotKeepsTheLastGoodRegister) {
  Publish();
  {
    std::ofstream out(SnapshotPath(), std::ios::trunc);
    out << "garbage";
  }
  // The plugin has read the garbage and says so, naming the snapshot it keeps deciding from.
  absl::Status kept = cluster().WaitForControllerLog(absl::StrCat(
      "error: job_submit/sovereign: kept the snapshot published ",
      absl::FormatTime(absl::RFC3339_full, published_at(), absl::UTCTimeZone()),
      " (register ", std::string((*Register::Parse(ExampleRegister(), "r"))->short_version()),
      "): snapshot ", SnapshotPath(), ": no header line (not a sovereign snapshot)\n"));
  ASSERT_TRUE(kept.ok()) << kept;
  uint32_t id = SubmitOk(kAlice, {"--dataset=patients-eu", "--hold", "--wrap", "true"});
  ASSERT_GT(id, 0u);
  EXPECT_EQ(*cluster().JobField(id, "Partition"), "gpu-fr-a100");
  cluster().Run({"scancel", absl::StrCat(id)});
}

// A job's datasets are the union of every declaration: the tests below submit held jobs
// (placement and tag are decided at submission) and read the tag slurmctld keeps.

// A job script every user can read, in the cluster's output folder.
std::string WriteScript(const std::string& dir, const std::string& name, const std::string& text) {
  const std::string path = dir + "/" + name;
  std::ofstream(path) << text;
  chmod(path.c_str(), 0755);
  return path;
}

// Polls `path` until it holds a complete line (bounded), and returns its contents.
absl::StatusOr<std::string> WaitForLine(const std::string& path, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  std::string text;
  while (absl::Now() < deadline) {
    text = ReadText(path);
    if (text.find('\n') != std::string::npos) {
      return text;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return absl::DeadlineExceededError(absl::StrCat(path, " has no complete line after ",
                                                  absl::FormatDuration(timeout), ": \"", text,
                                                  "\""));
}

constexpr char kEuPartition[] = "gpu-(fr-a100|de-h100)";

TEST_F(PluginE2ETest, ScriptAndCommandLineDatasetsAddUp) {
  Publish();
  const std::string script = WriteScript(cluster().output_dir(), "script-and-cli.sh",
                                         "#!/bin/sh\n#SBATCH --dataset=patients-eu\ntrue\n");
  uint32_t id = SubmitOk(kAlice, {"--dataset=imagenet-public", "--hold", script});
  ASSERT_GT(id, 0u);
  EXPECT_THAT(*cluster().JobField(id, "AdminComment"),
              MatchesRegex("sovereign:v1;id=[0-9a-f-]+;ds=imagenet-public,patients-eu;region=eu;"
                           "reg=[0-9a-f]{12}"));
  EXPECT_THAT(*cluster().JobField(id, "Partition"), MatchesRegex(kEuPartition));
  cluster().Run({"scancel", absl::StrCat(id)});
}

TEST_F(PluginE2ETest, RepeatedDatasetOptionsAllCount) {
  Publish();
  uint32_t id = SubmitOk(kAlice, {"--dataset=patients-eu", "--dataset=imagenet-public", "--hold",
                                  "--wrap", "true"});
  ASSERT_GT(id, 0u);
  EXPECT_THAT(*cluster().JobField(id, "AdminComment"),
              HasSubstr(";ds=imagenet-public,patients-eu;region=eu;"));
  EXPECT_THAT(*cluster().JobField(id, "Partition"), MatchesRegex(kEuPartition));
  cluster().Run({"scancel", absl::StrCat(id)});
}

TEST_F(PluginE2ETest, CommentKeyIsCaseInsensitive) {
  Publish();
  uint32_t id = SubmitOk(kAlice, {"--comment=Dataset:patients-eu", "--hold", "--wrap", "true"});
  ASSERT_GT(id, 0u);
  EXPECT_THAT(*cluster().JobField(id, "AdminComment"), HasSubstr(";ds=patients-eu;region=eu;"));
  EXPECT_THAT(*cluster().JobField(id, "Partition"), MatchesRegex(kEuPartition));
  cluster().Run({"scancel", absl::StrCat(id)});
}

TEST_F(PluginE2ETest, UnreadableCommentDeclarationIsRefused) {
  Publish();
  CommandResult r = Sbatch(kAlice, {"--comment=dataset: patients-eu", "--wrap", "true"});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.err, HasSubstr("sbatch: error: sovereign: cannot read the dataset declaration "
                               "\"dataset: patients-eu\" in --comment; write \"dataset:\" and the "
                               "names as one word, without spaces, e.g. "
                               "--comment=dataset:patients-eu or "
                               "--comment=dataset:patients-eu,imagenet-public"));
}

TEST_F(PluginE2ETest, AJobSubmittedFromInsideALabelledJobInheritsItsDatasets) {
  Publish();
  // The outer job submits the inner one with sbatch, as a pipeline step would, and writes
  // the inner job's id to its output file.
  const std::string out = cluster().output_dir();
  uint32_t outer = SubmitOk(
      kAlice, {"--dataset=patients-eu", "--wrap",
               absl::StrCat("sbatch --parsable --hold -o ", out,
                            "/inner-%j.out --dataset=imagenet-public --wrap true")});
  ASSERT_GT(outer, 0u);
  absl::StatusOr<std::string> line =
      WaitForLine(absl::StrCat(out, "/", outer, ".out"), absl::Seconds(60));
  ASSERT_TRUE(line.ok()) << line.status();
  uint32_t inner = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(*line), &inner)) << *line;
  EXPECT_THAT(*cluster().JobField(inner, "AdminComment"),
              HasSubstr(";ds=imagenet-public,patients-eu;region=eu;"));
  EXPECT_THAT(*cluster().JobField(inner, "Partition"), MatchesRegex(kEuPartition));
  cluster().Run({"scancel", absl::StrCat(inner)});
}

// Slurm itself hands the outer job's last --dataset value to an sbatch run inside it (the
// job's SLURM_SPANK__SLURM_SPANK_OPTION_* variable). A parent that declared its dataset in the
// comment has no such variable: only the parent-job lookup carries it to the inner job.
TEST_F(PluginE2ETest, AJobSubmittedFromInsideACommentLabelledJobInheritsItsDatasets) {
  Publish();
  const std::string out = cluster().output_dir();
  uint32_t outer = SubmitOk(
      kAlice, {"--comment=dataset:patients-eu", "--wrap",
               absl::StrCat("sbatch --parsable --hold -o ", out, "/inner-%j.out --wrap true")});
  ASSERT_GT(outer, 0u);
  absl::StatusOr<std::string> line =
      WaitForLine(absl::StrCat(out, "/", outer, ".out"), absl::Seconds(60));
  ASSERT_TRUE(line.ok()) << line.status();
  uint32_t inner = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(*line), &inner)) << *line;
  EXPECT_THAT(*cluster().JobField(inner, "AdminComment"), HasSubstr(";ds=patients-eu;region=eu;"));
  EXPECT_THAT(*cluster().JobField(inner, "Partition"), MatchesRegex(kEuPartition));
  cluster().Run({"scancel", absl::StrCat(inner)});
}

// The cluster view counts GPUs that running jobs hold as busy (slurmctld reports a node's used
// GRES only when asked for details).
TEST_F(PluginE2ETest, TheClusterViewSeesAllocatedGpusAsBusyAndPlacementAvoidsThem) {
  Publish();
  std::vector<uint32_t> ids;
  for (int i = 0; i < 2; ++i) {
    CommandResult r = cluster().Run({"sbatch", "--parsable", "-o", "/dev/null", "-p",
                                     "gpu-fr-a100", "--gres=gpu:a100:2", "--wrap", "sleep 120"});
    uint32_t id = 0;
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(r.out), &id)) << r.Describe();
    ids.push_back(id);
  }
  for (uint32_t id : ids) {
    ASSERT_TRUE(cluster().WaitForJobState(id, {"RUNNING"}).ok());
  }
  // Running jobs are the jobs with steps, which the reconciler follows between full reads of
  // the job table (the batch step appears just after the job starts: polled, bounded).
  absl::StatusOr<std::vector<uint32_t>> with_steps = slurm::ReadJobsWithSteps();
  for (absl::Time deadline = absl::Now() + absl::Seconds(30);
       with_steps.ok() && absl::Now() < deadline &&
       !std::includes(with_steps->begin(), with_steps->end(), ids.begin(), ids.end());
       with_steps = slurm::ReadJobsWithSteps()) {
    absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(with_steps.ok()) << with_steps.status();
  EXPECT_THAT(*with_steps, ::testing::IsSupersetOf(ids));
  absl::StatusOr<ClusterSnapshot> view = slurm::ReadClusterSnapshot(absl::Now());
  ASSERT_TRUE(view.ok()) << view.status();
  for (const PartitionStatus& p : view->partitions) {
    if (p.name == "gpu-fr-a100") {
      EXPECT_EQ(p.gpus_total, 4);
      EXPECT_EQ(p.gpus_free, 0);
    } else if (p.name == "gpu-de-h100") {
      EXPECT_EQ(p.gpus_free, 4);
    }
  }
  // A patients-eu job then goes where GPUs are free, not to the full (and more efficient) one.
  Publish();
  const uint32_t next = SubmitOk(kAlice, {"--dataset=patients-eu", "--gres=gpu:1", "--hold",
                                          "--wrap", "true"});
  EXPECT_EQ(*cluster().JobField(next, "Partition"), "gpu-de-h100");
  absl::StatusOr<std::vector<uint32_t>> after = slurm::ReadJobsWithSteps();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_THAT(*after, ::testing::Not(::testing::Contains(next)));  // held: no step
  ids.push_back(next);
  for (uint32_t id : ids) {
    cluster().Run({"scancel", absl::StrCat(id)});
  }
}

}  // namespace
}  // namespace sovereign::e2e
