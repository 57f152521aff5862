// The mini-cluster end to end: real munged, slurmctld and slurmd, real sbatch/srun/salloc.
// Checks that each partition runs jobs on its own nodes, that GPUs exist as typed GRES, and
// that the SPANK plugin's --dataset reaches slurmctld (or is refused by sbatch itself).
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "support/minicluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sovereign::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class ClusterE2ETest : public ::testing::Test {
 protected:
  // One cluster per test binary run; CTest runs each test in its own process, so each test
  // then has a fresh cluster.
  static void SetUpTestSuite() {
    MiniClusterOptions options;
    options.spank_so = SOVEREIGN_SPANK_SO;
    options.record_spank_env = true;
    absl::StatusOr<std::unique_ptr<MiniCluster>> c = MiniCluster::Start(std::move(options));
    if (c.ok()) {
      cluster_ = c->release();
    } else {
      start_error_ = new std::string(c.status().ToString());
    }
  }

  static void TearDownTestSuite() {
    if (cluster_ != nullptr) {
      const bool failed = ::testing::UnitTest::GetInstance()->Failed();
      cluster_->set_keep_dir(failed);
      // A sanitizer report from a Slurm program that loaded the SPANK plugin fails the test here.
      const absl::Status stopped = cluster_->Stop();
      EXPECT_TRUE(stopped.ok()) << stopped;
      if (failed || !stopped.ok()) {
        fprintf(stderr, "mini-cluster state and logs kept in %s\n", cluster_->dir().c_str());
      }
      delete cluster_;
      cluster_ = nullptr;
    }
    delete start_error_;
    start_error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << (start_error_ ? *start_error_ : "no cluster");
  }

  MiniCluster& cluster() { return *cluster_; }

  std::string OutputPath(uint32_t job_id) {
    return absl::StrCat(cluster().output_dir(), "/", job_id, ".out");
  }

  // Submits `sbatch -o <output_dir>/%j.out <args>`, waits for COMPLETED, returns the output.
  std::string RunBatch(const std::vector<std::string>& args, uint32_t* job_id_out = nullptr) {
    // Options first: whatever follows a script path is the script's own arguments.
    std::vector<std::string> all = {"-o", cluster().output_dir() + "/%j.out"};
    all.insert(all.end(), args.begin(), args.end());
    absl::StatusOr<uint32_t> id = cluster().Submit(all);
    EXPECT_TRUE(id.ok()) << id.status();
    if (!id.ok()) {
      return "";
    }
    if (job_id_out != nullptr) {
      *job_id_out = *id;
    }
    absl::StatusOr<std::string> state = cluster().WaitForJobState(*id, {"COMPLETED"});
    EXPECT_TRUE(state.ok()) << state.status();
    absl::StatusOr<std::string> out = ReadFile(OutputPath(*id));
    EXPECT_TRUE(out.ok()) << out.status();
    return out.value_or("");
  }

  // The SPANK_* lines slurmctld held for the job (PrologSlurmctld's record).
  std::string ControllerSpankEnv(uint32_t job_id) {
    absl::StatusOr<std::string> env = ReadFile(cluster().ControllerSpankEnvPath(job_id));
    EXPECT_TRUE(env.ok()) << env.status();
    return env.value_or("");
  }

  // True when no job of that name exists (sbatch refused before submitting).
  void ExpectNoJobNamed(const std::string& name) {
    const CommandResult q = cluster().Run({"squeue", "-h", "-t", "all", "-n", name, "-o", "%i"});
    ASSERT_EQ(q.exit_code, 0) << q.Describe();
    EXPECT_EQ(q.out, "") << "a job named " << name << " was submitted";
  }

  static MiniCluster* cluster_;
  static std::string* start_error_;
};

MiniCluster* ClusterE2ETest::cluster_ = nullptr;
std::string* ClusterE2ETest::start_error_ = nullptr;

TEST_F(ClusterE2ETest, EveryPartitionRunsJobsOnItsOwnNodes) {
  const std::map<std::string, std::set<std::string>> partitions = {
      {"gpu-fr-a100", {"fr-a100-1", "fr-a100-2"}},
      {"gpu-de-h100", {"de-h100-1", "de-h100-2"}},
      {"gpu-de-cloud-h100", {"de-cloud-h100-1"}},
      {"gpu-us-h100", {"us-h100-1"}},
      {"gpu-in-l40s", {"in-l40s-1"}},
  };
  // Submit all first, then wait: the jobs run side by side.
  std::map<std::string, uint32_t> jobs;
  for (const auto& [partition, nodes] : partitions) {
    absl::StatusOr<uint32_t> id =
        cluster().Submit({"-p", partition, "-o", cluster().output_dir() + "/%j.out", "--wrap",
                          "echo \"$SLURMD_NODENAME\""});
    ASSERT_TRUE(id.ok()) << id.status();
    jobs[partition] = *id;
  }
  for (const auto& [partition, id] : jobs) {
    absl::StatusOr<std::string> state = cluster().WaitForJobState(id, {"COMPLETED"});
    ASSERT_TRUE(state.ok()) << state.status();
    absl::StatusOr<std::string> out = ReadFile(OutputPath(id));
    ASSERT_TRUE(out.ok()) << out.status();
    const std::string node(absl::StripTrailingAsciiWhitespace(*out));
    EXPECT_TRUE(partitions.at(partition).count(node) == 1)
        << "job " << id << " in " << partition << " ran on \"" << node << "\"";
    // slurmctld's record agrees with what the job saw.
    EXPECT_EQ(cluster().JobField(id, "NodeList").value_or("?"), node);
    EXPECT_EQ(cluster().JobField(id, "Partition").value_or("?"), partition);
  }
}

TEST_F(ClusterE2ETest, NodesCarryRegionAndSiteFeaturesAndTypedGpus) {
  const CommandResult r = cluster().Run({"sinfo", "-h", "-N", "-o", "%N %P %t %G %f"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  std::set<std::string> lines;
  for (absl::string_view line : absl::StrSplit(r.out, '\n', absl::SkipEmpty())) {
    lines.insert(std::string(line));
  }
  EXPECT_EQ(
      lines,
      (std::set<std::string>{
          "de-cloud-h100-1 gpu-de-cloud-h100 idle gpu:h100:2 region_eu,site_fra-cloud-1,gpu_h100",
          "de-h100-1 gpu-de-h100 idle gpu:h100:2 region_eu,site_munich-1,gpu_h100",
          "de-h100-2 gpu-de-h100 idle gpu:h100:2 region_eu,site_munich-1,gpu_h100",
          "fr-a100-1 gpu-fr-a100* idle gpu:a100:2 region_eu,site_paris-1,gpu_a100",
          "fr-a100-2 gpu-fr-a100* idle gpu:a100:2 region_eu,site_paris-1,gpu_a100",
          "in-l40s-1 gpu-in-l40s idle gpu:l40s:2 region_in,site_mumbai-1,gpu_l40s",
          "us-h100-1 gpu-us-h100 idle gpu:h100:2 region_us,site_sanjose-1,gpu_h100",
      }));
}

TEST_F(ClusterE2ETest, GpuJobsGetCudaVisibleDevices) {
  const std::string script = "echo \"${CUDA_VISIBLE_DEVICES-unset}\"";
  const std::string one = RunBatch({"-p", "gpu-de-h100", "--gres=gpu:h100:1", "--wrap", script});
  EXPECT_THAT(one, ::testing::MatchesRegex("[01]\n"));
  const std::string two = RunBatch({"-p", "gpu-us-h100", "--gres=gpu:h100:2", "--wrap", script});
  EXPECT_EQ(two, "0,1\n");
  const std::string none = RunBatch({"-p", "gpu-in-l40s", "--wrap", script});
  EXPECT_EQ(none, "unset\n");
}

TEST_F(ClusterE2ETest, GpuTypeTheNodesLackIsRefused) {
  const CommandResult r = cluster().Run({"sbatch", "-p", "gpu-fr-a100", "--gres=gpu:h100:1", "-J",
                                         "wrong-gpu-type", "--wrap", "true"});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.err,
            "sbatch: error: Batch job submission failed: Requested node configuration is not "
            "available\n");
}

TEST_F(ClusterE2ETest, DatasetOptionReachesTheController) {
  uint32_t with = 0;
  const std::string job_env = RunBatch(
      {"-p", "gpu-de-h100", "--dataset=patients-eu", "--wrap", "env | grep SPANK | sort"}, &with);
  // slurmctld holds it in the job's spank_job_env, where the job_submit plugin reads it.
  EXPECT_THAT(ControllerSpankEnv(with), HasSubstr("SPANK_SOVEREIGN_DATASETS=patients-eu\n"));
  // The job itself sees it only under sbatch's SLURM_SPANK_ prefix (sbatch exports it).
  EXPECT_THAT(job_env, HasSubstr("SLURM_SPANK_SOVEREIGN_DATASETS=patients-eu\n"));
  EXPECT_THAT(job_env, Not(HasSubstr("\nSPANK_SOVEREIGN_DATASETS=")));

  // Canonical form: white space and repeats dropped.
  uint32_t list = 0;
  RunBatch({"-p", "gpu-us-h100", "--dataset= imagenet-public ,patients-eu,imagenet-public",
            "--wrap", "true"},
           &list);
  EXPECT_THAT(ControllerSpankEnv(list),
              HasSubstr("SPANK_SOVEREIGN_DATASETS=imagenet-public,patients-eu\n"));

  uint32_t without = 0;
  RunBatch({"-p", "gpu-de-h100", "--wrap", "true"}, &without);
  EXPECT_THAT(ControllerSpankEnv(without), Not(HasSubstr("SOVEREIGN_DATASETS")));
}

// Unlike Slurm's own options, --dataset adds up: sbatch calls the option for the script's
// #SBATCH lines, then for the command line, so the script's names come first.
TEST_F(ClusterE2ETest, CommandLineAndScriptDatasetsAddUp) {
  const std::string script_path = cluster().output_dir() + "/with-directive.sh";
  {
    FILE* f = fopen(script_path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    fputs("#!/bin/sh\n#SBATCH --dataset=from-script\n#SBATCH -p gpu-fr-a100\ntrue\n", f);
    fclose(f);
  }
  uint32_t directive = 0;
  RunBatch({script_path}, &directive);
  EXPECT_THAT(ControllerSpankEnv(directive), HasSubstr("SPANK_SOVEREIGN_DATASETS=from-script\n"));
  uint32_t both = 0;
  RunBatch({"--dataset=from-command-line", "--dataset=from-script", script_path}, &both);
  EXPECT_THAT(ControllerSpankEnv(both),
              HasSubstr("SPANK_SOVEREIGN_DATASETS=from-script,from-command-line\n"));
}

TEST_F(ClusterE2ETest, SrunAndSallocPassTheDatasetToo) {
  // Both run the command with SLURM_JOB_ID set: it names the job whose record to read.
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"srun", "-p", "gpu-us-h100", "--dataset=genomes-us"}, "genomes-us"},
      {{"salloc", "-p", "gpu-in-l40s", "--dataset=census-in"}, "census-in"},
  };
  for (const auto& [command, datasets] : cases) {
    std::vector<std::string> argv = command;
    argv.insert(argv.end(), {"sh", "-c", "echo $SLURM_JOB_ID"});
    const CommandResult r = cluster().Run(argv);
    ASSERT_EQ(r.exit_code, 0) << r.Describe();
    uint32_t job_id = 0;
    ASSERT_TRUE(absl::SimpleAtoi(absl::StripTrailingAsciiWhitespace(r.out), &job_id)) << r.out;
    EXPECT_THAT(ControllerSpankEnv(job_id),
                HasSubstr("SPANK_SOVEREIGN_DATASETS=" + datasets + "\n"))
        << command[0];
  }
}

TEST_F(ClusterE2ETest, BadDatasetSyntaxIsRefusedBySbatch) {
  struct Case {
    std::string value;
    std::string error;  // our line; Slurm adds "Invalid --dataset argument: <value>"
  };
  const std::string rule =
      "names start with a letter or digit and use only letters, digits, '.', '_' and '-'";
  const std::vector<Case> cases = {
      {"bad name!", "--dataset: dataset \"bad name!\" has byte 0x20 at position 4; " + rule},
      {"patients-eu,,imagenet",
       "--dataset: name 2 of \"patients-eu,,imagenet\" is empty; separate names with single "
       "commas, e.g. --dataset=patients-eu,imagenet-public"},
      {"",
       "--dataset needs one or more dataset names, e.g. "
       "--dataset=patients-eu,imagenet-public"},
      {std::string(65, 'a'),
       "--dataset: dataset \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\" is 65 bytes long; "
       "the limit is 64"},
      {"a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q",
       "--dataset: more than 16 datasets; a job may declare at most 16, counting every "
       "--dataset option and #SBATCH --dataset line"},
  };
  int n = 0;
  for (const Case& c : cases) {
    const std::string name = absl::StrCat("bad-dataset-", n++);
    const CommandResult r =
        cluster().Run({"sbatch", "-J", name, "--dataset=" + c.value, "--wrap", "true"});
    EXPECT_NE(r.exit_code, 0) << r.Describe();
    EXPECT_EQ(r.out, "");
    EXPECT_EQ(r.err, absl::StrCat("sbatch: error: ", c.error,
                                  "\nsbatch: error: Invalid --dataset argument: ", c.value, "\n"))
        << r.Describe();
    ExpectNoJobNamed(name);
  }
  // srun checks the same way, before asking for an allocation.
  const CommandResult srun =
      cluster().Run({"srun", "-J", "bad-dataset-srun", "--dataset=-x", "true"});
  EXPECT_NE(srun.exit_code, 0);
  EXPECT_EQ(srun.err, "srun: error: --dataset: dataset \"-x\" has '-' at position 1; " + rule +
                          "\nsrun: error: Invalid --dataset argument: -x\n");
  ExpectNoJobNamed("bad-dataset-srun");
}

}  // namespace
}  // namespace sovereign::e2e
