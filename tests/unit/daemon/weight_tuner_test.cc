#include "slurm_loops/weight_tuner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"
#include "support/temp_dir.h"

namespace sovereign::service {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// slurmctld's nodes in memory, a power source and a clock the test sets, and a real audit log
// in a temporary directory. Weights with the example register (hand-computed in
// node_weights_test): gpu-fr-a100 measured 100 W/GPU -> 309, 300 W/GPU -> 569, register figure
// -> 699; gpu-de-h100 register figure -> 1008.
class WeightTunerTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    audit::AuditOptions ao;
    ao.path = dir_ + "/audit.db";
    ao.signing_key_path = dir_ + "/signing.pem";
    auto log = audit::AuditLog::Open(ao);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
    // What the tuner logs, for the lines an admin reads.
    previous_logger_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(logged_)));
    spdlog::default_logger()->set_pattern("%l %v");
    auto r = Register::Load(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
    ASSERT_TRUE(r.ok()) << r.status();
    reg_ = *r;
    nodes_ = {{"fr-a100-1", 10, 2, {"gpu-fr-a100"}},
              {"fr-a100-2", 10, 2, {"gpu-fr-a100"}},
              {"de-h100-1", 10, 2, {"gpu-de-h100"}},
              {"login-1", 10, 0, {"debug"}}};
    Measure("fr-a100-1", 300);
    Measure("fr-a100-2", 100);
    WeightTunerOptions o;
    o.policy.min_interval = absl::Minutes(5);
    o.policy.hysteresis = 0.05;
    o.read_nodes = [this]() -> absl::StatusOr<std::vector<slurm::NodeWeightRow>> {
      if (!slurmctld_up_) {
        return absl::UnavailableError(
            "slurm: cannot load partitions: Unable to contact slurm "
            "controller (connect failure)");
      }
      return nodes_;
    };
    o.set_weight = [this](const std::string& node, uint32_t weight) -> absl::Status {
      writes_.push_back({node, weight});
      if (node == refuse_) {
        return absl::UnavailableError("slurm: cannot set the weight of node " + node);
      }
      for (slurm::NodeWeightRow& n : nodes_) {
        if (n.name == node) {
          n.weight = weight;
        }
      }
      return absl::OkStatus();
    };
    o.readings = [this] { return readings_; };
    o.clock = [this] { return now_; };
    o.log = log_.get();
    tuner_ = std::make_unique<WeightTuner>(o, [this] { return reg_; });
  }

  void TearDown() override {
    tuner_.reset();
    log_.reset();
    spdlog::set_default_logger(previous_logger_);
  }

  // The log's node weight records, oldest first.
  std::vector<audit::AuditRecord> WeightRecords() {
    audit::AuditQuery q;
    q.kind = audit::RecordKind::kNodeWeight;
    absl::StatusOr<std::vector<audit::AuditRecord>> r = log_->List(q);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::vector<audit::AuditRecord>(r->rbegin(), r->rend())
                  : std::vector<audit::AuditRecord>();
  }
  // "verdict node old->new" of each.
  std::vector<std::string> WeightWrites() {
    std::vector<std::string> out;
    for (const audit::AuditRecord& r : WeightRecords()) {
      nlohmann::json body = nlohmann::json::parse(r.body_json);
      out.push_back(absl::StrCat(r.verdict, " ", body["node"].get<std::string>(), " ",
                                 body["old_weight"].get<int>(), "->",
                                 body["new_weight"].get<int>()));
    }
    return out;
  }
  // Runs `sql` on the log's database through a connection of its own.
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir_ + "/audit.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << (err != nullptr ? err : "");
    sqlite3_free(err);
    sqlite3_close(db);
  }

  // Occurrences of `text` in the log so far.
  int Logged(const std::string& text) const {
    const std::string log = logged_.str();
    int n = 0;
    for (size_t at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) {
      ++n;
    }
    return n;
  }

  void Measure(const std::string& host, double watts) {
    power::PowerReading r;
    r.watts_per_gpu = watts;
    r.gpus = 2;
    r.samples = 1;
    r.newest = now_;
    readings_[host] = r;
  }
  std::map<std::string, uint32_t> Weights() const {
    std::map<std::string, uint32_t> out;
    for (const slurm::NodeWeightRow& n : nodes_) {
      out[n.name] = n.weight;
    }
    return out;
  }
  void Reconfigure() {  // slurmctld forgets run-time weights
    for (slurm::NodeWeightRow& n : nodes_) {
      n.weight = 10;
    }
  }

  std::shared_ptr<const Register> reg_;
  std::vector<slurm::NodeWeightRow> nodes_;
  std::map<std::string, power::PowerReading> readings_;
  std::vector<std::pair<std::string, uint32_t>> writes_;
  absl::Time now_ = absl::FromUnixSeconds(1700000000);
  bool slurmctld_up_ = true;
  std::string refuse_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<WeightTuner> tuner_;
  std::ostringstream logged_;
  std::shared_ptr<spdlog::logger> previous_logger_;
};

TEST_F(WeightTunerTest, SetsEachNodesFigure) {
  ASSERT_TRUE(tuner_->RunOnce().ok());
  EXPECT_THAT(Weights(), ElementsAre(Pair("de-h100-1", 1008u), Pair("fr-a100-1", 569u),
                                     Pair("fr-a100-2", 309u), Pair("login-1", 10u)));
  WeightTuner::Stats s = tuner_->stats();
  EXPECT_EQ(s.changes, 3);
  EXPECT_EQ(s.reapplied, 0);
  ASSERT_EQ(s.nodes.size(), 3u);  // login-1 is in no partition of the register
  EXPECT_EQ(s.nodes[2].node, "fr-a100-2");
  EXPECT_EQ(s.nodes[2].weight, 309u);
  EXPECT_EQ(s.nodes[2].figure.source, FigureSource::kMeasured);
  EXPECT_DOUBLE_EQ(s.nodes[2].figure.watts_per_gpu, 308.75);
  EXPECT_EQ(s.nodes[0].figure.source, FigureSource::kRegister);
  EXPECT_EQ(Logged("info node fr-a100-2: weight 10 -> 309: measured 309 W/GPU at the facility "
                   "(100 W per GPU, mean of 1 DCGM reading, with partition gpu-fr-a100's node "
                   "overhead and PUE)\n"),
            1)
      << logged_.str();
  EXPECT_EQ(Logged("info node de-h100-1: weight 10 -> 1008: register figure 1008 W/GPU at the "
                   "facility for partition gpu-de-h100 (no fresh power reading)\n"),
            1)
      << logged_.str();
  // A second round with nothing new writes nothing.
  writes_.clear();
  now_ += absl::Seconds(30);
  ASSERT_TRUE(tuner_->RunOnce().ok());
  EXPECT_TRUE(writes_.empty());
}

TEST_F(WeightTunerTest, ReappliesWeightsSlurmctldReset) {
  ASSERT_TRUE(tuner_->RunOnce().ok());
  Reconfigure();
  writes_.clear();
  now_ += absl::Seconds(1);
  Measure("fr-a100-2", 300);  // a new figure, which the rate limit holds back
  ASSERT_TRUE(tuner_->RunOnce().ok());
  EXPECT_THAT(Weights(), ElementsAre(Pair("de-h100-1", 1008u), Pair("fr-a100-1", 569u),
                                     Pair("fr-a100-2", 309u), Pair("login-1", 10u)));
  EXPECT_EQ(writes_.size(), 3u);
  WeightTuner::Stats s = tuner_->stats();
  EXPECT_EQ(s.reapplied, 3);
  EXPECT_EQ(s.changes, 3);
  EXPECT_EQ(s.nodes[2].weight, 309u);
  EXPECT_EQ(s.nodes[2].desired, 569u);
  EXPECT_EQ(Logged("info node fr-a100-2: weight 10 -> 309: set again, slurmctld had reset it "
                   "(scontrol reconfigure or a restart)\n"),
            1)
      << logged_.str();
}

TEST_F(WeightTunerTest, NewFigureWaitsForMinIntervalAndHysteresis) {
  ASSERT_TRUE(tuner_->RunOnce().ok());
  Measure("fr-a100-2", 110);  // 321.75 W/GPU: 322 is within 5% of 309
  Measure("fr-a100-1", 100);  // 309: far from 569, but too soon
  now_ += absl::Minutes(4);
  writes_.clear();
  ASSERT_TRUE(tuner_->RunOnce().ok());
  EXPECT_TRUE(writes_.empty());
  now_ += absl::Minutes(1);
  ASSERT_TRUE(tuner_->RunOnce().ok());
  EXPECT_THAT(writes_, ElementsAre(Pair("fr-a100-1", 309u)));
  EXPECT_EQ(tuner_->stats().changes, 4);
}

TEST_F(WeightTunerTest, StaleReadingFallsBackToTheRegister) {
  ASSERT_TRUE(tuner_->RunOnce().ok());
  readings_.clear();  // the power source has nothing fresh
  now_ += absl::Minutes(10);
  ASSERT_TRUE(tuner_->RunOnce().ok());
  EXPECT_EQ(Weights()["fr-a100-1"], 699u);
  EXPECT_EQ(Weights()["fr-a100-2"], 699u);
  EXPECT_EQ(tuner_->stats().nodes[1].figure.source, FigureSource::kRegister);
}

TEST_F(WeightTunerTest, SlurmctldDownAndRefusedWrites) {
  slurmctld_up_ = false;
  absl::Status s = tuner_->RunOnce();
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(tuner_->stats().error,
            "slurm: cannot load partitions: Unable to contact slurm controller (connect failure)");
  ASSERT_TRUE(tuner_->RunOnce().code() == absl::StatusCode::kUnavailable);
  EXPECT_EQ(tuner_->stats().failures, 2);
  EXPECT_EQ(Logged("warning node weights: slurm: cannot load partitions: Unable to contact slurm "
                   "controller (connect failure); weights are checked again every 30000 ms\n"),
            1)
      << logged_.str();
  slurmctld_up_ = true;
  refuse_ = "fr-a100-1";
  ASSERT_TRUE(tuner_->RunOnce().ok());
  EXPECT_EQ(Logged("info node weights: slurmctld answers again\n"), 1) << logged_.str();
  ASSERT_TRUE(tuner_->RunOnce().ok());  // refused again: counted, not logged again
  EXPECT_EQ(Logged("warning node fr-a100-1: weight 10 -> 569 refused: slurm: cannot set the "
                   "weight of node fr-a100-1; tried again every 30000 ms\n"),
            1)
      << logged_.str();
  WeightTuner::Stats st = tuner_->stats();
  EXPECT_EQ(st.set_failures, 2);
  EXPECT_EQ(st.error, "slurm: cannot set the weight of node fr-a100-1");
  EXPECT_EQ(Weights()["fr-a100-1"], 10u);
  EXPECT_EQ(Weights()["fr-a100-2"], 309u);
  refuse_.clear();
  now_ += absl::Seconds(1);
  ASSERT_TRUE(tuner_->RunOnce().ok());  // tried again: still sovereignd's first weight for it
  EXPECT_EQ(Weights()["fr-a100-1"], 569u);
  EXPECT_EQ(tuner_->stats().error, "");
}

// Every weight written is a record: first weights ("set"), weights set again after slurmctld
// reset them ("reapplied", with the figure of the weight set, not the node's figure now) and a
// new figure's weight ("changed"); a round that writes nothing records nothing.
TEST_F(WeightTunerTest, RecordsEveryWeightWrittenInTheAuditLog) {
  ASSERT_TRUE(tuner_->RunOnce().ok());
  std::vector<audit::AuditRecord> records = WeightRecords();
  ASSERT_EQ(records.size(), 3u);  // login-1 is not the register's: no weight, no record
  EXPECT_THAT(WeightWrites(), ElementsAre("set fr-a100-1 10->569", "set fr-a100-2 10->309",
                                          "set de-h100-1 10->1008"));
  const audit::AuditRecord& first = records[1];
  EXPECT_EQ(first.kind, audit::RecordKind::kNodeWeight);
  EXPECT_EQ(first.decision_id, "");
  EXPECT_EQ(first.caller, "sovereignd node weights");
  EXPECT_EQ(first.partition, "gpu-fr-a100");
  EXPECT_EQ(first.verdict, "set");
  EXPECT_EQ(first.user, "");
  EXPECT_EQ(first.job_id, 0);
  EXPECT_EQ(first.register_version, reg_->version());
  EXPECT_EQ(first.time, now_);
  EXPECT_EQ(
      first.body_json,
      "{\"figure_partition\":\"gpu-fr-a100\",\"gpu_watts\":100.0,\"measured_at\":"
      "\"2023-11-14T22:13:20Z\",\"new_weight\":309,\"node\":\"fr-a100-2\",\"old_weight\":10,"
      "\"partitions\":[\"gpu-fr-a100\"],\"samples\":1,\"source\":\"measured\",\"verdict\":"
      "\"set\",\"watts_per_gpu\":308.75,\"why\":\"measured 309 W/GPU at the facility (100 W "
      "per GPU, mean of 1 DCGM reading, with partition gpu-fr-a100's node overhead and PUE)\"}");
  EXPECT_EQ(records[2].body_json,
            "{\"figure_partition\":\"gpu-de-h100\",\"gpu_watts\":700.0,\"new_weight\":1008,"
            "\"node\":\"de-h100-1\",\"old_weight\":10,\"partitions\":[\"gpu-de-h100\"],\"source\":"
            "\"register\",\"verdict\":\"set\",\"watts_per_gpu\":1008.0,\"why\":\"register figure "
            "1008 W/GPU at the facility for partition gpu-de-h100 (no fresh power reading)\"}");

  now_ += absl::Seconds(30);
  ASSERT_TRUE(tuner_->RunOnce().ok());  // nothing written
  EXPECT_EQ(WeightRecords().size(), 3u);

  Reconfigure();
  Measure("fr-a100-2", 300);  // a new figure (569), which the rate limit holds back
  now_ += absl::Seconds(1);
  ASSERT_TRUE(tuner_->RunOnce().ok());
  records = WeightRecords();
  ASSERT_EQ(records.size(), 6u);
  const std::vector<std::string> writes = WeightWrites();
  EXPECT_THAT(std::vector<std::string>(writes.begin() + 3, writes.end()),
              ElementsAre("reapplied fr-a100-1 10->569", "reapplied fr-a100-2 10->309",
                          "reapplied de-h100-1 10->1008"));
  EXPECT_EQ(records[4].verdict, "reapplied");
  EXPECT_EQ(records[4].time, now_);
  EXPECT_EQ(records[4].body_json,
            "{\"figure_partition\":\"gpu-fr-a100\",\"gpu_watts\":100.0,\"measured_at\":"
            "\"2023-11-14T22:13:20Z\",\"new_weight\":309,\"node\":\"fr-a100-2\",\"old_weight\":10,"
            "\"partitions\":[\"gpu-fr-a100\"],\"samples\":1,\"source\":\"measured\",\"verdict\":"
            "\"reapplied\",\"watts_per_gpu\":308.75,\"why\":\"set again, slurmctld had reset it "
            "(scontrol reconfigure or a restart)\"}");

  now_ += absl::Minutes(5);  // the new figure's time has come
  ASSERT_TRUE(tuner_->RunOnce().ok());
  records = WeightRecords();
  ASSERT_EQ(records.size(), 7u);
  EXPECT_EQ(records[6].verdict, "changed");
  EXPECT_EQ(records[6].body_json,
            "{\"figure_partition\":\"gpu-fr-a100\",\"gpu_watts\":300.0,\"measured_at\":"
            "\"2023-11-14T22:13:50Z\",\"new_weight\":569,\"node\":\"fr-a100-2\",\"old_weight\":"
            "309,\"partitions\":[\"gpu-fr-a100\"],\"samples\":1,\"source\":\"measured\","
            "\"verdict\":\"changed\",\"watts_per_gpu\":568.75,\"why\":\"measured 569 W/GPU at the "
            "facility (300 W per GPU, mean of 1 DCGM reading, with partition gpu-fr-a100's node "
            "overhead and PUE)\"}");
  EXPECT_EQ(tuner_->stats().record_failures, 0);
  EXPECT_TRUE(log_->Verify().ok);
}

// A node in several partitions names them all.
TEST_F(WeightTunerTest, ARecordNamesEveryPartitionOfTheNode) {
  nodes_ = {{"fr-a100-1", 10, 2, {"gpu-fr-a100", "debug"}}};
  ASSERT_TRUE(tuner_->RunOnce().ok());
  std::vector<audit::AuditRecord> records = WeightRecords();
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].partition, "gpu-fr-a100,debug");
  EXPECT_EQ(nlohmann::json::parse(records[0].body_json)["partitions"],
            nlohmann::json::array({"gpu-fr-a100", "debug"}));
}

// A log that cannot take the records holds no weight back: the failure is logged once and
// counted, and records are written again once the log works.
TEST_F(WeightTunerTest, WeightsAreWrittenWhenTheLogFails) {
  Sql("CREATE TRIGGER refuse BEFORE INSERT ON records BEGIN SELECT RAISE(ABORT, 'disk full'); "
      "END;");
  ASSERT_TRUE(tuner_->RunOnce().ok());
  EXPECT_THAT(Weights(), ElementsAre(Pair("de-h100-1", 1008u), Pair("fr-a100-1", 569u),
                                     Pair("fr-a100-2", 309u), Pair("login-1", 10u)));
  Reconfigure();
  now_ += absl::Seconds(1);
  ASSERT_TRUE(tuner_->RunOnce().ok());
  EXPECT_EQ(Weights()["fr-a100-2"], 309u);
  WeightTuner::Stats s = tuner_->stats();
  EXPECT_EQ(s.record_failures, 6);
  EXPECT_EQ(s.changes, 3);
  EXPECT_EQ(s.reapplied, 3);
  EXPECT_EQ(s.error, "");
  EXPECT_EQ(Logged("warning node weights: 3 weights written but not recorded in the audit log: "),
            1)
      << logged_.str();
  EXPECT_EQ(Logged("disk full"), 1) << logged_.str();
  Sql("DROP TRIGGER refuse;");
  Reconfigure();
  now_ += absl::Seconds(1);
  ASSERT_TRUE(tuner_->RunOnce().ok());
  EXPECT_EQ(Logged("info node weights: weights written are recorded in the audit log again\n"), 1)
      << logged_.str();
  EXPECT_THAT(WeightWrites(),
              ElementsAre("reapplied fr-a100-1 10->569", "reapplied fr-a100-2 10->309",
                          "reapplied de-h100-1 10->1008"));
  EXPECT_EQ(tuner_->stats().record_failures, 6);
}

}  // namespace
}  // namespace sovereign::service
