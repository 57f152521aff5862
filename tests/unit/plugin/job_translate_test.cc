#include "job_translate.h"

#include <cstring>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sovereign::plugin {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

struct Desc {
  Desc() {
    std::memset(&d, 0, sizeof d);
    d.min_nodes = NO_VAL;
    d.time_limit = NO_VAL;
    d.num_tasks = NO_VAL;
    d.user_id = 1000;
  }
  job_desc_msg_t d;
};

const UserInfo kAlice{"alice", {"alice", "oncology"}};
const absl::Time kNow = absl::FromUnixSeconds(1795000000);

TEST(DeclaredDatasets, SpankOptionThenCommentDeduplicated) {
  Desc desc;
  char env0[] = "SPANK_OTHER=1";
  char env1[] = "SOVEREIGN_DATASETS=patients-eu,imagenet-public";
  char* env[] = {env0, env1};
  desc.d.spank_job_env = env;
  desc.d.spank_job_env_size = 2;
  char comment[] = "run 7; dataset:genomics-eu-us,patients-eu";
  desc.d.comment = comment;
  auto ds = DeclaredDatasets(desc.d);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_THAT(*ds, ElementsAre("patients-eu", "imagenet-public", "genomics-eu-us"));
}

TEST(DeclaredDatasets, NoneDeclared) {
  Desc desc;
  char comment[] = "just a comment";
  desc.d.comment = comment;
  EXPECT_THAT(*DeclaredDatasets(desc.d), IsEmpty());
}

TEST(DeclaredDatasets, EmptyNameIsRefusedWithAHint) {
  Desc desc;
  char env0[] = "SPANK_SOVEREIGN_DATASETS=patients-eu,,x";
  char* env[] = {env0};
  desc.d.spank_job_env = env;
  desc.d.spank_job_env_size = 1;
  auto ds = DeclaredDatasets(desc.d);
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().message(),
            "empty dataset name in --dataset \"patients-eu,,x\"; use a comma-separated list such "
            "as --dataset=patients-eu,imagenet-public");
  // A long list is quoted cut, not whole: the message reaches slurmctld's log.
  std::string long_list = "SPANK_SOVEREIGN_DATASETS=" + std::string(100000, 'x') + ",,";
  env[0] = long_list.data();
  ds = DeclaredDatasets(desc.d);
  ASSERT_FALSE(ds.ok());
  EXPECT_EQ(ds.status().message(),
            absl::StrCat("empty dataset name in --dataset \"", std::string(60, 'x'),
                         "...\"; use a comma-separated list such as "
                         "--dataset=patients-eu,imagenet-public"));
}

// DeclaredDatasets of a job whose only label channel is `comment`.
absl::StatusOr<std::vector<std::string>> FromComment(std::string comment) {
  Desc desc;
  desc.d.comment = comment.data();
  return DeclaredDatasets(desc.d);
}

std::string RefusalOf(const std::string& comment) {
  auto ds = FromComment(comment);
  EXPECT_FALSE(ds.ok()) << "accepted: " << comment;
  EXPECT_EQ(ds.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(ds.status().message());
}

std::string Unreadable(const std::string& typed) {
  return "cannot read the dataset declaration \"" + typed +
         "\" in --comment; write \"dataset:\" and the names as one word, without spaces, e.g. "
         "--comment=dataset:patients-eu or --comment=dataset:patients-eu,imagenet-public";
}

TEST(DeclaredDatasets, CommentKeyIsCaseInsensitiveNamesAreKept) {
  EXPECT_THAT(*FromComment("Dataset:patients-eu"), ElementsAre("patients-eu"));
  EXPECT_THAT(*FromComment("DATASETS:patients-eu,ImageNet"), ElementsAre("patients-eu", "ImageNet"));
  EXPECT_THAT(*FromComment("run 7;dataSet:a dataset:b;datasets:a"), ElementsAre("a", "b"));
}

TEST(DeclaredDatasets, SpankAndEveryCommentTokenAddUp) {
  Desc desc;
  char env0[] = "SPANK_SOVEREIGN_DATASETS=imagenet-public";
  char* env[] = {env0};
  desc.d.spank_job_env = env;
  desc.d.spank_job_env_size = 1;
  char comment[] = "Dataset:patients-eu datasets:genomics-eu-us,imagenet-public";
  desc.d.comment = comment;
  EXPECT_THAT(*DeclaredDatasets(desc.d),
              ElementsAre("imagenet-public", "patients-eu", "genomics-eu-us"));
}

TEST(DeclaredDatasets, UnreadableCommentDeclarationsAreRefusedQuotingWhatWasTyped) {
  EXPECT_EQ(RefusalOf("dataset=patients-eu"), Unreadable("dataset=patients-eu"));
  EXPECT_EQ(RefusalOf("run 7; Datasets=a,b"), Unreadable("Datasets=a,b"));
  EXPECT_EQ(RefusalOf("dataset: patients-eu"), Unreadable("dataset: patients-eu"));
  EXPECT_EQ(RefusalOf("dataset:"), Unreadable("dataset:"));
  EXPECT_EQ(RefusalOf("dataset: "), Unreadable("dataset:"));
  EXPECT_EQ(RefusalOf("dataset= x"), Unreadable("dataset= x"));
  EXPECT_EQ(RefusalOf("dataset = patients-eu"), Unreadable("dataset = patients-eu"));
  EXPECT_EQ(RefusalOf("datasets patients-eu"), Unreadable("datasets patients-eu"));
  EXPECT_EQ(RefusalOf("uses the dataset"), Unreadable("dataset"));
  // A readable declaration before an unreadable one does not make the job acceptable.
  EXPECT_EQ(RefusalOf("dataset:a;dataset=b"), Unreadable("dataset=b"));
  // Control bytes are shown escaped, long text is cut.
  EXPECT_EQ(RefusalOf("dataset:\tpatients-eu"), Unreadable("dataset:\\x09patients-eu"));
  EXPECT_EQ(RefusalOf("dataset=" + std::string(80, 'x')),
            Unreadable("dataset=" + std::string(52, 'x') + "..."));
}

TEST(DeclaredDatasets, CommentTextThatOnlyMentionsDatasetsIsNotADeclaration) {
  EXPECT_THAT(*FromComment("dataset_v2 datasets. mydataset:a datasetname=x"), IsEmpty());
  EXPECT_THAT(*FromComment("dataset-tools:3"), IsEmpty());
}

TEST(GreenWindow, SpankOptionWinsOverTheComment) {
  Desc desc;
  char comment[] = "run 7; green-window:2h";
  desc.d.comment = comment;
  auto from_comment = GreenWindow(desc.d);
  ASSERT_TRUE(from_comment.ok()) << from_comment.status();
  EXPECT_EQ(*from_comment, absl::Hours(2));
  char env0[] = "SPANK_SOVEREIGN_GREEN_WINDOW=6h";
  char* env[] = {env0};
  desc.d.spank_job_env = env;
  desc.d.spank_job_env_size = 1;
  EXPECT_EQ(*GreenWindow(desc.d), absl::Hours(6));
  Desc none;
  EXPECT_EQ(*GreenWindow(none.d), absl::ZeroDuration());
  char other[] = "my green-windows are clean";
  none.d.comment = other;
  EXPECT_EQ(*GreenWindow(none.d), absl::ZeroDuration());
}

TEST(GreenWindow, UnreadableValuesAreRefusedWithAnExample) {
  Desc desc;
  char comment[] = "green-window:soon";
  desc.d.comment = comment;
  EXPECT_EQ(GreenWindow(desc.d).status().message(),
            "cannot read the green window \"soon\" in --comment; give how far the start may "
            "move, longer than zero and at most 14d, e.g. --comment=green-window:6h");
  char spaced[] = "green-window: 6h";
  desc.d.comment = spaced;
  EXPECT_EQ(GreenWindow(desc.d).status().message(),
            "cannot read the green window \"green-window:\" in --comment; write it as one word, "
            "e.g. --comment=green-window:6h");
  Desc spank;
  char env0[] = "SOVEREIGN_GREEN_WINDOW=30d";
  char* env[] = {env0};
  spank.d.spank_job_env = env;
  spank.d.spank_job_env_size = 1;
  EXPECT_EQ(GreenWindow(spank.d).status().message(),
            "cannot read the green window \"30d\" in --green-window; give how far the start may "
            "move, longer than zero and at most 14d, e.g. --green-window=6h");
}

TEST(TranslateJobDesc, BeginTimeAndGreenWindow) {
  Desc desc;
  desc.d.begin_time = absl::ToTimeT(kNow) + 3600;
  char comment[] = "green-window:90m";
  desc.d.comment = comment;
  auto req = TranslateJobDesc(desc.d, kAlice, kNow);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->begin_time, kNow + absl::Hours(1));
  EXPECT_EQ(req->green_window, absl::Minutes(90));
  desc.d.begin_time = absl::ToTimeT(kNow) - 10;  // already past: none
  EXPECT_EQ(TranslateJobDesc(desc.d, kAlice, kNow)->begin_time, absl::InfinitePast());
}

TEST(ParentJobIds, SpankEnvironmentFirstWithOrWithoutPrefix) {
  Desc desc;
  char env0[] = "SPANK_SOVEREIGN_PARENT_JOB=41";
  char env1[] = "SOVEREIGN_DATASETS=x";
  char env2[] = "SOVEREIGN_PARENT_JOB=42";
  char* spank[] = {env0, env1, env2};
  desc.d.spank_job_env = spank;
  desc.d.spank_job_env_size = 3;
  char var0[] = "SLURM_JOB_ID=7";
  char* environment[] = {var0};
  desc.d.environment = environment;
  desc.d.env_size = 1;
  EXPECT_THAT(ParentJobIds(desc.d), ElementsAre(41u, 42u));
}

TEST(ParentJobIds, ElseSlurmJobIdInTheSubmittersEnvironment) {
  Desc desc;
  char var0[] = "HOME=/home/alice";
  char var1[] = "SLURM_JOB_IDX=5";
  char var2[] = "SLURM_JOB_ID=1234";
  char* environment[] = {var0, var1, var2};
  desc.d.environment = environment;
  desc.d.env_size = 3;
  EXPECT_THAT(ParentJobIds(desc.d), ElementsAre(1234u));
}

TEST(ParentJobIds, NoneOrNotAJobId) {
  Desc desc;
  EXPECT_THAT(ParentJobIds(desc.d), IsEmpty());
  char bad0[] = "SOVEREIGN_PARENT_JOB=12x";
  char* spank[] = {bad0};
  desc.d.spank_job_env = spank;
  desc.d.spank_job_env_size = 1;
  char var0[] = "SLURM_JOB_ID=0";
  char var1[] = "SLURM_JOB_ID=99999999999";
  char var2[] = "SLURM_JOB_ID=-3";
  char var3[] = "SLURM_JOB_ID=";
  char* environment[] = {var0, var1, var2, var3};
  desc.d.environment = environment;
  desc.d.env_size = 4;
  EXPECT_THAT(ParentJobIds(desc.d), IsEmpty());
}

TEST(TranslateJobDesc, GresPerNodeTimesNodes) {
  Desc desc;
  char account[] = "oncology";
  char partition[] = "gpu-fr-a100,gpu-de-h100";
  char tres[] = "gres:gpu:h100:2";
  desc.d.account = account;
  desc.d.partition = partition;
  desc.d.tres_per_node = tres;
  desc.d.min_nodes = 3;
  desc.d.time_limit = 90;
  auto req = TranslateJobDesc(desc.d, kAlice, kNow);
  ASSERT_TRUE(req.ok()) << req.status();
  EXPECT_EQ(req->user, "alice");
  EXPECT_EQ(req->uid, 1000u);
  EXPECT_THAT(req->groups, ElementsAre("alice", "oncology"));
  EXPECT_EQ(req->account, "oncology");
  EXPECT_THAT(req->partitions, ElementsAre("gpu-fr-a100", "gpu-de-h100"));
  EXPECT_EQ(req->gpus, 6);
  EXPECT_EQ(req->gpu_type, "h100");
  EXPECT_EQ(req->nodes, 3);
  EXPECT_EQ(req->time_limit, absl::Minutes(90));
  EXPECT_EQ(req->submit_time, kNow);
}

TEST(TranslateJobDesc, GpusPerJobWinsAndUnsetFieldsStayDefault) {
  Desc desc;
  char per_job[] = "gres:gpu:4";
  desc.d.tres_per_job = per_job;
  auto req = TranslateJobDesc(desc.d, kAlice, kNow);
  ASSERT_TRUE(req.ok());
  EXPECT_EQ(req->gpus, 4);
  EXPECT_EQ(req->nodes, 0);
  EXPECT_EQ(req->time_limit, absl::ZeroDuration());
  EXPECT_THAT(req->partitions, IsEmpty());
  EXPECT_EQ(req->account, "");
}

TEST(TranslateJobDesc, GpusPerTaskTimesTasks) {
  Desc desc;
  char per_task[] = "gres:gpu:1";
  desc.d.tres_per_task = per_task;
  desc.d.num_tasks = 8;
  EXPECT_EQ(TranslateJobDesc(desc.d, kAlice, kNow)->gpus, 8);
}

TEST(TranslateJobDesc, InfiniteTimeLimitUsesPolicyDefault) {
  Desc desc;
  desc.d.time_limit = INFINITE;
  EXPECT_EQ(TranslateJobDesc(desc.d, kAlice, kNow)->time_limit, absl::ZeroDuration());
}

}  // namespace
}  // namespace sovereign::plugin
