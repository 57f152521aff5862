// The spool ingester over a real spool (written as the plugin writes it) and a real audit log:
// everything one read finds goes into the log in one transaction, each record's body is the
// decision document with the plugin's members, and reading the same spool again after a
// restart doubles nothing.
#include "slurm_loops/spool_ingester.h"

#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "sovereign/decision_json.h"
#include "support/temp_dir.h"

namespace sovereign::service {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1795000000);

class SpoolIngesterTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    auto reg = Register::Load(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
    ASSERT_TRUE(reg.ok()) << reg.status();
    reg_ = *reg;
    audit::AuditOptions o;
    o.path = dir_ + "/audit.db";
    o.signing_key_path = dir_ + "/signing.pem";
    auto log = audit::AuditLog::Open(o);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    spool::SpoolWriterOptions wo;
    wo.dir = dir_ + "/spool";
    auto writer = spool::SpoolWriter::Open(wo);
    ASSERT_TRUE(writer.ok()) << writer.status();
    writer_ = *std::move(writer);
  }

  spool::SpooledDecision Spooled(int i) {
    spool::SpooledDecision d;
    d.decision_id = absl::StrCat("d-", i);
    d.source = i % 3 == 2 ? "plugin-modify" : "plugin";
    d.job_id = i % 3 == 2 ? 4000 + i : 0;
    d.stale_cluster = i % 2 == 1;
    d.request.user = "alice";
    d.request.uid = 1000;
    d.request.groups = {"alice", "oncology"};
    d.request.datasets = {"patients-eu"};
    d.request.gpus = 2;
    d.request.time_limit = absl::Hours(1);
    d.request.submit_time = kT0;
    d.decision = Decide(d.request, ClusterView::AllUp(*reg_), *reg_, kT0);
    return d;
  }

  void Spool(int first, int count) {
    for (int i = first; i < first + count; ++i) {
      std::string payload;
      spool::EncodeSpooledDecision(Spooled(i), &payload);
      ASSERT_TRUE(writer_->Append(payload).ok());
    }
  }

  std::unique_ptr<SpoolIngester> NewIngester() {
    IngesterOptions io;
    io.spool_dir = dir_ + "/spool";
    return std::make_unique<SpoolIngester>(io, log_.get(), [this](const std::string& version) {
      return version == reg_->version() ? reg_ : nullptr;
    });
  }

  std::shared_ptr<const Register> reg_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<spool::SpoolWriter> writer_;
};

TEST_F(SpoolIngesterTest, EverythingOneReadFindsIsOneTransaction) {
  Spool(0, 120);
  std::unique_ptr<SpoolIngester> ingester = NewIngester();
  absl::StatusOr<int> n = ingester->IngestOnce();
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(*n, 120);
  EXPECT_EQ(ingester->ingested(), 120);
  EXPECT_EQ(log_->HeadSeq(), 120);
  audit::CommitStats stats = log_->GetCommitStats();
  EXPECT_EQ(stats.transactions, 1);
  EXPECT_EQ(stats.records, 120);
  audit::VerifyReport v = log_->Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(ingester->IngestOnce().value_or(-1), 0);
}

TEST_F(SpoolIngesterTest, TheBodyIsTheDecisionDocumentWithThePluginsMembers) {
  Spool(0, 3);
  ASSERT_TRUE(NewIngester()->IngestOnce().ok());
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<audit::AuditRecord> r = log_->Get(absl::StrCat("d-", i));
    ASSERT_TRUE(r.ok()) << r.status();
    nlohmann::json body = nlohmann::json::parse(r->body_json);
    spool::SpooledDecision d = Spooled(i);
    nlohmann::json expected =
        nlohmann::json::parse(DecisionJsonText(d.decision, d.request, *reg_));
    expected["id"] = d.decision_id;
    expected["source"] = i == 2 ? "job_submit/sovereign job_modify" : "job_submit/sovereign";
    if (i == 2) {
      expected["job_id"] = 4002;  // a number, present only for a job that exists
    }
    expected["caller"] = r->caller;
    expected["stale_cluster"] = i == 1;  // a boolean
    EXPECT_EQ(body, expected) << r->body_json;
  }
  EXPECT_EQ(log_->Get("d-2")->caller, "uid=1000(alice) via job_submit/sovereign job_modify");
}

TEST_F(SpoolIngesterTest, ReadingTheSpoolAgainAfterARestartDoublesNothing) {
  Spool(0, 40);
  ASSERT_EQ(NewIngester()->IngestOnce().value_or(-1), 40);
  Spool(40, 10);
  // A new sovereignd reads the unfinished segment from its start: 40 records it has, 10 new.
  std::unique_ptr<SpoolIngester> restarted = NewIngester();
  ASSERT_EQ(restarted->IngestOnce().value_or(-1), 50);
  EXPECT_EQ(log_->HeadSeq(), 50);
  audit::CommitStats stats = log_->GetCommitStats();
  EXPECT_EQ(stats.transactions, 2);
  EXPECT_EQ(stats.already_logged, 40);
  audit::VerifyReport v = log_->Verify();
  EXPECT_TRUE(v.ok) << v.problem;
}

// A record that is not a decision (a damaged or foreign write that passed the spool's
// checksum) is set aside in undecodable.log with where it was and why, counted, and does not
// stop the records around it from reaching the log.
TEST_F(SpoolIngesterTest, AnUndecodableRecordIsSetAsideAndTheOthersAreLogged) {
  Spool(0, 2);
  ASSERT_TRUE(writer_->Append("{\"v\":1,\"id\":\"odd\"}").ok());
  Spool(2, 2);
  std::unique_ptr<SpoolIngester> ingester = NewIngester();
  ASSERT_EQ(ingester->IngestOnce().value_or(-1), 5);
  EXPECT_EQ(ingester->ingested(), 4);
  EXPECT_EQ(ingester->undecodable(), 1);
  EXPECT_EQ(log_->HeadSeq(), 4);
  std::ifstream aside(dir_ + "/spool/undecodable.log");
  std::string where, payload;
  std::getline(aside, where);
  std::getline(aside, payload);
  EXPECT_THAT(where, ::testing::MatchesRegex(
                         "[0-9]+:[0-9]+ spooled decision: field \"src\" is missing"));
  EXPECT_EQ(payload, "{\"v\":1,\"id\":\"odd\"}");
  audit::VerifyReport v = log_->Verify();
  EXPECT_TRUE(v.ok) << v.problem;
}

}  // namespace
}  // namespace sovereign::service
