// Green windows, the mix objective and measured GPU power, on a register small enough to work
// out by hand: two EU
// sites with a PUE of 1, a partition each, 500 W per GPU and 500 W per node. A one-GPU job
// then uses 1 kWh an hour, so its grams are the intensity its run meets, per hour run.
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sovereign/decision_json.h"
#include "sovereign/placement.h"

namespace sovereign {
namespace {

using ::testing::HasSubstr;

// An hour boundary, and a decision ten minutes after it.
const absl::Time kHour = absl::FromUnixSeconds(1794999600);
const absl::Time kNow = kHour + absl::Minutes(10);

std::string Policy(std::string_view extra) {
  return "policy:\n  max_labels: 16\n" + std::string(extra);
}

constexpr char kBody[] = R"(
regions:
  - {name: eu}
sites:
  - {name: site-a, region: eu, country: FR, operator: A, operator_jurisdiction: EU, pue: 1.0,
     carbon_intensity: 100}
  - {name: site-b, region: eu, country: DE, operator: B, operator_jurisdiction: EU, pue: 1.0,
     carbon_intensity: 200}
partitions:
  - {name: pa, site: site-a, gpu_model: X, gpu_type: x, gpus_per_node: 4, nodes: 2,
     gpu_watts: 500, gpu_idle_watts: 50, node_watts: 500}
  - {name: pb, site: site-b, gpu_model: X, gpu_type: x, gpus_per_node: 4, nodes: 2,
     gpu_watts: PB_WATTS, gpu_idle_watts: 50, node_watts: 500}
)";

std::shared_ptr<const Register> Reg(std::string_view policy = "", int pb_watts = 500) {
  std::string body = kBody;
  body.replace(body.find("PB_WATTS"), 8, absl::StrCat(pb_watts));
  auto reg = Register::Parse(Policy(policy) + body, "green.yaml");
  EXPECT_TRUE(reg.ok()) << reg.status();
  return *reg;
}

// Site A's series: one point an hour from kHour, `at_hour` overriding the given hours.
ClusterView ViewWithSeries(const Register& reg, std::map<int, double> at_hour, int hours = 12,
                           double base = 300) {
  ClusterSnapshot snap;
  snap.taken_at = kNow;
  for (const char* name : {"pa", "pb"}) {
    PartitionStatus p;
    p.name = name;
    p.state = PartitionState::kUp;
    p.nodes_up = 2;
    p.gpus_total = 8;
    p.gpus_free = 8;
    snap.partitions.push_back(p);
  }
  std::vector<CarbonPoint> points;
  for (int h = 0; h < hours; ++h) {
    points.push_back({kHour + absl::Hours(h), at_hour.count(h) ? at_hour[h] : base, h >= 1});
  }
  auto series = CarbonSeries::FromPoints(points, "site-a.csv");
  EXPECT_TRUE(series.ok()) << series.status();
  snap.carbon.push_back({"site-a", "site-a.csv", CarbonBasis::kLocation,
                         std::make_shared<const CarbonSeries>(*series)});
  return ClusterView::Bind(snap, reg);
}

JobRequest Job(absl::Duration window, absl::Duration run = absl::Hours(1)) {
  JobRequest r;
  r.user = "alice";
  r.uid = 1000;
  r.gpus = 1;
  r.time_limit = run;
  r.submit_time = kNow;
  r.green_window = window;
  return r;
}

TEST(GreenStartTest, MovesToTheGreenestStartAndPartitionWithinTheWindow) {
  auto reg = Reg();
  // Site A: 300 g/kWh except 60 from kHour+2h to +3h. Site B: its annual 200, always.
  const ClusterView view = ViewWithSeries(*reg, {{2, 60}});
  const Decision d = Decide(Job(absl::Hours(6)), view, *reg, kNow);
  ASSERT_EQ(d.verdict, Verdict::kPlace) << d.reason;
  // At once, pb (200 g) beats pa (300 g): equal energy, CO2 breaks the tie.
  EXPECT_EQ(d.green.immediate_partition, reg->PartitionIndex("pb"));
  EXPECT_DOUBLE_EQ(d.green.immediate_co2_grams, 200);
  EXPECT_EQ(d.green.immediate, kNow);
  // Within 6h, pa's hour at 60 g: 1 kWh x 60.
  EXPECT_TRUE(d.green.moved);
  EXPECT_EQ(d.green.start, kHour + absl::Hours(2));
  EXPECT_EQ(d.partition_name, "pa");
  EXPECT_EQ(d.green.partition, reg->PartitionIndex("pa"));
  EXPECT_DOUBLE_EQ(d.green.co2_grams, 60);
  EXPECT_EQ(d.green.window, absl::Hours(6));
  EXPECT_EQ(d.candidates[reg->PartitionIndex("pa")].rank, 1);
  EXPECT_EQ(d.candidates[reg->PartitionIndex("pb")].rank, 2);
  EXPECT_EQ(d.reason,
            "placed on pa (region eu) to start at 2026-11-18 13:00 UTC, within its green window "
            "of 6h: 60 gCO2 expected instead of 200 starting now on pb (70% less)");

  const nlohmann::json j = nlohmann::json::parse(DecisionJsonText(d, Job(absl::Hours(6)), *reg));
  EXPECT_EQ(j["green"]["start"], "2026-11-18T13:00:00Z");
  EXPECT_EQ(j["green"]["immediate"]["partition"], "pb");
  EXPECT_EQ(j["green"]["saving"], 0.7);
  EXPECT_EQ(j["request"]["green_window_seconds"], 21600);
}

TEST(GreenStartTest, AJobWithoutAWindowStartsAtOnce) {
  auto reg = Reg();
  const ClusterView view = ViewWithSeries(*reg, {{2, 60}});
  const Decision d = Decide(Job(absl::ZeroDuration()), view, *reg, kNow);
  EXPECT_EQ(d.partition_name, "pb");
  EXPECT_EQ(d.green.asked, absl::ZeroDuration());
  EXPECT_FALSE(d.green.moved);
  EXPECT_THAT(d.reason, ::testing::Not(HasSubstr("green")));
  const nlohmann::json j = nlohmann::json::parse(DecisionJsonText(d, Job({}), *reg));
  EXPECT_FALSE(j.contains("green"));
  EXPECT_FALSE(j["request"].contains("green_window_seconds"));
}

TEST(GreenStartTest, NeverBeyondTheWindow) {
  auto reg = Reg();
  JobRequest job = Job(absl::Hours(6));
  job.partitions = {"pa"};
  // The green hour starts 7h50m after the decision: outside a 6h window, inside an 8h one.
  const ClusterView view = ViewWithSeries(*reg, {{8, 60}});
  const Decision six = Decide(job, view, *reg, kNow);
  EXPECT_FALSE(six.green.moved);
  EXPECT_EQ(six.green.start, kNow);
  EXPECT_THAT(six.reason, ::testing::EndsWith(
                              "; green window 6h: starts now, as no start within it is expected "
                              "to emit less CO2"));
  job.green_window = absl::Hours(8);
  const Decision eight = Decide(job, view, *reg, kNow);
  EXPECT_TRUE(eight.green.moved);
  EXPECT_EQ(eight.green.start, kHour + absl::Hours(8));
}

TEST(GreenStartTest, MovesOnlyForTheRegistersMinimumSaving) {
  auto reg = Reg();
  JobRequest job = Job(absl::Hours(6));
  job.partitions = {"pa"};
  // 285 instead of 300: 5 % less, under the default 10 %.
  const Decision small = Decide(job, ViewWithSeries(*reg, {{2, 285}}), *reg, kNow);
  EXPECT_FALSE(small.green.moved);
  EXPECT_THAT(small.reason,
              ::testing::EndsWith("; green window 6h: starts now, as no start within it saves 10% "
                                  "of CO2 or more (at best 5%)"));
  auto lenient = Reg("  green_min_saving: 0.04\n");
  const Decision taken = Decide(job, ViewWithSeries(*lenient, {{2, 285}}), *lenient, kNow);
  EXPECT_TRUE(taken.green.moved);
  EXPECT_EQ(taken.green.start, kHour + absl::Hours(2));
}

// A two-hour run over a one-hour dip: every start from +1h to +2h meets the whole dip (mean
// (60 + 300) / 2 = 180); the earliest of them is taken. At once it meets 10 minutes of the dip:
// (110 x 300 + 10 x 60) / 120 = 280.
TEST(GreenStartTest, ARunLongerThanTheDipStartsAtTheEarliestBestStart) {
  auto reg = Reg();
  JobRequest job = Job(absl::Hours(6), absl::Hours(2));
  job.partitions = {"pa"};
  const Decision d = Decide(job, ViewWithSeries(*reg, {{2, 60}}), *reg, kNow);
  EXPECT_TRUE(d.green.moved);
  EXPECT_EQ(d.green.start, kHour + absl::Hours(1));
  EXPECT_DOUBLE_EQ(d.green.co2_grams, 2 * 180);
  EXPECT_DOUBLE_EQ(d.green.immediate_co2_grams, 2 * 280);
}

TEST(GreenStartTest, TheRegisterCapsTheWindow) {
  auto reg = Reg("  green_max_window: 1h\n");
  JobRequest job = Job(absl::Hours(6));
  job.partitions = {"pa"};
  const Decision d = Decide(job, ViewWithSeries(*reg, {{2, 60}}), *reg, kNow);
  EXPECT_EQ(d.green.window, absl::Hours(1));
  EXPECT_EQ(d.green.asked, absl::Hours(6));
  // The latest start it allows, 1h on, meets the dip's first 10 minutes:
  // (50 x 300 + 10 x 60) / 60 = 260 g, 13 % less than 300.
  EXPECT_TRUE(d.green.moved);
  EXPECT_EQ(d.green.start, kNow + absl::Hours(1));
  EXPECT_DOUBLE_EQ(d.green.co2_grams, 260);
  EXPECT_THAT(d.reason, HasSubstr("within its green window of 1h (asked 6h; the register allows "
                                  "1h): 260 gCO2 expected instead of 300 starting now on pa (13% "
                                  "less)"));
  auto none = Reg("  green_max_window: 0\n");
  const Decision off = Decide(job, ViewWithSeries(*none, {{2, 60}}), *none, kNow);
  EXPECT_FALSE(off.green.moved);
  EXPECT_THAT(off.reason, ::testing::EndsWith(
                              "; green window: the register allows none, the job starts now"));
}

TEST(GreenStartTest, ARefusedJobGetsNoGreenStart) {
  auto reg = Reg();
  JobRequest job = Job(absl::Hours(6));
  job.partitions = {"nowhere"};
  const Decision d = Decide(job, ViewWithSeries(*reg, {{2, 60}}), *reg, kNow);
  EXPECT_EQ(d.verdict, Verdict::kReject);
  EXPECT_EQ(d.green.asked, absl::ZeroDuration());
}

// pa: 1 kWh, 300 g (site A's series); pb at 700 W a GPU: 1.2 kWh x 200 = 240 g.
// Weights 1:1 -> pa 1/1 + 300/240 = 2.25, pb 1.2/1 + 240/240 = 2.2: pb.
// Weights 3:1 -> pa 3 + 1.25 = 4.25, pb 3.6 + 1 = 4.6: pa.
TEST(ObjectiveMixTest, WeighsEnergyAndCarbonEachAgainstTheBest) {
  auto even = Reg("  objective: mix\n  energy_weight: 1\n  carbon_weight: 1\n", 700);
  const Decision a = Decide(Job({}), ViewWithSeries(*even, {}), *even, kNow);
  EXPECT_EQ(a.partition_name, "pb");
  EXPECT_THAT(a.reason, ::testing::EndsWith(
                            "best of 2 compliant partitions by energy and carbon weighted 1:1"));
  auto energy_first = Reg("  objective: mix\n  energy_weight: 3\n  carbon_weight: 1\n", 700);
  const Decision b = Decide(Job({}), ViewWithSeries(*energy_first, {}), *energy_first, kNow);
  EXPECT_EQ(b.partition_name, "pa");
}

// pa at the register's 500 W a GPU: (500 + 500) W for 1h = 1 kWh; pb likewise, but its
// exporter says its GPUs draw 200 W: (200 + 500) W = 0.7 kWh, so pb wins by energy, and the
// record says where the figure came from and how old it was.
TEST(MeasuredPowerTest, TheMeasuredDrawReplacesTheRegistersAndIsRecordedWithItsAge) {
  auto reg = Reg();
  ClusterSnapshot snap;
  snap.taken_at = kNow;
  for (const char* name : {"pa", "pb"}) {
    PartitionStatus p;
    p.name = name;
    p.nodes_up = 2;
    p.gpus_total = 8;
    p.gpus_free = 8;
    snap.partitions.push_back(p);
  }
  snap.partitions[1].gpu_power = MeasuredPower{200, PowerFrom::kDcgm, kNow - absl::Seconds(12)};
  // Through the snapshot's JSON form, as the plugin reads it.
  auto read = ClusterSnapshot::FromJson(snap.ToJson(), "c.json");
  ASSERT_TRUE(read.ok()) << read.status();
  const Decision d = Decide(Job({}), ClusterView::Bind(*read, *reg), *reg, kNow);
  EXPECT_EQ(d.partition_name, "pb");
  const Candidate& pb = d.candidates[reg->PartitionIndex("pb")];
  EXPECT_DOUBLE_EQ(pb.energy_kwh, 0.7);
  EXPECT_EQ(pb.power_from, PowerFrom::kDcgm);
  EXPECT_DOUBLE_EQ(d.candidates[reg->PartitionIndex("pa")].energy_kwh, 1);
  const nlohmann::json j = nlohmann::json::parse(DecisionJsonText(d, Job({}), *reg));
  EXPECT_EQ(j["candidates"][1]["power"],
            nlohmann::json::parse(R"({"age_seconds":12,"from":"dcgm","gpu_watts":200.0})"));
  EXPECT_EQ(j["candidates"][0]["power"],
            nlohmann::json::parse(R"({"from":"register","gpu_watts":500.0})"));
  // Without the measurement, pa and pb tie on energy and pa's lower CO2 wins.
  snap.partitions[1].gpu_power.reset();
  EXPECT_EQ(Decide(Job({}), ClusterView::Bind(snap, *reg), *reg, kNow).partition_name, "pa");
}

}  // namespace
}  // namespace sovereign
