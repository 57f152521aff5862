// The reconciler over a real audit log and a job table given by the test: every placed job's
// fate is recorded once (started where, ended how and when, cancelled before it ran), and a
// placement no job carries becomes "not_created" (watched) or "unknown" (decided unwatched).
#include "slurm_loops/reconciler.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "records/learned_energy.h"
#include "support/temp_dir.h"

namespace sovereign::service {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1795000000);

class ReconcilerTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    audit::AuditOptions o;
    o.path = dir_ + "/audit.db";
    o.signing_key_path = dir_ + "/signing.pem";
    auto log = audit::AuditLog::Open(o);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    auto reg = Register::Load(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
    ASSERT_TRUE(reg.ok()) << reg.status();
    reg_ = *reg;
    ReconcilerOptions ro;
    ro.read_jobs = [this]() -> absl::StatusOr<std::vector<slurm::JobRow>> {
      if (!slurm_up_) {
        return absl::UnavailableError("slurmctld does not answer");
      }
      return table_;
    };
    ro.read_nodes = []() -> absl::StatusOr<std::vector<NodeStatus>> {
      return std::vector<NodeStatus>{{"fr-a100-1", {"gpu-fr-a100"}, {"site_paris-1"}}};
    };
    ro.not_created_after = absl::Seconds(30);
    options_ = ro;
    NewReconciler();
  }
  void NewReconciler() {
    reconciler_ = std::make_unique<Reconciler>(options_, log_.get(),
                                               [this](absl::Time) { return reg_; });
  }
  void TearDown() override {
    reconciler_.reset();
    log_.reset();
  }

  // A placement by the plugin at `at`, as the spool ingester logs it.
  void Placed(const std::string& id, absl::Time at) {
    audit::AuditRecord r;
    r.decision_id = id;
    r.time = at;
    r.caller = "uid=1001(alice) via job_submit/sovereign";
    r.user = "alice";
    r.account = "oncology";
    r.datasets = {"patients-eu"};
    r.region = "eu";
    r.partition = "gpu-fr-a100";
    r.verdict = "place";
    r.register_version = reg_->version();
    r.body_json = "{}";
    ASSERT_TRUE(log_->Append(r).ok());
  }

  static slurm::JobRow Job(uint32_t id, const std::string& decision, const std::string& state) {
    slurm::JobRow j;
    j.job_id = id;
    j.state = state;
    j.partition = "gpu-fr-a100";
    j.admin_comment =
        absl::StrCat("sovereign:v1;id=", decision, ";ds=patients-eu;region=eu;reg=abcdef123456");
    if (state != "PENDING" && state != "CANCELLED") {
      j.nodes = "fr-a100-1";
      j.start_time = kT0 + absl::Seconds(5);
    }
    return j;
  }

  // Slurm as the reconciler's reads between full reads see it: the whole table counted in
  // *full_reads, no job with steps (listings counted in *listings), every job loaded by id gone.
  void NothingRunning(int* full_reads, int* listings) {
    options_.read_jobs = [this, full_reads]() -> absl::StatusOr<std::vector<slurm::JobRow>> {
      ++*full_reads;
      return table_;
    };
    options_.read_running = [listings]() -> absl::StatusOr<std::vector<uint32_t>> {
      ++*listings;
      return std::vector<uint32_t>{};
    };
    options_.read_job = [](uint32_t) -> absl::StatusOr<slurm::JobRow> {
      return absl::NotFoundError("purged");
    };
  }

  ReconcileStats Round(absl::Time now) {
    absl::StatusOr<ReconcileStats> s = reconciler_->ReconcileOnce(now);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *s : ReconcileStats{};
  }

  // "kind/verdict/job" of every record after the placements, oldest first.
  std::vector<std::string> Bound(const std::string& decision) {
    audit::AuditQuery q;
    q.decision_id = decision;
    std::vector<std::string> out;
    auto r = log_->List(q);
    EXPECT_TRUE(r.ok()) << r.status();
    for (auto it = r->rbegin(); it != r->rend(); ++it) {
      out.push_back(absl::StrCat(static_cast<int>(it->kind), "/", it->verdict, "/", it->job_id));
    }
    return out;
  }

  std::string Body(const std::string& decision, audit::RecordKind kind) {
    audit::AuditQuery q;
    q.decision_id = decision;
    q.kind = kind;
    auto r = log_->List(q);
    return r.ok() && !r->empty() ? r->front().body_json : "";
  }

  std::unique_ptr<audit::AuditLog> log_;
  std::shared_ptr<const Register> reg_;
  std::vector<slurm::JobRow> table_;
  bool slurm_up_ = true;
  ReconcilerOptions options_;
  std::unique_ptr<Reconciler> reconciler_;
};

TEST_F(ReconcilerTest, BetweenFullReadsStartsAndEndsAreFollowedThroughTheJobsWithSteps) {
  int full_reads = 0, loaded = 0;
  std::vector<uint32_t> running;
  options_.read_jobs = [this, &full_reads]() -> absl::StatusOr<std::vector<slurm::JobRow>> {
    ++full_reads;
    return table_;
  };
  options_.read_running = [&running]() -> absl::StatusOr<std::vector<uint32_t>> {
    return running;
  };
  options_.read_job = [this, &loaded](uint32_t id) -> absl::StatusOr<slurm::JobRow> {
    ++loaded;
    for (const slurm::JobRow& j : table_) {
      if (j.job_id == id) {
        return j;
      }
    }
    return absl::NotFoundError("purged");
  };
  options_.interval = std::chrono::milliseconds(5000);
  NewReconciler();
  Placed("d1", kT0 + absl::Seconds(1));
  Placed("d2", kT0 + absl::Seconds(1));
  for (uint32_t i = 0; i < 500; ++i) {  // a queue that nothing below needs to read again
    table_.push_back(Job(1000 + i, absl::StrCat("queued-", i), "PENDING"));
  }
  table_.push_back(Job(11, "d1", "PENDING"));
  Round(kT0 + absl::Seconds(2));
  EXPECT_EQ(full_reads, 1);

  // d1's job starts, and d2's, submitted after that read, starts too: both are attested in the
  // next round, each loaded by id, the table not read again.
  table_.back() = Job(11, "d1", "RUNNING");
  table_.push_back(Job(12, "d2", "RUNNING"));
  running = {11, 12};
  ReconcileStats s = Round(kT0 + absl::Seconds(3));
  EXPECT_EQ(s.attested, 2);
  EXPECT_EQ(full_reads, 1);
  EXPECT_EQ(loaded, 2);
  Round(kT0 + absl::Seconds(4));  // nothing started or stopped: nothing loaded
  EXPECT_EQ(loaded, 2);

  // d1's job ends (its steps are gone): loaded once more, its outcome recorded.
  table_[500] = Job(11, "d1", "COMPLETED");
  table_[500].end_time = kT0 + absl::Seconds(4);
  running = {12};
  s = Round(kT0 + absl::Milliseconds(4500));
  EXPECT_EQ(s.ended, 1);
  EXPECT_EQ(loaded, 3);
  EXPECT_EQ(full_reads, 1);
  EXPECT_THAT(Bound("d1"), ElementsAre("0/place/0", "1/ok/11", "2/ended/11"));
  EXPECT_THAT(Bound("d2"), ElementsAre("0/place/0", "1/ok/12"));

  // The whole table once the interval since the last full read has passed; nothing twice.
  s = Round(kT0 + absl::Seconds(7));
  EXPECT_EQ(full_reads, 2);
  EXPECT_EQ(s.attested + s.ended + s.not_created, 0);
}

// The whole table is read at a pace bounded by its cost, and at least every 10 minutes; a
// warning says when that is further apart than 4/5 of slurmctld's MinJobAge.
TEST_F(ReconcilerTest, FullReadsArePacedByTheirCostAndComeAtLeastEveryTenMinutes) {
  int full_reads = 0, listings = 0;
  NothingRunning(&full_reads, &listings);
  options_.read_min_job_age = []() -> absl::StatusOr<absl::Duration> {
    return absl::Seconds(300);
  };
  // Every read takes 30 s: 200 times that is beyond the 10-minute bound.
  absl::Time clock = kT0;
  options_.clock = [&clock] { return clock += absl::Seconds(30); };
  NewReconciler();
  Round(kT0);
  EXPECT_EQ(full_reads, 1);
  Round(kT0 + absl::Seconds(599));
  EXPECT_EQ(full_reads, 1);
  Round(kT0 + absl::Seconds(600));
  EXPECT_EQ(full_reads, 2);
}

// A job slurmctld forgets before sovereignd sees it end still gets an outcome: "unknown".
TEST_F(ReconcilerTest, AJobForgottenBeforeItWasSeenToEndGetsTheOutcomeUnknown) {
  Round(kT0);
  Placed("d6", kT0 + absl::Seconds(1));
  table_ = {Job(16, "d6", "RUNNING")};
  Round(kT0 + absl::Seconds(10));
  table_.clear();  // ended and purged between two reads
  ReconcileStats s = Round(kT0 + absl::Seconds(20));
  EXPECT_EQ(s.not_created, 1);
  EXPECT_THAT(Bound("d6"), ElementsAre("0/place/0", "1/ok/16", "2/unknown/16"));
  nlohmann::json body = nlohmann::json::parse(Body("d6", audit::RecordKind::kOutcome));
  EXPECT_EQ(body["why"],
            "slurmctld no longer knows job 16 and sovereignd did not see it end: slurmctld "
            "forgets an ended job after its MinJobAge, and its job table was last read 10s "
            "before");
  Round(kT0 + absl::Seconds(30));  // said once
  EXPECT_THAT(Bound("d6"), ElementsAre("0/place/0", "1/ok/16", "2/unknown/16"));
}

// Listing the jobs with steps walks slurmctld's whole table as well: it is paced by its cost.
TEST_F(ReconcilerTest, TheJobsWithStepsAreListedAtAPaceBoundedByTheirCost) {
  int full_reads = 0, listings = 0;
  NothingRunning(&full_reads, &listings);
  options_.interval = std::chrono::milliseconds(5000);
  options_.max_full_read_interval = absl::Hours(1);
  // Every read takes 100 ms: the next one after 200 times that, 20 s.
  absl::Time clock = kT0;
  options_.clock = [&clock] { return clock += absl::Milliseconds(100); };
  NewReconciler();
  Round(kT0);
  EXPECT_EQ(full_reads, 1);
  Round(kT0 + absl::Seconds(5));
  EXPECT_EQ(listings, 1);
  Round(kT0 + absl::Seconds(10));
  Round(kT0 + absl::Seconds(19));
  EXPECT_EQ(listings, 1);
  EXPECT_EQ(full_reads, 1);
  Round(kT0 + absl::Seconds(20));
  EXPECT_EQ(full_reads, 2);
  Round(kT0 + absl::Seconds(25));
  EXPECT_EQ(listings, 2);
}

TEST_F(ReconcilerTest, AJobThatRanIsAttestedThenEndedOnce) {
  Round(kT0);
  Placed("d1", kT0 + absl::Seconds(1));
  table_ = {Job(11, "d1", "PENDING")};
  Round(kT0 + absl::Seconds(2));
  EXPECT_THAT(Bound("d1"), ElementsAre("0/place/0"));
  table_ = {Job(11, "d1", "RUNNING")};
  Round(kT0 + absl::Seconds(6));
  table_[0].state = "COMPLETED";
  table_[0].exit_status = 3 << 8;  // exit(3)
  table_[0].end_time = kT0 + absl::Seconds(9);
  ReconcileStats s = Round(kT0 + absl::Seconds(10));
  EXPECT_EQ(s.ended, 1);
  Round(kT0 + absl::Seconds(100));  // nothing twice, and no "not_created" for a job seen
  EXPECT_THAT(Bound("d1"), ElementsAre("0/place/0", "1/ok/11", "2/ended/11"));
  nlohmann::json body = nlohmann::json::parse(Body("d1", audit::RecordKind::kOutcome));
  EXPECT_EQ(body["state"], "COMPLETED");
  EXPECT_EQ(body["exit_code"], 3);
  EXPECT_EQ(body["end_time"], "2026-11-18T11:06:49Z");
  EXPECT_EQ(body["nodes"], "fr-a100-1");
  // The job id finds the placement, which carries none.
  audit::AuditQuery by_job;
  by_job.job_id = 11;
  by_job.kind = audit::RecordKind::kDecision;
  auto found = log_->List(by_job);
  ASSERT_TRUE(found.ok());
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].decision_id, "d1");
}

// With a power source, an ended job's outcome carries its measured energy, once the source has
// read its nodes after its end; the learner is told, and reads the same from the log.
TEST_F(ReconcilerTest, AnEndedJobsMeasuredEnergyIsInItsOutcome) {
  absl::Time newest = kT0;  // the source's newest reading of fr-a100-1
  options_.node_energy = [&newest](const std::string& node, absl::Time from,
                                   absl::Time to) -> std::optional<NodeEnergy> {
    if (node != "fr-a100-1") {
      return std::nullopt;
    }
    return NodeEnergy{300 * absl::ToDoubleSeconds(to - from), to - from, newest};
  };
  options_.energy_patience = absl::Seconds(60);
  std::vector<std::string> told;
  options_.measured = [&told](const std::string& partition, const MeasuredJobEnergy& e,
                              absl::Time ended) {
    told.push_back(
        absl::StrCat(partition, " ", e.gpu_kwh, " ", e.gpu_hours, " ", absl::ToUnixSeconds(ended)));
  };
  NewReconciler();
  Round(kT0);
  Placed("d1", kT0 + absl::Seconds(1));
  table_ = {Job(11, "d1", "RUNNING")};
  table_[0].gpus_allocated = 2;
  Round(kT0 + absl::Seconds(6));
  table_[0].state = "COMPLETED";
  table_[0].end_time = table_[0].start_time + absl::Hours(1);
  const absl::Time end = table_[0].end_time;
  newest = end - absl::Seconds(10);
  EXPECT_EQ(Round(end + absl::Seconds(1)).ended, 0);  // no reading after the end yet
  newest = end + absl::Seconds(5);
  EXPECT_EQ(Round(end + absl::Seconds(6)).ended, 1);
  nlohmann::json body = nlohmann::json::parse(Body("d1", audit::RecordKind::kOutcome));
  // GPUs 2 x 300 W x 1 h = 0.6 kWh; gpu-fr-a100's 1100 W per node besides, PUE 1.3.
  EXPECT_EQ(body["energy_measured"],
            nlohmann::json::parse(R"({"from":"dcgm","gpu_kwh":0.6,"node_kwh_register":1.1,
                                      "pue":1.3,"gpu_hours":2,"coverage":1})"));
  EXPECT_DOUBLE_EQ(body["energy_kwh_measured"].get<double>(), 2.21);
  EXPECT_THAT(told, ElementsAre(absl::StrCat("gpu-fr-a100 0.6 2 ", absl::ToUnixSeconds(end))));

  LearnedEnergy learned;
  absl::StatusOr<int64_t> loaded = learned.Load(*log_, kT0);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, 1);
  const LearnedPartition p = learned.Partitions()["gpu-fr-a100"];
  EXPECT_EQ(p.jobs, 1);
  EXPECT_DOUBLE_EQ(p.gpu_kwh, 0.6);
  EXPECT_DOUBLE_EQ(p.gpu_hours, 2);
  EXPECT_EQ(p.newest, end);
}

// Past the patience the outcome is written with what the source has, or says why not.
TEST_F(ReconcilerTest, AJobTheSourceCannotMeasureSaysWhy) {
  options_.node_energy = [](const std::string&, absl::Time,
                            absl::Time) -> std::optional<NodeEnergy> { return std::nullopt; };
  NewReconciler();
  Round(kT0);
  Placed("d1", kT0 + absl::Seconds(1));
  table_ = {Job(11, "d1", "COMPLETED")};
  table_[0].gpus_allocated = 1;
  table_[0].end_time = kT0 + absl::Seconds(600);
  EXPECT_EQ(Round(kT0 + absl::Seconds(601)).ended, 1);
  nlohmann::json body = nlohmann::json::parse(Body("d1", audit::RecordKind::kOutcome));
  EXPECT_EQ(body["energy_unmeasured"], "the power source has no readings of node fr-a100-1");
  EXPECT_FALSE(body.contains("energy_kwh_measured"));
}

// A job of EU-only data that slurmctld started on a node of the San Jose site (an admin's
// change, a bypass): the attestation says violation and names the node and its site.
TEST_F(ReconcilerTest, AJobThatRunsOutsideItsAllowedSitesIsAttestedAViolation) {
  options_.read_nodes = []() -> absl::StatusOr<std::vector<NodeStatus>> {
    return std::vector<NodeStatus>{{"us-h100-1", {"gpu-us-h100"}, {"site_sanjose-1"}}};
  };
  NewReconciler();
  Round(kT0);
  Placed("dv", kT0 + absl::Seconds(1));
  table_ = {Job(21, "dv", "RUNNING")};
  table_[0].nodes = "us-h100-1";
  ReconcileStats s = Round(kT0 + absl::Seconds(6));
  EXPECT_EQ(s.violations, 1);
  EXPECT_EQ(s.attested, 1);
  EXPECT_THAT(Bound("dv"), ElementsAre("0/place/0", "1/violation/21"));
  const std::string body = Body("dv", audit::RecordKind::kAttestation);
  EXPECT_THAT(body, ::testing::HasSubstr("us-h100-1")) << body;
  EXPECT_THAT(body, ::testing::HasSubstr("sanjose-1")) << body;
}

// A running job whose spooled decision never reached the log (a spool lost with its disk):
// after rederive_after the reconciler records the decision from the job's tag, marked as
// re-derived, then attests the run against it. Before that, ingestion may just be behind.
TEST_F(ReconcilerTest, ARunningJobWhoseDecisionNeverReachedTheLogGetsItReDerived) {
  Round(kT0);
  table_ = {Job(31, "lost", "RUNNING")};  // started at kT0 + 5 s
  ReconcileStats early = Round(kT0 + absl::Seconds(60));
  EXPECT_EQ(early.rederived, 0);
  EXPECT_THAT(Bound("lost"), ElementsAre());
  ReconcileStats late = Round(kT0 + absl::Seconds(5) + absl::Minutes(2));
  EXPECT_EQ(late.rederived, 1);
  EXPECT_EQ(late.attested, 1);
  EXPECT_THAT(Bound("lost"), ElementsAre("0/place/31", "1/ok/31"));
  audit::AuditQuery q;
  q.decision_id = "lost";
  q.kind = audit::RecordKind::kDecision;
  auto decision = log_->List(q);
  ASSERT_TRUE(decision.ok() && decision->size() == 1u);
  EXPECT_EQ((*decision)[0].caller, "sovereignd reconciler (re-derived from the job's tag)");
  nlohmann::json body = nlohmann::json::parse((*decision)[0].body_json);
  EXPECT_EQ(body["rederived"], true);
  EXPECT_EQ(body["why"], "the spooled decision never reached the log");
  EXPECT_EQ((*decision)[0].datasets, std::vector<std::string>{"patients-eu"});
  Round(kT0 + absl::Minutes(5));
  EXPECT_THAT(Bound("lost"), ElementsAre("0/place/31", "1/ok/31")) << "once";
}

TEST_F(ReconcilerTest, AJobThatEndsWithoutRunningWasCancelledOrNeverRan) {
  Round(kT0);
  Placed("d2", kT0 + absl::Seconds(1));
  Placed("d4", kT0 + absl::Seconds(1));
  slurm::JobRow failed = Job(14, "d4", "PENDING");
  failed.state = "FAILED";  // slurmctld created it, then could not satisfy it
  table_ = {Job(12, "d2", "CANCELLED"), failed};
  Round(kT0 + absl::Seconds(2));
  Round(kT0 + absl::Seconds(3));
  EXPECT_THAT(Bound("d2"), ElementsAre("0/place/0", "2/cancelled/12"));
  EXPECT_EQ(nlohmann::json::parse(Body("d2", audit::RecordKind::kOutcome))["state"], "CANCELLED");
  EXPECT_THAT(Bound("d4"), ElementsAre("0/place/0", "2/never_ran/14"));
  EXPECT_EQ(nlohmann::json::parse(Body("d4", audit::RecordKind::kOutcome))["state"], "FAILED");
}

// The plugin placed and spooled it, then slurmctld refused the job: no job ever carries the
// decision. While the table was read all along, that is "not_created" once not_created_after
// has passed; a placement from before the reconciler watched is "unknown".
TEST_F(ReconcilerTest, APlacementNoJobCarriesIsNotCreatedOrUnknown) {
  Placed("early", kT0 - absl::Seconds(60));  // sovereignd was not running yet
  EXPECT_EQ(Round(kT0).not_created, 1);
  EXPECT_THAT(Bound("early"), ElementsAre("0/place/0", "2/unknown/0"));
  Placed("refused", kT0 + absl::Seconds(1));
  Round(kT0 + absl::Seconds(20));
  EXPECT_THAT(Bound("refused"), ElementsAre("0/place/0"));  // too early to say
  EXPECT_EQ(Round(kT0 + absl::Seconds(31)).not_created, 1);
  EXPECT_THAT(Bound("refused"), ElementsAre("0/place/0", "2/not_created/0"));
  EXPECT_THAT(Bound("early"), ElementsAre("0/place/0", "2/unknown/0"));
  EXPECT_EQ(nlohmann::json::parse(Body("refused", audit::RecordKind::kOutcome))["why"],
            "no job carrying this decision appeared in slurmctld's job table within 30s of the "
            "decision, while sovereignd read it: slurmctld refused the job after the plugin had "
            "placed it");
  EXPECT_EQ(nlohmann::json::parse(Body("early", audit::RecordKind::kOutcome))["why"],
            "slurmctld knows no job carrying this decision, and sovereignd was not reading its "
            "job table when the decision was made (it has been since 2026-11-18T11:06:40Z): the "
            "job was never created, or it ended and slurmctld forgot it unseen");
  auto left = log_->UnexplainedPlacements(0, 10);
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

// slurmctld did not answer for a while: a placement made meanwhile cannot be called "never
// created", since its job may have come and gone unseen.
TEST_F(ReconcilerTest, APlacementMadeWhileSlurmctldWasUnreadIsUnknown) {
  Round(kT0);
  slurm_up_ = false;
  EXPECT_FALSE(reconciler_->ReconcileOnce(kT0 + absl::Seconds(5)).ok());
  Placed("gap", kT0 + absl::Seconds(6));
  slurm_up_ = true;
  Round(kT0 + absl::Seconds(10));
  Round(kT0 + absl::Seconds(40));
  EXPECT_THAT(Bound("gap"), ElementsAre("0/place/0", "2/unknown/0"));
}

// What the reconciler keeps between rounds follows what is still unresolved: a job seen before
// its placement reached the log is remembered only until the placement is read, however long
// the job stays queued; a placement waits for its job only until it is found or timed out.
TEST_F(ReconcilerTest, WhatIsKeptBetweenRoundsIsWhatIsStillUnresolved) {
  Round(kT0);
  for (uint32_t i = 1; i <= 1000; ++i) {
    table_.push_back(Job(i, absl::StrCat("d", i), "PENDING"));
  }
  Round(kT0 + absl::Seconds(1));
  Reconciler::Kept k = reconciler_->kept();
  EXPECT_EQ(k.jobs, 1000u);
  EXPECT_EQ(k.seen_ahead, 1000u) << "queued before their placements reached the log";
  for (uint32_t i = 1; i <= 1000; ++i) {
    Placed(absl::StrCat("d", i), kT0 + absl::Seconds(1));
  }
  Placed("lonely", kT0 + absl::Seconds(2));
  for (int round = 2; round <= 4; ++round) {
    Round(kT0 + absl::Seconds(round));
    k = reconciler_->kept();
    EXPECT_EQ(k.jobs, 1000u);
    EXPECT_EQ(k.seen_ahead, 0u) << "round " << round;
    EXPECT_EQ(k.awaiting, 1u) << "round " << round;
  }
  Round(kT0 + absl::Seconds(40));
  EXPECT_EQ(reconciler_->kept().awaiting, 0u);
  EXPECT_THAT(Bound("lonely"), ElementsAre("0/place/0", "2/not_created/0"));
  table_.clear();
  Round(kT0 + absl::Seconds(41));
  EXPECT_EQ(reconciler_->kept().jobs, 0u) << "jobs slurmctld forgot are forgotten";
}

// A restarted reconciler finds in the log what it already recorded about the jobs it sees.
TEST_F(ReconcilerTest, NothingIsRecordedTwiceAcrossARestart) {
  Round(kT0);
  Placed("d3", kT0 + absl::Seconds(1));
  table_ = {Job(13, "d3", "COMPLETED")};
  Round(kT0 + absl::Seconds(10));
  EXPECT_THAT(Bound("d3"), ElementsAre("0/place/0", "1/ok/13", "2/ended/13"));
  NewReconciler();
  ReconcileStats s = Round(kT0 + absl::Seconds(20));
  EXPECT_EQ(s.attested + s.ended + s.not_created, 0);
  Round(kT0 + absl::Seconds(60));
  EXPECT_THAT(Bound("d3"), ElementsAre("0/place/0", "1/ok/13", "2/ended/13"));
}

TEST_F(ReconcilerTest, AJobStillRunningAcrossARestartIsNotAttestedAgainAndEndsOnce) {
  Round(kT0);
  Placed("d4", kT0 + absl::Seconds(1));
  Placed("d5", kT0 + absl::Seconds(1));
  table_ = {Job(14, "d4", "RUNNING"), Job(15, "d5", "PENDING")};
  Round(kT0 + absl::Seconds(10));
  EXPECT_THAT(Bound("d4"), ElementsAre("0/place/0", "1/ok/14"));
  NewReconciler();
  ReconcileStats s = Round(kT0 + absl::Seconds(20));
  EXPECT_EQ(s.attested + s.ended + s.not_created, 0);
  table_ = {Job(14, "d4", "COMPLETED"), Job(15, "d5", "RUNNING")};
  s = Round(kT0 + absl::Seconds(30));
  EXPECT_EQ(s.attested, 1);
  EXPECT_EQ(s.ended, 1);
  EXPECT_THAT(Bound("d4"), ElementsAre("0/place/0", "1/ok/14", "2/ended/14"));
  EXPECT_THAT(Bound("d5"), ElementsAre("0/place/0", "1/ok/15"));
}

}  // namespace
}  // namespace sovereign::service
