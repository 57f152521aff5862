#include "submit_filter.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>

#include "support/child_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "sovereign/file_io.h"
#include "sovereign/spool_record.h"
#include "support/temp_dir.h"

namespace sovereign::plugin {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::StartsWith;

class FakeUsers : public UserDirectory {
 public:
  absl::StatusOr<UserInfo> Lookup(uint32_t uid) override {
    if (uid == 1000) {
      return UserInfo{"alice", {"alice", "oncology"}};
    }
    if (uid == 1001) {
      return UserInfo{"bob", {"bob"}};
    }
    return absl::NotFoundError(absl::StrCat("uid ", uid, " is not known on the controller"));
  }
};

// A job_desc_msg_t with the strings it points to.
struct Job {
  explicit Job(uint32_t uid = 1000) {
    std::memset(&d, 0, sizeof d);
    d.min_nodes = NO_VAL;
    d.time_limit = 120;
    d.num_tasks = NO_VAL;
    d.user_id = uid;
  }
  void Datasets(const std::string& list) {
    env = "SOVEREIGN_DATASETS=" + list;  // as spank_job_control_setenv() stores it
    env_ptrs[0] = env.data();
    d.spank_job_env = env_ptrs;
    d.spank_job_env_size = 1;
  }
  void Partition(const std::string& p) {
    partition = p;
    d.partition = partition.data();
  }
  void Gpus(const std::string& tres) {
    gres = tres;
    d.tres_per_node = gres.data();
  }
  job_desc_msg_t d;
  std::string env, partition, gres;
  char* env_ptrs[1];
};

class SubmitFilterTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    options_.snapshot_path = dir_ + "/snapshot";
    options_.spool_dir = dir_ + "/spool";
  }

  void Publish(absl::Time cluster_taken_at) {
    const std::string yaml = testing::ExampleRegisterYaml();
    auto reg = Register::Parse(yaml, "register.yaml");
    ASSERT_TRUE(reg.ok());
    ClusterSnapshot cluster;
    cluster.taken_at = cluster_taken_at;
    for (const auto& p : (*reg)->partitions()) {
      cluster.partitions.push_back({p.name, PartitionState::kUp, 2, 4, 4, {}, {}, {}});
    }
    cluster.nodes = nodes_;
    ASSERT_TRUE(WriteFileAtomically(
                    options_.snapshot_path,
                    snapshot::EncodeSnapshot(yaml, "register.yaml", **reg, cluster, now_))
                    .ok());
    if (filter_ != nullptr) {
      filter_->watcher().CheckNow();
    }
  }

  void Start() {
    auto f = SubmitFilter::Create(options_, std::make_unique<FakeUsers>(), log_);
    ASSERT_TRUE(f.ok()) << f.status();
    filter_ = *std::move(f);
  }

  std::vector<spool::SpooledDecision> Spooled() {
    auto reader = spool::SpoolReader::Open(options_.spool_dir);
    EXPECT_TRUE(reader.ok());
    auto res = (*reader)->ReadNew(1000);
    EXPECT_TRUE(res.ok());
    std::vector<spool::SpooledDecision> out;
    for (const auto& r : res->records) {
      auto d = spool::DecodeSpooledDecision(r.payload);
      EXPECT_TRUE(d.ok()) << d.status();
      out.push_back(*d);
    }
    return out;
  }

  std::vector<NodeStatus> nodes_;  // the published cluster's nodes (none by default)
  PluginSettings options_;
  FilterLog log_;  // what the filter would write to slurmctld's log (nothing by default)
  std::unique_ptr<SubmitFilter> filter_;
  absl::Time now_ = absl::FromUnixSeconds(1795000000);
};

TEST_F(SubmitFilterTest, WithoutASnapshotLabelledJobsAreRefusedSayingWhy) {
  Start();
  Job job;
  job.Datasets("patients-eu");
  SubmitAnswer a = filter_->Submit(job.d, 1000, now_);
  EXPECT_FALSE(a.accept);
  EXPECT_EQ(a.slurm_error, ESLURM_INVALID_FEATURE);
  EXPECT_EQ(a.message,
            "sovereign: cannot place jobs yet: no valid sovereignty register has been published "
            "(snapshot " + options_.snapshot_path +
                ": cannot open: No such file or directory); jobs stay refused until sovereignd "
                "publishes one: ask your cluster admins");
}

TEST_F(SubmitFilterTest, PlacesTagsAndSpoolsBeforeAnswering) {
  Publish(now_);
  Start();
  Job job;
  job.Datasets("patients-eu");
  job.Gpus("gres:gpu:2");
  SubmitAnswer a = filter_->Submit(job.d, 1000, now_);
  ASSERT_TRUE(a.accept) << a.message;
  EXPECT_EQ(a.partition, "gpu-fr-a100");
  // The node-set guard: only nodes of the sites patients-eu allows (not fra-cloud-1, whose
  // operator is under US jurisdiction).
  EXPECT_EQ(a.features, "(site_paris-1|site_munich-1)");
  EXPECT_THAT(a.admin_comment,
              MatchesRegex("sovereign:v1;id=[0-9a-f]+-[0-9a-f]+-0;ds=patients-eu;region=eu;"
                           "reg=[0-9a-f]{12}"));
  auto spooled = Spooled();
  ASSERT_EQ(spooled.size(), 1u);
  const auto& rec = spooled[0];
  EXPECT_THAT(a.admin_comment, HasSubstr("id=" + rec.decision_id + ";"));
  EXPECT_EQ(rec.request.user, "alice");
  EXPECT_EQ(rec.request.gpus, 2);
  EXPECT_EQ(rec.request.time_limit, absl::Hours(2));
  EXPECT_EQ(rec.decision.partition_name, "gpu-fr-a100");
  EXPECT_EQ(rec.decision.verdict, Verdict::kPlace);
  EXPECT_EQ(rec.decision.candidates.size(), 5u);
  EXPECT_FALSE(rec.stale_cluster);
  EXPECT_EQ(rec.decision.decided_at, now_);
}

TEST_F(SubmitFilterTest, UserFeaturesKeepTheSiteGuardAsTheLastAndTerm) {
  Publish(now_);
  Start();
  Job job;
  job.Datasets("patients-eu");
  char features[] = "gpu_a100|gpu_h100";
  job.d.features = features;
  // Slurm evaluates & and | left to right: ((gpu_a100|gpu_h100)&(site...)).
  EXPECT_EQ(filter_->Submit(job.d, 1000, now_).features,
            "gpu_a100|gpu_h100&(site_paris-1|site_munich-1)");
  // Node counts: Slurm enforces only the counted terms, which would drop the guard.
  char counted[] = "gpu_a100*1";
  job.d.features = counted;
  SubmitAnswer a = filter_->Submit(job.d, 1000, now_);
  EXPECT_FALSE(a.accept);
  EXPECT_EQ(a.message,
            "sovereign: --constraint \"gpu_a100*1\" uses node counts (*N), which cannot be "
            "combined with the guard that keeps the job on the sites its datasets allow; drop "
            "the counts or submit without them");
  // A job without datasets in an any-region register is not confined.
  Job open;
  EXPECT_EQ(filter_->Submit(open.d, 1000, now_).features, "");
}

// Hostile job descriptions: every value a user controls, far too long or full of bytes that
// are not text. Each is answered (refused or placed, never a crash), and what the user sees and
// what goes into slurmctld's log (written under its locks) stays short: a refusal quotes at most
// a bounded prefix of what it was given.
TEST_F(SubmitFilterTest, HostileValuesGetABoundedAnswer) {
  Publish(now_);
  Start();
  const std::string mib(1 << 20, 'x');
  std::string many;  // 10,000 dataset names
  for (int i = 0; i < 10000; ++i) {
    absl::StrAppend(&many, i == 0 ? "" : ",", "dataset-", i);
  }
  std::string binary;  // every byte but NUL, invalid UTF-8 included, 4,000 times
  for (int i = 0; i < 4000; ++i) {
    for (int c = 1; c < 256; ++c) {
      binary.push_back(static_cast<char>(c));
    }
  }
  struct Case {
    std::string name;
    std::function<void(Job&, std::string&)> set;
  };
  const std::vector<Case> cases = {
      {"1 MiB dataset name", [&](Job& j, std::string&) { j.Datasets(mib); }},
      {"10,000 datasets", [&](Job& j, std::string&) { j.Datasets(many); }},
      {"binary dataset name", [&](Job& j, std::string&) { j.Datasets(binary); }},
      {"1 MiB comment declaration",
       [&](Job& j, std::string& keep) {
         keep = "dataset:" + mib;
         j.d.comment = keep.data();
       }},
      {"10,000 datasets in the comment",
       [&](Job& j, std::string& keep) {
         keep = "dataset:" + many;
         j.d.comment = keep.data();
       }},
      {"1 MiB account", [&](Job& j, std::string& keep) {
         keep = mib;
         j.d.account = keep.data();
       }},
      {"1 MiB partition", [&](Job& j, std::string&) { j.Partition(mib); }},
      {"10,000 partitions", [&](Job& j, std::string&) { j.Partition(many); }},
      {"binary partition", [&](Job& j, std::string&) { j.Partition(binary); }},
      {"1 MiB GRES", [&](Job& j, std::string&) { j.Gpus("gres:gpu:" + mib); }},
      {"binary GRES", [&](Job& j, std::string&) { j.Gpus(binary); }},
      {"1 MiB constraint with node counts",
       [&](Job& j, std::string& keep) {
         j.Datasets("patients-eu");
         keep = mib + "*1";
         j.d.features = keep.data();
       }},
  };
  for (const Case& c : cases) {
    Job job;
    std::string keep;
    c.set(job, keep);
    SubmitAnswer a = filter_->Submit(job.d, 1000, now_);
    if (a.accept) {  // left to Slurm, which refuses what it cannot parse itself
      EXPECT_LE(a.admin_comment.size() + a.features.size(), 1024u) << c.name;
    } else {
      EXPECT_THAT(a.message, StartsWith("sovereign: ")) << c.name;
    }
    EXPECT_LE(a.message.size(), 1024u) << c.name << ": " << a.message.substr(0, 300);
    EXPECT_LE(a.log_line.size(), 1024u) << c.name << ": " << a.log_line.substr(0, 300);
  }
}

TEST_F(SubmitFilterTest, GuardNamesOnlySitesWhoseFeatureSomeNodeCarries) {
  nodes_ = {{"fr-a100-1", {"gpu-fr-a100"}, {"region_eu", "site_paris-1"}},
            {"us-h100-1", {"gpu-us-h100"}, {"site_sanjose-1"}}};
  Publish(now_);
  Start();
  Job job;
  job.Datasets("patients-eu");
  SubmitAnswer a = filter_->Submit(job.d, 1000, now_);
  ASSERT_TRUE(a.accept) << a.message;
  EXPECT_EQ(a.features, "site_paris-1");
  // Nodes without site features: refused with the reason, not Slurm's "Invalid feature".
  nodes_ = {{"fr-a100-1", {"gpu-fr-a100"}, {"region_eu"}}};
  Publish(now_);
  a = filter_->Submit(job.d, 1000, now_);
  EXPECT_FALSE(a.accept);
  EXPECT_EQ(a.message,
            "sovereign: no node carries the site feature site_paris-1 of partition gpu-fr-a100, "
            "so the job cannot be kept on its allowed sites; ask your cluster admins to declare "
            "it (docs/admin.md)");
}

TEST_F(SubmitFilterTest, RefusalsCarryTheReasonAndAreSpooledToo) {
  Publish(now_);
  Start();
  Job job;
  job.Datasets("patients-eu");
  job.Partition("gpu-us-h100");
  SubmitAnswer a = filter_->Submit(job.d, 1000, now_);
  EXPECT_FALSE(a.accept);
  EXPECT_EQ(a.slurm_error, ESLURM_INVALID_PARTITION_NAME);
  EXPECT_THAT(a.message,
              MatchesRegex("sovereign: dataset patients-eu may only be processed in region eu; "
                           "partitions you may use: gpu-de-h100, gpu-fr-a100 \\[decision "
                           "[0-9a-f-]+\\]"));
  Job bob(1001);
  bob.Datasets("patients-eu");
  a = filter_->Submit(bob.d, 1001, now_);
  EXPECT_EQ(a.slurm_error, ESLURM_ACCESS_DENIED);
  EXPECT_THAT(a.message, StartsWith("sovereign: user bob may not use dataset patients-eu"));
  auto spooled = Spooled();
  ASSERT_EQ(spooled.size(), 2u);
  EXPECT_EQ(spooled[0].decision.code, RejectCode::kPartitionOutsideRegion);
  EXPECT_EQ(spooled[1].decision.code, RejectCode::kNotAuthorised);
}

TEST_F(SubmitFilterTest, UnknownUserAndBadDatasetSyntax) {
  Publish(now_);
  Start();
  Job ghost(4242);
  SubmitAnswer a = filter_->Submit(ghost.d, 4242, now_);
  EXPECT_EQ(a.slurm_error, ESLURM_USER_ID_MISSING);
  EXPECT_EQ(a.message, "sovereign: uid 4242 is not known on the controller");
  Job job;
  char comment[] = "dataset:patients-eu,";
  job.d.comment = comment;
  a = filter_->Submit(job.d, 1000, now_);
  EXPECT_FALSE(a.accept);
  EXPECT_EQ(a.message,
            "sovereign: empty dataset name in --comment \"patients-eu,\"; use a comma-separated "
            "list such as --dataset=patients-eu,imagenet-public");
}

TEST_F(SubmitFilterTest, UnreadableCommentDeclarationIsRefusedNotIgnored) {
  Publish(now_);
  Start();
  Job job;
  char comment[] = "dataset: patients-eu";
  job.d.comment = comment;
  SubmitAnswer a = filter_->Submit(job.d, 1000, now_);
  EXPECT_FALSE(a.accept);
  EXPECT_EQ(a.slurm_error, ESLURM_INVALID_FEATURE);
  EXPECT_EQ(a.message,
            "sovereign: cannot read the dataset declaration \"dataset: patients-eu\" in --comment; "
            "write \"dataset:\" and the names as one word, without spaces, e.g. "
            "--comment=dataset:patients-eu or --comment=dataset:patients-eu,imagenet-public");
  char capital[] = "Dataset:patients-eu";
  job.d.comment = capital;
  a = filter_->Submit(job.d, 1000, now_);
  ASSERT_TRUE(a.accept) << a.message;
  EXPECT_THAT(a.admin_comment, HasSubstr(";ds=patients-eu;region=eu;"));
}

TEST_F(SubmitFilterTest, AJobSubmittedFromInsideAJobInheritsItsDatasets) {
  Publish(now_);
  Start();
  Job job;
  job.Datasets("imagenet-public");
  char parent_id[] = "SLURM_JOB_ID=77";
  char* environment[] = {parent_id};
  job.d.environment = environment;
  job.d.env_size = 1;
  const char* parent_tag = "sovereign:v1;id=p-1;ds=patients-eu;region=eu;reg=0123456789ab";
  SubmitAnswer a = filter_->Submit(job.d, 1000, now_, parent_tag);
  ASSERT_TRUE(a.accept) << a.message;
  EXPECT_THAT(a.partition, MatchesRegex("gpu-(fr-a100|de-h100)"));
  EXPECT_THAT(a.admin_comment, HasSubstr(";ds=imagenet-public,patients-eu;region=eu;"));
  auto spooled = Spooled();
  ASSERT_EQ(spooled.size(), 1u);
  EXPECT_THAT(spooled[0].request.datasets, ::testing::ElementsAre("imagenet-public", "patients-eu"));

  // Bob may not use what the job he submits from holds.
  Job bob(1001);
  bob.d.environment = environment;
  bob.d.env_size = 1;
  a = filter_->Submit(bob.d, 1001, now_, parent_tag);
  EXPECT_FALSE(a.accept);
  EXPECT_THAT(a.message, StartsWith("sovereign: user bob may not use dataset patients-eu"));
}

TEST_F(SubmitFilterTest, AParentWithoutATagAddsNothingAMalformedOneRefuses) {
  Publish(now_);
  Start();
  Job job;
  char parent_id[] = "SPANK_SOVEREIGN_PARENT_JOB=77";
  char* spank_env[] = {parent_id};
  job.d.spank_job_env = spank_env;
  job.d.spank_job_env_size = 1;
  SubmitAnswer a = filter_->Submit(job.d, 1000, now_, "set by an admin");
  ASSERT_TRUE(a.accept) << a.message;
  EXPECT_THAT(a.admin_comment, HasSubstr(";ds=;"));
  a = filter_->Submit(job.d, 1000, now_, nullptr);
  ASSERT_TRUE(a.accept) << a.message;
  EXPECT_THAT(a.admin_comment, HasSubstr(";ds=;"));
  a = filter_->Submit(job.d, 1000, now_, "sovereign:v1;ds=patients-eu;region=eu");
  EXPECT_FALSE(a.accept);
  EXPECT_EQ(a.slurm_error, ESLURM_INVALID_FEATURE);
  EXPECT_EQ(a.message,
            "sovereign: this job was submitted from inside job 77, whose residency tag cannot be "
            "read (malformed sovereign tag \"sovereign:v1;ds=patients-eu;region=eu\": no decision "
            "id), so the datasets it inherits are unknown; ask your cluster admins");
}

TEST_F(SubmitFilterTest, StaleClusterViewScoresFromTheRegisterAndSaysSo) {
  Publish(now_ - absl::Hours(1));
  Start();
  Job job;
  job.Datasets("patients-eu");
  SubmitAnswer a = filter_->Submit(job.d, 1000, now_);
  ASSERT_TRUE(a.accept);
  auto spooled = Spooled();
  ASSERT_EQ(spooled.size(), 1u);
  EXPECT_TRUE(spooled[0].stale_cluster);
  EXPECT_THAT(spooled[0].decision.reason,
              HasSubstr("(cluster view older than 5m: scored from the register's static figures)"));
  // The static view has every partition up with all its GPUs free.
  EXPECT_EQ(spooled[0].decision.candidates[0].free_gpus, 128);
}

TEST_F(SubmitFilterTest, GarbageSnapshotKeepsTheLastGoodOne) {
  Publish(now_);
  Start();
  ASSERT_TRUE(WriteFileAtomically(options_.snapshot_path, "garbage").ok());
  filter_->watcher().CheckNow();
  Job job;
  job.Datasets("patients-eu");
  EXPECT_TRUE(filter_->Submit(job.d, 1000, now_).accept);
  EXPECT_FALSE(filter_->watcher().last_error().ok());
}

// Each new snapshot file is one line of slurmctld's log: taken (an admin sees when the plugin
// follows sovereignd, and which register it decides from), or not taken and why.
TEST_F(SubmitFilterTest, EachChangedSnapshotIsLoggedOnceTakenOrNot) {
  std::vector<std::string> info, error;
  log_.info = [&](const std::string& line) { info.push_back(line); };
  log_.error = [&](const std::string& line) { error.push_back(line); };
  Start();  // no snapshot yet: init says so itself
  ASSERT_TRUE(WriteFileAtomically(options_.snapshot_path, "garbage").ok());
  filter_->watcher().CheckNow();
  EXPECT_THAT(info, ::testing::IsEmpty());
  EXPECT_THAT(error, ::testing::ElementsAre(
                         "job_submit/sovereign: no snapshot to decide from: snapshot " +
                         options_.snapshot_path +
                         ": no header line (not a sovereign snapshot); labelled jobs are "
                         "refused until sovereignd publishes one"));

  now_ += absl::Nanoseconds(123456789);
  Publish(now_);
  filter_->watcher().CheckNow();  // the same file again: nothing more
  auto reg = Register::Parse(testing::ExampleRegisterYaml(), "register.yaml");
  ASSERT_TRUE(reg.ok());
  const std::string short_version((*reg)->short_version());
  EXPECT_THAT(info, ::testing::ElementsAre(
                        "job_submit/sovereign: took snapshot " + options_.snapshot_path +
                        " published 2026-11-18T11:06:40.123456789+00:00 (register " +
                        short_version + ")"));

  ASSERT_TRUE(WriteFileAtomically(options_.snapshot_path, "garbage\n{}").ok());
  filter_->watcher().CheckNow();
  ASSERT_EQ(error.size(), 2u);
  EXPECT_EQ(error[1], "job_submit/sovereign: kept the snapshot published "
                      "2026-11-18T11:06:40.123456789+00:00 (register " + short_version +
                      "): snapshot " + options_.snapshot_path +
                      ": bad header line (not a sovereign snapshot)");
  EXPECT_EQ(info.size(), 1u);
}

// A spool that cannot take the record: the job is refused (fail closed).
TEST_F(SubmitFilterTest, UnwritableSpoolRefusesTheJob) {
  Publish(now_);
  testing::ChildResult child = testing::RunInChild([&](const testing::Report& report) {
    // The filter (and its snapshot watcher thread) is made in the child: a fork while the
    // parent's watcher held its lock would leave the child's copy of the lock held forever.
    Start();
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit lim = {0, 0};  // no file may grow: every write fails with EFBIG
    setrlimit(RLIMIT_FSIZE, &lim);
    Job job;
    job.Datasets("patients-eu");
    SubmitAnswer a = filter_->Submit(job.d, 1000, now_);
    report((a.accept ? "accepted|" : "refused|") + a.message, 0);
  });
  const std::string& out = child.report;
  EXPECT_THAT(out, MatchesRegex("refused\\|sovereign: cannot record the placement decision, so "
                                "the job is refused \\(spool .*/spool/0000000000000001.spool: "
                                "cannot write decision record: File too large\\); ask your "
                                "cluster admins"));
}

TEST_F(SubmitFilterTest, ModifyHoldsEveryChangeToTheFullRuleAndSpoolsRefusals) {
  nodes_ = {{"fr-a100-1", {"gpu-fr-a100"}, {"site_paris-1"}},
            {"de-cloud-h100-1", {"gpu-de-cloud-h100"}, {"site_fra-cloud-1"}},
            {"us-h100-1", {"gpu-us-h100"}, {"site_sanjose-1"}}};
  Publish(now_);
  Start();
  CurrentJob job;
  job.job_id = 42;
  job.admin_comment = "sovereign:v1;id=abc-1;ds=patients-eu;region=eu;reg=0123456789ab";
  const std::string prefix = "sovereign: refused a change to job 42 by uid ";

  // Same region, operator under another jurisdiction: the region alone would let it through.
  Job change;
  change.Partition("gpu-de-cloud-h100");
  ModifyAnswer m = filter_->Modify(change.d, job, 1000, now_);
  EXPECT_FALSE(m.accept);
  EXPECT_THAT(m.log_line,
              MatchesRegex(prefix + "1000 \\(decision abc-1, datasets patients-eu\\): partition "
                                    "gpu-de-cloud-h100 \\(site fra-cloud-1\\): operator Example "
                                    "Cloud Inc. \\(Frankfurt region\\) is under US jurisdiction, "
                                    "not accepted for patients-eu \\[decision [0-9a-f-]+\\]"));
  change.Partition("gpu-de-h100");
  EXPECT_TRUE(filter_->Modify(change.d, job, 1000, now_).accept);
  change.Partition("gpu-nowhere");
  EXPECT_THAT(filter_->Modify(change.d, job, 0, now_).log_line,
              HasSubstr("by uid 0 (decision abc-1, datasets patients-eu): partition gpu-nowhere "
                        "is not in the sovereignty register"));
  // A job the plugin did not tag is not its business.
  change.Partition("gpu-us-h100");
  EXPECT_TRUE(filter_->Modify(change.d, CurrentJob{42, nullptr}, 1000, now_).accept);

  // Features must keep a guard that allows only allowed sites.
  Job features;
  char f1[] = "gpu_h100";
  features.d.features = f1;
  m = filter_->Modify(features.d, job, 1000, now_);
  EXPECT_FALSE(m.accept);
  EXPECT_THAT(m.log_line, HasSubstr("features \"gpu_h100\" do not end with a site guard "
                                    "(site_...); keep the guard (site_paris-1|site_munich-1) as "
                                    "the last term"));
  char f2[] = "gpu_h100&(site_munich-1|site_fra-cloud-1)";
  features.d.features = f2;
  EXPECT_THAT(filter_->Modify(features.d, job, 1000, now_).log_line,
              HasSubstr("allow site fra-cloud-1: operator Example Cloud Inc."));
  char f3[] = "gpu_h100&site_munich-1";
  features.d.features = f3;
  EXPECT_TRUE(filter_->Modify(features.d, job, 1000, now_).accept);

  // A node list is checked node by node against the nodes' sites.
  Job nodes;
  char n1[] = "us-h100-1";
  nodes.d.req_nodes = n1;
  EXPECT_THAT(filter_->Modify(nodes.d, job, 1000, now_).log_line,
              HasSubstr("node us-h100-1 (site sanjose-1): region us is not allowed for "
                        "patients-eu"));
  char n2[] = "fr-a100-[1-2]";
  nodes.d.req_nodes = n2;
  EXPECT_THAT(filter_->Modify(nodes.d, job, 1000, now_).log_line,
              HasSubstr("node fr-a100-2 has no known site: slurmctld does not list it"));
  char n3[] = "fr-a100-1";
  nodes.d.req_nodes = n3;
  EXPECT_TRUE(filter_->Modify(nodes.d, job, 1000, now_).accept);

  // An account or comment that declares a dataset the job was not placed for.
  Job account;
  char fintech[] = "FinTech-In";
  account.d.account = fintech;
  EXPECT_THAT(filter_->Modify(account.d, job, 1000, now_).log_line,
              HasSubstr("account fintech-in implies dataset finance-in, which the job was not "
                        "placed for; submit a new job under that account"));
  char oncology[] = "oncology";
  account.d.account = oncology;
  EXPECT_TRUE(filter_->Modify(account.d, job, 1000, now_).accept);
  Job comment;
  char c1[] = "dataset:imagenet-public";
  comment.d.comment = c1;
  EXPECT_THAT(filter_->Modify(comment.d, job, 1000, now_).log_line,
              HasSubstr("the comment declares dataset imagenet-public, which the job was not "
                        "placed for; submit a new job"));

  // The tag: never fewer datasets, and a new one only with a guard for it.
  Job retag;
  char other[] = "sovereign:v1;id=abc-2;ds=;region=us;reg=0123456789ab";
  retag.d.admin_comment = other;
  EXPECT_THAT(filter_->Modify(retag.d, job, 0, now_).log_line,
              HasSubstr("the new tag drops dataset patients-eu"));
  char more[] = "sovereign:v1;id=abc-2;ds=imagenet-public,patients-eu;region=eu;reg=0123456789ab";
  retag.d.admin_comment = more;
  EXPECT_THAT(filter_->Modify(retag.d, job, 0, now_).log_line,
              HasSubstr("a tag with more datasets must come with features that carry its "
                        "site guard"));
  char guard[] = "site_paris-1";
  retag.d.features = guard;
  EXPECT_TRUE(filter_->Modify(retag.d, job, 0, now_).accept);
  // The same datasets with a note after the tag (a hold reason): nothing to re-guard.
  Job note;
  char held[] = "sovereign:v1;id=abc-1;ds=patients-eu;region=eu;reg=0123456789ab; held: why";
  note.d.admin_comment = held;
  EXPECT_TRUE(filter_->Modify(note.d, job, 0, now_).accept);

  // Changes that do not touch residency are not looked at.
  Job limit;
  limit.d.time_limit = 60;
  EXPECT_TRUE(filter_->Modify(limit.d, job, 1000, now_).accept);

  // Every refusal above is an audit record: a rejected decision bound to the job.
  std::vector<spool::SpooledDecision> spooled = Spooled();
  ASSERT_EQ(spooled.size(), 10u);
  EXPECT_EQ(spooled[0].source, "plugin-modify");
  EXPECT_EQ(spooled[0].job_id, 42u);
  EXPECT_EQ(spooled[0].decision.code, RejectCode::kModificationRefused);
  EXPECT_EQ(spooled[0].request.user, "alice");
  EXPECT_THAT(spooled[0].request.partitions, ::testing::ElementsAre("gpu-de-cloud-h100"));
  EXPECT_THAT(spooled[0].decision.reason,
              StartsWith("refused a change to job 42 by uid 1000 (decision abc-1"));
}

TEST_F(SubmitFilterTest, ModifyWithoutARegisterRefusesResidencyChangesOnly) {
  Start();
  CurrentJob job{7, "sovereign:v1;id=abc-1;ds=patients-eu;region=eu;reg=0123456789ab"};
  Job change;
  change.Partition("gpu-fr-a100");
  EXPECT_THAT(filter_->Modify(change.d, job, 0, now_).log_line,
              HasSubstr("no sovereignty register has been published, so the change cannot be "
                        "checked"));
  Job limit;
  limit.d.time_limit = 60;
  EXPECT_TRUE(filter_->Modify(limit.d, job, 0, now_).accept);
}

// The lines for a change refused before the filter judged it name the job and who asked, as
// the filter's own refusals do.
TEST(RefusedChangeLineTest, NamesTheJobAndTheUid) {
  EXPECT_EQ(RefusedChangeLine(12, 1000, "job_submit/sovereign is not initialised, so the change "
                                        "cannot be checked"),
            "sovereign: refused a change to job 12 by uid 1000: job_submit/sovereign is not "
            "initialised, so the change cannot be checked");
}

}  // namespace
}  // namespace sovereign::plugin
