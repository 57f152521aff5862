// Residency after submission, on a real slurmctld with job_submit/sovereign: every way a placed
// job's partition, nodes or labels can change is refused by job_modify (for the owner and for
// root) or stopped by the site guard Slurm intersects with every allocation, and no tagged job
// starts on a node outside the sites its datasets allow.
#include <pwd.h>

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "support/plugin_cluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sovereign::e2e {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

constexpr char kGuard[] = "(site_paris-1|site_munich-1)";  // patients-eu: EU operators only

class ResidencyE2ETest : public PluginClusterTest {
 protected:
  // A held patients-eu job of sov-alice: placed on gpu-fr-a100 with the site guard.
  uint32_t HeldPatientsJob() {
    uint32_t id = SubmitOk(kAlice, {"--dataset=patients-eu", "--hold", "--wrap",
                                    "echo node=$SLURMD_NODENAME"});
    EXPECT_EQ(*cluster().JobField(id, "Partition"), "gpu-fr-a100");
    EXPECT_EQ(*cluster().JobField(id, "Features"), kGuard);
    return id;
  }

  CommandResult Update(const std::string& user, uint32_t id, const std::string& change) {
    std::vector<std::string> argv = {"scontrol", "update", absl::StrCat("jobid=", id), change};
    if (user != "root") {
      argv.insert(argv.begin(), {"runuser", "-u", user, "--"});
    }
    return cluster().Run(argv);
  }

  // Polls the job's Reason until `done` holds (bounded); returns the last one seen.
  std::string WaitForReason(uint32_t id, const std::function<bool(const std::string&)>& done) {
    std::string reason;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      reason = cluster().JobField(id, "Reason").value_or("");
      if (done(reason)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return reason;
  }

  std::string ControllerLog() { return ReadText(cluster().log_dir() + "/slurmctld.log"); }

  // The refusals spooled for `job_id` (rejected decisions from job_modify).
  std::vector<spool::SpooledDecision> RefusalsFor(uint32_t job_id) {
    std::vector<spool::SpooledDecision> out;
    for (spool::SpooledDecision& d : Spooled()) {
      if (d.job_id == job_id && d.source == "plugin-modify") {
        out.push_back(std::move(d));
      }
    }
    return out;
  }
};

TEST_F(ResidencyE2ETest, AMoveToASiteUnderAnotherJurisdictionIsRefusedForOwnerAndRoot) {
  Publish();
  const uint32_t id = HeldPatientsJob();
  // gpu-de-cloud-h100 is in region eu, but its operator answers to US law.
  for (const std::string user : {kAlice, "root"}) {
    CommandResult move = Update(user, id, "partition=gpu-de-cloud-h100");
    EXPECT_NE(move.exit_code, 0) << user << ": " << move.Describe();
    EXPECT_THAT(move.err, HasSubstr("Access/permission denied"));
  }
  EXPECT_EQ(*cluster().JobField(id, "Partition"), "gpu-fr-a100");
  EXPECT_THAT(ControllerLog(),
              HasSubstr(absl::StrCat("refused a change to job ", id, " by uid 0 (decision ")));
  // The owner's refusal names the owner's uid, not root's.
  const passwd* alice = getpwnam(kAlice);
  ASSERT_NE(alice, nullptr);
  EXPECT_THAT(ControllerLog(), HasSubstr(absl::StrCat("error: sovereign: refused a change to job ",
                                                      id, " by uid ", alice->pw_uid,
                                                      " (decision ")));
  EXPECT_THAT(ControllerLog(),
              HasSubstr("partition gpu-de-cloud-h100 (site fra-cloud-1): operator Example Cloud "
                        "Inc. (Frankfurt region) is under US jurisdiction, not accepted for "
                        "patients-eu"));
  // Both refusals are written down for the audit log, bound to the job.
  std::vector<spool::SpooledDecision> refusals = RefusalsFor(id);
  ASSERT_EQ(refusals.size(), 2u);
  EXPECT_EQ(refusals[0].request.user, kAlice);
  EXPECT_EQ(refusals[1].request.uid, 0u);
  EXPECT_EQ(refusals[0].decision.code, RejectCode::kModificationRefused);
  // Inside the allowed sites a move goes through, and the job runs there.
  CommandResult inside = Update(kAlice, id, "partition=gpu-de-h100");
  EXPECT_EQ(inside.exit_code, 0) << inside.Describe();
  ASSERT_EQ(cluster().Run({"scontrol", "release", absl::StrCat(id)}).exit_code, 0);
  ASSERT_TRUE(cluster().WaitForJobState(id, {"COMPLETED"}).ok());
  EXPECT_THAT(ReadText(absl::StrCat(cluster().output_dir(), "/", id, ".out")),
              MatchesRegex("node=de-h100-[12]\n"));
}

TEST_F(ResidencyE2ETest, ANodeListOutsideTheAllowedSitesIsRefused) {
  Publish();
  const uint32_t id = HeldPatientsJob();
  CommandResult nodes = Update(kAlice, id, "reqnodelist=us-h100-1");
  EXPECT_NE(nodes.exit_code, 0) << nodes.Describe();
  EXPECT_THAT(ControllerLog(), HasSubstr("node us-h100-1 (site sanjose-1): region us is not "
                                         "allowed for patients-eu"));
  CommandResult ok = Update(kAlice, id, "reqnodelist=fr-a100-2");
  EXPECT_EQ(ok.exit_code, 0) << ok.Describe();
  EXPECT_EQ(*cluster().JobField(id, "ReqNodeList"), "fr-a100-2");
  cluster().Run({"scancel", absl::StrCat(id)});
}

TEST_F(ResidencyE2ETest, AnAccountOrCommentThatDeclaresAnotherDatasetIsRefused) {
  Publish();
  const uint32_t id = HeldPatientsJob();
  CommandResult account = Update("root", id, "account=fintech-in");
  EXPECT_NE(account.exit_code, 0) << account.Describe();
  EXPECT_THAT(ControllerLog(), HasSubstr("account fintech-in implies dataset finance-in, which "
                                         "the job was not placed for; submit a new job under "
                                         "that account"));
  CommandResult comment = Update(kAlice, id, "comment=dataset:imagenet-public");
  EXPECT_NE(comment.exit_code, 0) << comment.Describe();
  EXPECT_THAT(ControllerLog(), HasSubstr("the comment declares dataset imagenet-public, which "
                                         "the job was not placed for; submit a new job"));
  EXPECT_EQ(RefusalsFor(id).size(), 2u);
  cluster().Run({"scancel", absl::StrCat(id)});
}

TEST_F(ResidencyE2ETest, FeaturesMustKeepTheGuardAndNodeCountsAreRefusedAtSubmission) {
  Publish();
  const uint32_t id = HeldPatientsJob();
  CommandResult drop = Update(kAlice, id, "features=gpu_a100");
  EXPECT_NE(drop.exit_code, 0) << drop.Describe();
  EXPECT_THAT(ControllerLog(), HasSubstr("features \"gpu_a100\" do not end with a site guard"));
  CommandResult keep = Update(kAlice, id, "features=gpu_h100&site_munich-1");
  EXPECT_EQ(keep.exit_code, 0) << keep.Describe();
  cluster().Run({"scancel", absl::StrCat(id)});
  // With a node count Slurm 22.05 enforces only the counted terms (seen: a*1&site_x ran on a
  // node without site_x), so such a job is refused rather than left unguarded.
  CommandResult counted =
      Sbatch(kAlice, {"--dataset=patients-eu", "-C", "gpu_a100*1", "--wrap", "true"});
  EXPECT_NE(counted.exit_code, 0);
  EXPECT_THAT(counted.err, HasSubstr("sbatch: error: sovereign: --constraint \"gpu_a100*1\" uses "
                                     "node counts (*N), which cannot be combined with the guard"));
}

TEST_F(ResidencyE2ETest, APartitionsNodesChangedByAnAdminDoNotTakeTheJobOffItsSites) {
  Publish();
  const uint32_t id = HeldPatientsJob();
  // An admin act that never passes through job_modify: the job's partition now holds a US node.
  ASSERT_EQ(cluster()
                .Run({"scontrol", "update", "partitionname=gpu-fr-a100", "nodes=us-h100-1"})
                .exit_code,
            0);
  ASSERT_EQ(cluster().Run({"scontrol", "release", absl::StrCat(id)}).exit_code, 0);
  // The scheduler looks at the job and finds no node that satisfies its site guard.
  const std::string reason = WaitForReason(
      id, [](const std::string& r) { return r != "None" && r.find("JobHeld") == std::string::npos; });
  EXPECT_EQ(reason, "BadConstraints");
  EXPECT_EQ(*cluster().JobField(id, "JobState"), "PENDING");
  EXPECT_EQ(*cluster().JobField(id, "NodeList"), "");  // "(null)": no node allocated
  cluster().Run({"scancel", absl::StrCat(id)});
  ASSERT_EQ(cluster()
                .Run({"scontrol", "update", "partitionname=gpu-fr-a100", "nodes=fr-a100-[1-2]"})
                .exit_code,
            0);
}

TEST_F(ResidencyE2ETest, TheStartCheckHoldsAJobAllocatedOutsideItsSites) {
  Publish();
  const uint32_t id = HeldPatientsJob();
  // Admin acts that fool the site guard: a US node claims site paris-1 and joins the job's
  // partition. Only the start check, which also asks the node's partitions, sees through it.
  ASSERT_TRUE(PutUsNodeInParis(cluster()).ok());
  ASSERT_EQ(cluster().Run({"scontrol", "release", absl::StrCat(id)}).exit_code, 0);
  // The prolog holds the job and fails; slurmctld requeues it, held.
  const std::string reason =
      WaitForReason(id, [](const std::string& r) { return r == "JobHeldAdmin"; });
  EXPECT_EQ(reason, "JobHeldAdmin");
  // The hold comes while the prolog runs (the job is CONFIGURING); the requeue after it fails
  // makes the job PENDING.
  absl::StatusOr<std::string> state = cluster().WaitForJobState(id, {"PENDING"});
  EXPECT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*cluster().JobField(id, "Restarts"), "1");
  // It never ran: no output file was written.
  EXPECT_FALSE(ReadFile(absl::StrCat(cluster().output_dir(), "/", id, ".out")).ok());
  EXPECT_THAT(ReadText(cluster().log_dir() + "/sovereign-prolog.log"),
              HasSubstr(absl::StrCat("sovereign-prolog: refused to start job ", id,
                                     " on us-h100-1: node us-h100-1 has no known site: its "
                                     "feature says site paris-1 but it is in partition "
                                     "gpu-us-h100 of site sanjose-1")));
  // The refusal is spooled for the audit log.
  auto reader = spool::SpoolReader::Open(SpoolDir() + "/prolog");
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto read = (*reader)->ReadNew(100);
  ASSERT_TRUE(read.ok());
  ASSERT_EQ(read->records.size(), 1u);
  auto refused = spool::DecodeSpooledDecision(read->records[0].payload);
  ASSERT_TRUE(refused.ok()) << refused.status();
  EXPECT_EQ(refused->source, "prolog");
  EXPECT_EQ(refused->job_id, id);
  EXPECT_EQ(refused->decision.code, RejectCode::kStartRefused);
  EXPECT_THAT(refused->decision.labels, ::testing::ElementsAre("patients-eu"));
  cluster().Run({"scancel", absl::StrCat(id)});
  EXPECT_TRUE(UndoUsNodeInParis(cluster()).ok());
}

TEST_F(ResidencyE2ETest, TheStartCheckLetsCompliantAndUnplacedJobsStart) {
  Publish();
  const uint32_t id = SubmitOk(kAlice, {"--dataset=patients-eu", "--wrap", "true"});
  ASSERT_TRUE(cluster().WaitForJobState(id, {"COMPLETED"}).ok());
  EXPECT_EQ(*cluster().JobField(id, "Restarts"), "0");
}

TEST_F(ResidencyE2ETest, AReservationOnAnExcludedSiteDoesNotReachIt) {
  Publish();
  const uint32_t id = HeldPatientsJob();
  ASSERT_EQ(cluster()
                .Run({"scontrol", "create", "reservation", "reservationname=us_res",
                      "nodes=us-h100-1", "users=sov-alice", "starttime=now", "duration=60"})
                .exit_code,
            0);
  CommandResult into = Update(kAlice, id, "reservation=us_res");
  ASSERT_EQ(into.exit_code, 0) << into.Describe();
  EXPECT_THAT(ControllerLog(), HasSubstr(absl::StrCat("job ", id)));
  ASSERT_EQ(cluster().Run({"scontrol", "release", absl::StrCat(id)}).exit_code, 0);
  const std::string reason = WaitForReason(
      id, [](const std::string& r) { return r != "None" && r.find("JobHeld") == std::string::npos; });
  EXPECT_THAT(reason, AnyOf("BadConstraints", "Reservation", "ReqNodeNotAvail"));
  EXPECT_EQ(*cluster().JobField(id, "JobState"), "PENDING");
  EXPECT_EQ(*cluster().JobField(id, "NodeList"), "");  // "(null)": no node allocated
  cluster().Run({"scancel", absl::StrCat(id)});
  cluster().Run({"scontrol", "delete", "reservationname=us_res"});
}

TEST_F(ResidencyE2ETest, AnAlternatePartitionOutsideTheAllowedSitesIsNotUsed) {
  // The plugin decides from a view published before the drain, so it picks gpu-fr-a100; Slurm
  // then swaps a drained partition for its Alternate= after job_submit.
  Publish();
  ASSERT_EQ(cluster()
                .Run({"scontrol", "update", "partitionname=gpu-fr-a100", "state=drain",
                      "alternate=gpu-de-cloud-h100"})
                .exit_code,
            0);
  CommandResult r = Sbatch(kAlice, {"--dataset=patients-eu", "--wrap", "true"});
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.err, HasSubstr("Requested node configuration is not available"));
  ASSERT_EQ(cluster()
                .Run({"scontrol", "update", "partitionname=gpu-fr-a100", "state=up",
                      "alternate=none"})
                .exit_code,
            0);
}

}  // namespace
}  // namespace sovereign::e2e
