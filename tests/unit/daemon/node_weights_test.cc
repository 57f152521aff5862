#include "slurm_loops/node_weights.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace sovereign::service {
namespace {

// The example register: gpu-fr-a100 at paris-1 (PUE 1.3): 8 GPUs a node, 400 W per GPU,
// 1100 W per node besides; gpu-de-h100 at munich-1 (PUE 1.12): 8 GPUs, 700 W, 1600 W.
class NodeWeightsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = Register::Load(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
    ASSERT_TRUE(r.ok()) << r.status();
    reg_ = *r;
  }
  std::shared_ptr<const Register> reg_;
};

TEST_F(NodeWeightsTest, RegisterFigure) {
  std::optional<NodeFigure> f = FigureOf({"gpu-fr-a100"}, *reg_, nullptr);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->source, FigureSource::kRegister);
  EXPECT_EQ(f->partition, "gpu-fr-a100");
  EXPECT_DOUBLE_EQ(f->watts_per_gpu, 698.75);  // (400 + 1100 / 8) x 1.3
  EXPECT_EQ(WeightOf(f->watts_per_gpu), 699u);
  f = FigureOf({"gpu-de-h100"}, *reg_, nullptr);
  EXPECT_DOUBLE_EQ(f->watts_per_gpu, 1008);  // (700 + 1600 / 8) x 1.12
  EXPECT_EQ(WeightOf(f->watts_per_gpu), 1008u);
}

TEST_F(NodeWeightsTest, MeasuredFigureReplacesTheGpuPart) {
  power::PowerReading r;
  r.watts_per_gpu = 100;
  r.samples = 3;
  r.newest = absl::FromUnixSeconds(1000);
  std::optional<NodeFigure> f = FigureOf({"gpu-fr-a100"}, *reg_, &r);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->source, FigureSource::kMeasured);
  EXPECT_DOUBLE_EQ(f->watts_per_gpu, 308.75);  // (100 + 1100 / 8) x 1.3
  EXPECT_EQ(WeightOf(f->watts_per_gpu), 309u);
  EXPECT_DOUBLE_EQ(f->gpu_watts, 100);
  EXPECT_EQ(f->samples, 3);
  EXPECT_EQ(f->measured_at, absl::FromUnixSeconds(1000));
  r.watts_per_gpu = 300;
  EXPECT_EQ(WeightOf(FigureOf({"gpu-fr-a100"}, *reg_, &r)->watts_per_gpu), 569u);  // 568.75
  // A node drawing less gets the lower weight: select/cons_tres fills it first.
  power::PowerReading low = r, high = r;
  low.watts_per_gpu = 100;
  high.watts_per_gpu = 300;
  EXPECT_LT(WeightOf(FigureOf({"gpu-fr-a100"}, *reg_, &low)->watts_per_gpu),
            WeightOf(FigureOf({"gpu-fr-a100"}, *reg_, &high)->watts_per_gpu));
}

TEST_F(NodeWeightsTest, FirstPartitionTheRegisterKnows) {
  std::optional<NodeFigure> f = FigureOf({"debug", "gpu-de-h100", "gpu-fr-a100"}, *reg_, nullptr);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->partition, "gpu-de-h100");
  EXPECT_FALSE(FigureOf({"debug"}, *reg_, nullptr).has_value());
  EXPECT_FALSE(FigureOf({}, *reg_, nullptr).has_value());
}

TEST(WeightOfTest, RoundsAndClamps) {
  EXPECT_EQ(WeightOf(308.49), 308u);
  EXPECT_EQ(WeightOf(308.5), 309u);
  EXPECT_EQ(WeightOf(0), 1u);
  EXPECT_EQ(WeightOf(-5), 1u);
  EXPECT_EQ(WeightOf(1e9), 65000u);
  EXPECT_EQ(WeightOf(std::numeric_limits<double>::quiet_NaN()), 65000u);
}

class NextWeightTest : public ::testing::Test {
 protected:
  absl::Time t0_ = absl::FromUnixSeconds(1700000000);
  WeightPolicy policy_{absl::Minutes(5), 0.05};
};

TEST_F(NextWeightTest, FirstSightSetsAtOnce) {
  NodeWeightState none;
  WeightStep s = NextWeight(none, 10, 309, t0_, policy_);
  EXPECT_EQ(s.action, WeightAction::kFirst);
  EXPECT_EQ(s.weight, 309u);
  EXPECT_TRUE(s.write);
  s = NextWeight(none, 309, 309, t0_, policy_);  // already right: nothing to write
  EXPECT_EQ(s.action, WeightAction::kFirst);
  EXPECT_FALSE(s.write);
}

TEST_F(NextWeightTest, ResetWeightIsSetBackAtOnce) {
  NodeWeightState st{309, t0_};
  // A second later slurmctld shows slurm.conf's 10 (scontrol reconfigure): set back, although
  // the rate limit would hold a new figure.
  WeightStep s = NextWeight(st, 10, 309, t0_ + absl::Seconds(1), policy_);
  EXPECT_EQ(s.action, WeightAction::kReapply);
  EXPECT_EQ(s.weight, 309u);
  EXPECT_TRUE(s.write);
  // Even when the figure has moved a little (within the hysteresis): the weight set comes back.
  s = NextWeight(st, 10, 315, t0_ + absl::Seconds(1), policy_);
  EXPECT_EQ(s.action, WeightAction::kReapply);
  EXPECT_EQ(s.weight, 309u);
}

TEST_F(NextWeightTest, HysteresisHoldsSmallMoves) {
  NodeWeightState st{400, t0_};
  const absl::Time later = t0_ + absl::Hours(1);
  WeightStep s = NextWeight(st, 400, 420, later, policy_);  // 5% of 400 is 20: not more
  EXPECT_EQ(s.action, WeightAction::kKeep);
  EXPECT_EQ(s.weight, 400u);
  EXPECT_FALSE(s.write);
  s = NextWeight(st, 400, 421, later, policy_);
  EXPECT_EQ(s.action, WeightAction::kChange);
  EXPECT_EQ(s.weight, 421u);
  EXPECT_TRUE(s.write);
  s = NextWeight(st, 400, 379, later, policy_);  // down as well as up
  EXPECT_EQ(s.action, WeightAction::kChange);
  EXPECT_EQ(s.weight, 379u);
}

TEST_F(NextWeightTest, RateLimitHoldsChangesUntilMinInterval) {
  NodeWeightState st{400, t0_};
  WeightStep s = NextWeight(st, 400, 800, t0_ + absl::Minutes(5) - absl::Seconds(1), policy_);
  EXPECT_EQ(s.action, WeightAction::kKeep);
  EXPECT_EQ(s.weight, 400u);
  s = NextWeight(st, 400, 800, t0_ + absl::Minutes(5), policy_);
  EXPECT_EQ(s.action, WeightAction::kChange);
  EXPECT_EQ(s.weight, 800u);
  // A reset weight and a due change at once: the new figure is written.
  s = NextWeight(st, 10, 800, t0_ + absl::Minutes(6), policy_);
  EXPECT_EQ(s.action, WeightAction::kChange);
  EXPECT_EQ(s.weight, 800u);
  EXPECT_TRUE(s.write);
}

}  // namespace
}  // namespace sovereign::service
