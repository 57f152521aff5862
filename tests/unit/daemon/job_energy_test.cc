#include "records/job_energy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>

#include "nlohmann/json.hpp"
#include "records/audit_records.h"

namespace sovereign::service {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1700000000);

// Nodes whose integrals the test sets: per allocated GPU, measured for `covered`, read until
// `newest`.
struct FakeNodes {
  std::map<std::string, NodeEnergy> nodes;
  NodeEnergyFn fn() {
    return [this](const std::string& node, absl::Time, absl::Time) -> std::optional<NodeEnergy> {
      auto it = nodes.find(node);
      return it == nodes.end() ? std::nullopt : std::optional<NodeEnergy>(it->second);
    };
  }
};

JobEnergyInput TwoNodeJob() {
  JobEnergyInput in;
  in.nodes = {"n1", "n2"};
  in.gpus = 4;  // 2 on each
  in.start = kStart;
  in.end = kStart + absl::Hours(2);
  in.node_watts = 500;
  in.pue = 1.5;
  return in;
}

TEST(MeasureJobEnergyTest, TheJobsShareOfEachNodeByHand) {
  FakeNodes f;
  // n1: 300 W per allocated GPU for 2 h; n2: 400 W, measured 1.8 h of the 2.
  f.nodes["n1"] = {300.0 * 7200, absl::Hours(2), kStart + absl::Hours(2)};
  f.nodes["n2"] = {400.0 * 6480, absl::Seconds(6480), kStart + absl::Hours(2)};
  absl::StatusOr<MeasuredJobEnergy> e =
      MeasureJobEnergy(f.fn(), TwoNodeJob(), kStart + absl::Hours(3), absl::Seconds(60));
  ASSERT_TRUE(e.ok()) << e.status();
  // GPUs: 2 x 300 W x 2 h = 1.2 kWh on n1, 2 x 400 W x 1.8 h = 1.44 kWh on n2; the run is
  // measured on 90 % of its length at the least: (1.2 + 1.44) / 0.9 = 2.9333 kWh.
  EXPECT_DOUBLE_EQ(e->gpu_kwh, 2.933333);  // six decimals, as recorded
  EXPECT_DOUBLE_EQ(e->coverage, 0.9);
  EXPECT_DOUBLE_EQ(e->node_kwh, 2 * 500 * 2 / 1000.0);  // register: 2 nodes x 500 W x 2 h
  EXPECT_DOUBLE_EQ(e->kwh, 7.4);                        // (2.933333 + 2) x 1.5 = 7.3999995
  EXPECT_DOUBLE_EQ(e->gpu_hours, 8);
  EXPECT_EQ(e->from, "dcgm");
}

TEST(MeasureJobEnergyTest, WaitsForAReadingAfterTheEndThenTakesWhatThereIs) {
  FakeNodes f;
  f.nodes["n1"] = {300.0 * 7200, absl::Hours(2), kStart + absl::Hours(2)};
  f.nodes["n2"] = {400.0 * 7000, absl::Seconds(7000), kStart + absl::Seconds(7000)};
  const JobEnergyInput in = TwoNodeJob();
  absl::StatusOr<MeasuredJobEnergy> e =
      MeasureJobEnergy(f.fn(), in, in.end + absl::Seconds(30), absl::Seconds(60));
  EXPECT_TRUE(absl::IsUnavailable(e.status())) << e.status();
  EXPECT_EQ(e.status().message(), "waiting for a reading of node n2 after the job's end");
  e = MeasureJobEnergy(f.fn(), in, in.end + absl::Seconds(60), absl::Seconds(60));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_DOUBLE_EQ(e->coverage, 0.972222);  // 7000 / 7200
}

TEST(MeasureJobEnergyTest, WhatCannotBeMeasuredSaysWhy) {
  FakeNodes f;
  f.nodes["n1"] = {300.0 * 7200, absl::Hours(2), kStart + absl::Hours(2)};
  f.nodes["n2"] = {400.0 * 3600, absl::Hours(1), kStart + absl::Hours(2)};
  const absl::Time later = kStart + absl::Hours(3);
  JobEnergyInput in = TwoNodeJob();
  absl::StatusOr<MeasuredJobEnergy> e = MeasureJobEnergy(f.fn(), in, later, absl::Seconds(60));
  EXPECT_TRUE(absl::IsFailedPrecondition(e.status()));
  EXPECT_EQ(e.status().message(), "node n2 was measured over 50% of the run (80% needed)");
  in.nodes = {"n1", "n3"};
  e = MeasureJobEnergy(f.fn(), in, later, absl::Seconds(60));
  EXPECT_EQ(e.status().message(), "the power source has no readings of node n3");
  in.gpus = 0;
  e = MeasureJobEnergy(f.fn(), in, later, absl::Seconds(60));
  EXPECT_EQ(e.status().message(), "the job had no GPUs");
  in = TwoNodeJob();
  in.end = in.start;
  e = MeasureJobEnergy(f.fn(), in, later, absl::Seconds(60));
  EXPECT_EQ(e.status().message(), "the job ran for less than a second");
}

// The outcome record carries the figure the energy report reads, and its parts.
TEST(MeasureJobEnergyTest, TheOutcomeRecordCarriesItOrWhyNot) {
  audit::AuditRecord decision;
  decision.decision_id = "d-1";
  slurm::JobRow job;
  job.job_id = 7;
  job.state = "COMPLETED";
  job.partition = "gpu-fr-a100";
  job.nodes = "n1";
  MeasuredJobEnergy m;
  m.gpu_kwh = 1.25;
  m.node_kwh = 0.5;
  m.pue = 1.2;
  m.kwh = 2.1;
  m.gpu_hours = 4;
  m.coverage = 0.95;
  absl::StatusOr<MeasuredJobEnergy> measured = m;
  nlohmann::json body =
      nlohmann::json::parse(JobOutcomeRecord(job, true, decision, kStart, &measured).body_json);
  EXPECT_DOUBLE_EQ(body["energy_kwh_measured"].get<double>(), 2.1);
  EXPECT_EQ(body["energy_measured"],
            nlohmann::json::parse(R"({"from":"dcgm","gpu_kwh":1.25,"node_kwh_register":0.5,
                                      "pue":1.2,"gpu_hours":4,"coverage":0.95})"));
  absl::StatusOr<MeasuredJobEnergy> unmeasured =
      absl::FailedPreconditionError("the job had no GPUs");
  body =
      nlohmann::json::parse(JobOutcomeRecord(job, true, decision, kStart, &unmeasured).body_json);
  EXPECT_FALSE(body.contains("energy_kwh_measured"));
  EXPECT_EQ(body["energy_unmeasured"], "the job had no GPUs");
  // Without a power source, neither.
  body = nlohmann::json::parse(JobOutcomeRecord(job, true, decision, kStart).body_json);
  EXPECT_FALSE(body.contains("energy_kwh_measured"));
  EXPECT_FALSE(body.contains("energy_unmeasured"));
}

}  // namespace
}  // namespace sovereign::service
