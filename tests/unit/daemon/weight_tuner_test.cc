#include "slurm_loops/weight_tuner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "spdlog/sinks/ostream_sink.h"
#include "spdlog/spdlog.h"

namespace sovereign::service {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

// slurmctld's nodes in memory, a power source and a clock the test sets. Weights with the
// example register (hand-computed in node_weights_test): gpu-fr-a100 measured 100 W/GPU -> 309,
// 300 W/GPU -> 569, register figure -> 699; gpu-de-h100 register figure -> 1008.
class WeightTunerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // What the tuner logs, for the lines an admin reads.
    previous_logger_ = spdlog::default_logger();
    spdlog::set_default_logger(std::make_shared<spdlog::logger>(
        "test", std::make_shared<spdlog::sinks::ostream_sink_mt>(log_)));
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
    tuner_ = std::make_unique<WeightTuner>(o, [this] { return reg_; });
  }

  void TearDown() override { spdlog::set_default_logger(previous_logger_); }

  // Occurrences of `text` in the log so far.
  int Logged(const std::string& text) const {
    const std::string log = log_.str();
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
  std::unique_ptr<WeightTuner> tuner_;
  std::ostringstream log_;
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
      << log_.str();
  EXPECT_EQ(Logged("info node de-h100-1: weight 10 -> 1008: register figure 1008 W/GPU at the "
                   "facility for partition gpu-de-h100 (no fresh power reading)\n"),
            1)
      << log_.str();
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
      << log_.str();
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
      << log_.str();
  slurmctld_up_ = true;
  refuse_ = "fr-a100-1";
  ASSERT_TRUE(tuner_->RunOnce().ok());
  EXPECT_EQ(Logged("info node weights: slurmctld answers again\n"), 1) << log_.str();
  ASSERT_TRUE(tuner_->RunOnce().ok());  // refused again: counted, not logged again
  EXPECT_EQ(Logged("warning node fr-a100-1: weight 10 -> 569 refused: slurm: cannot set the "
                   "weight of node fr-a100-1; tried again every 30000 ms\n"),
            1)
      << log_.str();
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

}  // namespace
}  // namespace sovereign::service
