// Node weights against a real Slurm cluster: sovereignd reads GPU power from a synthetic DCGM
// exporter on loopback (the figures are set by the test, nothing is measured), sets each node's
// Weight from its facility watts per GPU, select/cons_tres gives jobs the efficient node first,
// and sovereignd sets the weights again after `scontrol reconfigure` resets them.
#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/daemon_cluster.h"
#include "support/minicluster.h"
#include "support/synthetic_exporter.h"

namespace sovereign::e2e {
namespace {

using ::testing::HasSubstr;

// gpu-fr-a100 in the example register: paris-1, PUE 1.3, 1100 W per 8-GPU node besides the
// GPUs. fr-a100-1 draws 300 W per GPU: (300 + 137.5) x 1.3 = 568.75 -> weight 569; fr-a100-2
// draws 100 W per GPU: 308.75 -> 309. slurm.conf gives both Weight=10, and Slurm then takes
// fr-a100-1 first: a job on fr-a100-2 shows the weights at work.
constexpr uint32_t kHungryWeight = 569;
constexpr uint32_t kEfficientWeight = 309;
constexpr uint32_t kSlurmConfWeight = 10;

class WeightsE2ETest : public DaemonClusterTest {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(DaemonClusterTest::SetUp());
    absl::StatusOr<std::unique_ptr<testing::SyntheticExporter>> e =
        testing::SyntheticExporter::Start();
    ASSERT_TRUE(e.ok()) << e.status();
    exporter_ = *std::move(e);
    exporter_->SetNode("fr-a100-1", {300, 300});
    exporter_->SetNode("fr-a100-2", {100, 100});
  }

  // Power from the exporter and node weights in sovereignd's config (for its next start): a
  // short round so that the test waits little; a long min_interval, so that only first weights
  // and weights set again happen here.
  void EnableWeights() {
    std::ofstream(state_ + "/sovereignd.yaml", std::ios::app)
        << "power:\n  prometheus_url: " << exporter_->url() << "\n  interval: 1s\n  max_age: 1m\n"
        << "weights:\n  enabled: true\n  interval: 500ms\n  min_interval: 1h\n"
        << "  hysteresis: 5%\n";
  }

  // The node's Weight as slurmctld holds it now.
  absl::StatusOr<uint32_t> Weight(const std::string& node) {
    CommandResult r = cluster_->Run({"scontrol", "show", "node", "-o", node});
    std::smatch m;
    uint32_t weight = 0;
    if (r.exit_code != 0 || !std::regex_search(r.out, m, std::regex(" Weight=([0-9]+) ")) ||
        !absl::SimpleAtoi(m[1].str(), &weight)) {
      return absl::InternalError(r.Describe());
    }
    return weight;
  }

  // Polls (bounded) until every node of `want` has its weight; the last weights seen otherwise.
  std::string WaitForWeights(const std::map<std::string, uint32_t>& want) {
    std::string seen;
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      seen.clear();
      bool all = true;
      for (const auto& [node, weight] : want) {
        absl::StatusOr<uint32_t> w = Weight(node);
        absl::StrAppend(&seen, node, "=", w.ok() ? absl::StrCat(*w) : w.status().ToString(), " ");
        all = all && w.ok() && *w == weight;
      }
      if (all) {
        return "";
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return absl::StrCat("weights after 30 s: ", seen, "\n", ReadText(state_ + "/sovereignd.log"));
  }

  // A one-GPU job in gpu-fr-a100, run to its end: the node it ran on.
  std::string RunOneGpuJob() {
    const uint32_t id = Submit({"-p", "gpu-fr-a100", "--gres=gpu:1", "--wrap", "true"});
    absl::StatusOr<std::string> state = cluster_->WaitForJobState(id, {"COMPLETED"});
    EXPECT_TRUE(state.ok()) << state.status();
    absl::StatusOr<std::string> node = cluster_->JobField(id, "NodeList");
    return node.ok() ? *node : node.status().ToString();
  }

  // A one-GPU job of gpu-fr-a100 running `script`, run to its end: the body of its outcome
  // record, "" (with a test failure) when the job or the record did not come.
  std::string RunToItsOutcome(const std::string& script) {
    const uint32_t id = Submit({"-p", "gpu-fr-a100", "--gres=gpu:1", "--wrap", script});
    absl::StatusOr<std::string> state =
        cluster_->WaitForJobState(id, {"COMPLETED"}, absl::Seconds(60));
    EXPECT_TRUE(state.ok()) << state.status();
    std::vector<Row> rows = WaitForRows([&](const std::vector<Row>& r) {
      return std::any_of(r.begin(), r.end(),
                         [&](const Row& x) { return x.kind == 2 && x.job_id == id; });
    });
    for (const Row& r : rows) {
      if (r.kind == 2 && r.job_id == id) {
        return r.body;
      }
    }
    ADD_FAILURE() << "no outcome of job " << id << "\n" << ReadText(state_ + "/sovereignd.log");
    return "";
  }

  // The bodies of the node weight records (kind 3) of `node`, oldest first.
  static std::vector<nlohmann::json> WeightRecordsOf(const std::vector<Row>& rows,
                                                     const std::string& node) {
    std::vector<nlohmann::json> out;
    for (const Row& r : rows) {
      nlohmann::json body = nlohmann::json::parse(r.body, nullptr, false);
      if (r.kind == 3 && body.value("node", "") == node) {
        out.push_back(std::move(body));
      }
    }
    return out;
  }

  std::unique_ptr<testing::SyntheticExporter> exporter_;
};

TEST_F(WeightsE2ETest, TheEfficientNodeIsFilledFirstAndItsWeightComesBackAfterReconfigure) {
  // sovereignd without weights: slurm.conf's equal weights make Slurm take fr-a100-1, so that
  // a job on fr-a100-2 below is the weights' doing.
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_EQ(RunOneGpuJob(), "fr-a100-1");
  StopDaemon();
  ASSERT_EQ(*Weight("fr-a100-2"), kSlurmConfWeight);

  EnableWeights();
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_EQ(WaitForWeights({{"fr-a100-1", kHungryWeight}, {"fr-a100-2", kEfficientWeight}}), "");
  EXPECT_EQ(RunOneGpuJob(), "fr-a100-2");

  // What sovereignctl status says of them: the weight set, the figure and where it comes from.
  nlohmann::json status = Status();
  ASSERT_TRUE(status.value("weights_enabled", false)) << status.dump();
  bool seen = false;
  for (const nlohmann::json& n : status["node_weights"]) {
    if (n.value("node", "") == "fr-a100-2") {
      seen = true;
      EXPECT_EQ(n.value("weight", 0u), kEfficientWeight) << n.dump();
      EXPECT_DOUBLE_EQ(n.value("watts_per_gpu", 0.0), 308.75) << n.dump();
      EXPECT_EQ(n.value("source", ""), "measured") << n.dump();
    }
  }
  EXPECT_TRUE(seen) << status.dump();
  // The audit log holds the first weight, and why.
  std::vector<Row> rows = WaitForRows([](const std::vector<Row>& rows) {
    return std::any_of(rows.begin(), rows.end(), [](const Row& r) {
      return r.kind == 3 && r.body.find("\"node\":\"fr-a100-2\"") != std::string::npos;
    });
  });
  std::vector<nlohmann::json> first = WeightRecordsOf(rows, "fr-a100-2");
  ASSERT_FALSE(first.empty()) << ReadText(state_ + "/sovereignd.log");
  EXPECT_EQ(first[0]["verdict"], "set") << first[0].dump();
  EXPECT_EQ(first[0]["old_weight"], kSlurmConfWeight) << first[0].dump();
  EXPECT_EQ(first[0]["new_weight"], kEfficientWeight) << first[0].dump();
  EXPECT_EQ(first[0]["watts_per_gpu"], 308.75) << first[0].dump();
  EXPECT_EQ(first[0]["source"], "measured") << first[0].dump();
  EXPECT_THAT(first[0]["why"].get<std::string>(),
              HasSubstr("measured 309 W/GPU at the facility (100 W per GPU, mean of "));
  CommandResult table = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket(), "status"});
  ASSERT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_THAT(table.out, HasSubstr("  fr-a100-2        weight 309      309 W/GPU measured "));
  EXPECT_THAT(table.out, HasSubstr("  de-h100-1        weight 1008    1008 W/GPU register figure "
                                   "(gpu-de-h100)"));
  EXPECT_THAT(table.out, HasSubstr("power:            " + exporter_->url() +
                                   ": 2 hosts with a "
                                   "fresh reading"));

  // scontrol reconfigure puts slurm.conf's weights back; sovereignd sets its own again.
  const int64_t reapplied_before = Count(status, "weight_reapplied");
  CommandResult reconfigure = cluster_->Run({"scontrol", "reconfigure"});
  ASSERT_EQ(reconfigure.exit_code, 0) << reconfigure.Describe();
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (Count(status, "weight_reapplied") < reapplied_before + 2 && absl::Now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    status = Status();
  }
  ASSERT_GE(Count(status, "weight_reapplied"), reapplied_before + 2)
      << status.dump() << ReadText(state_ + "/sovereignd.log");
  ASSERT_EQ(WaitForWeights({{"fr-a100-1", kHungryWeight}, {"fr-a100-2", kEfficientWeight}}), "");
  EXPECT_THAT(ReadText(state_ + "/sovereignd.log"),
              HasSubstr("node fr-a100-2: weight 10 -> 309: set again, slurmctld had reset it"));
  // ... and so does the audit log, as an auditor reads it.
  CommandResult listed = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket(), "--json", "audit",
                                        "list", "--kind", "node_weight", "--verdict", "reapplied"});
  ASSERT_EQ(listed.exit_code, 0) << listed.Describe();
  const nlohmann::json reapplied =
      nlohmann::json::parse(listed.out, nullptr, false).value("records", nlohmann::json::array());
  const nlohmann::json* again = nullptr;
  for (const nlohmann::json& r : reapplied) {
    const nlohmann::json body = nlohmann::json::parse(r.value("body_json", ""), nullptr, false);
    if (body.value("node", "") == "fr-a100-2" && again == nullptr) {
      again = &r;
      EXPECT_EQ(body["old_weight"], kSlurmConfWeight) << body.dump();
      EXPECT_EQ(body["new_weight"], kEfficientWeight) << body.dump();
      EXPECT_EQ(body["why"],
                "set again, slurmctld had reset it (scontrol reconfigure or a restart)");
    }
  }
  ASSERT_NE(again, nullptr) << listed.out;
  EXPECT_EQ(again->value("kind", ""), "RECORD_KIND_NODE_WEIGHT");
  EXPECT_EQ(again->value("caller", ""), "sovereignd node weights");
  EXPECT_EQ(again->value("partition", ""), "gpu-fr-a100");
  EXPECT_EQ(again->value("decision_id", ""), "");  // protobuf's JSON leaves an empty one out
  EXPECT_EQ(Count(Status(), "weight_record_failures"), 0);
  EXPECT_EQ(RunOneGpuJob(), "fr-a100-2");
}

// Live power changes where the plugin sends a job. A one-GPU, one-hour public job costs, by the
// register, (350 + 800) W x 1.5 = 1.725 kWh on gpu-in-l40s and (400 + 1100) W x 1.3 = 1.95 kWh on
// gpu-fr-a100: it goes to Mumbai. Once the exporter says Paris's GPUs draw 100 W, gpu-fr-a100
// costs (100 + 1100) x 1.3 = 1.56 kWh and the next such job goes there; the record says the
// figure came from the exporter.
TEST_F(WeightsE2ETest, LivePowerChangesWhereTheNextJobGoes) {
  StartDaemon();
  auto submit = [&] {
    CommandResult r = cluster_->Run({"sbatch", "--parsable", "--hold", "-o", "/dev/null",
                                     "--dataset=imagenet-public", "--gres=gpu:1", "-t", "60",
                                     "--wrap", "true"});
    uint32_t id = 0;
    EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(r.out), &id)) << r.Describe();
    return id;
  };
  const uint32_t before = submit();
  EXPECT_EQ(*cluster_->JobField(before, "Partition"), "gpu-in-l40s");
  StopDaemon();
  exporter_->SetNode("fr-a100-1", {100, 100});
  exporter_->SetNode("fr-a100-2", {100, 100});
  std::ofstream(state_ + "/sovereignd.yaml", std::ios::app)
      << "power:\n  prometheus_url: " << exporter_->url() << "\n  interval: 1s\n  max_age: 1m\n";
  StartDaemon();  // the first snapshot carries the first scrape
  const uint32_t after = submit();
  EXPECT_EQ(*cluster_->JobField(after, "Partition"), "gpu-fr-a100");
  std::vector<Row> rows = WaitForRows([&](const std::vector<Row>& r) {
    return std::count_if(r.begin(), r.end(), [](const Row& x) { return x.kind == 0; }) >= 2;
  });
  const Row* placed = nullptr;
  for (const Row& r : rows) {
    if (r.kind == 0 && r.body.find("\"partition\":\"gpu-fr-a100\",\"reason\"") != std::string::npos) {
      placed = &r;
    }
  }
  ASSERT_NE(placed, nullptr) << ReadText(state_ + "/sovereignd.log");
  EXPECT_THAT(placed->body, HasSubstr("\"energy_kwh\":1.56,"));
  EXPECT_THAT(placed->body, HasSubstr("\"from\":\"dcgm\",\"gpu_watts\":100.0}"));
  EXPECT_THAT(placed->body, HasSubstr("\"power\":{\"from\":\"register\",\"gpu_watts\":350.0}"));
  for (uint32_t id : {before, after}) {
    cluster_->Run({"scancel", absl::StrCat(id)});
  }
}

// A finished job's measured energy. Both GPUs of each gpu-fr-a100 node draw 300 + 100 W by the
// exporter; a one-GPU job alone on its node is given the whole node's GPU power (the idle GPU
// beside it counts: it is nobody else's), 400 W, over its run. The record's figure differs from
// 400 W x run only by how the edges of the run fall between scrapes (1 s) and cluster reads
// (the allocation, every publication: 500 ms here); a share by GPUs (1 of 2) would be half.
TEST_F(WeightsE2ETest, AFinishedJobsEnergyIsMeasured) {
  exporter_->SetNode("fr-a100-1", {300, 100});
  exporter_->SetNode("fr-a100-2", {300, 100});
  std::ofstream(state_ + "/sovereignd.yaml", std::ios::app)
      << "power:\n  prometheus_url: " << exporter_->url() << "\n  interval: 1s\n  max_age: 1m\n";
  // Cluster reads every 500 ms: the allocation the power is shared by follows the job closely.
  std::string config = ReadText(state_ + "/sovereignd.yaml");
  const size_t at = config.find("publish_interval_ms: 2000");
  ASSERT_NE(at, std::string::npos) << config;
  config.replace(at, 25, "publish_interval_ms: 500");
  std::ofstream(state_ + "/sovereignd.yaml", std::ios::trunc) << config;
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const std::string outcome = RunToItsOutcome("sleep 8");
  ASSERT_FALSE(outcome.empty());
  SCOPED_TRACE(outcome);
  const nlohmann::json o = nlohmann::json::parse(outcome);
  ASSERT_TRUE(o.contains("energy_measured")) << ReadText(state_ + "/sovereignd.log");
  absl::Time start, end;
  std::string err;
  ASSERT_TRUE(
      absl::ParseTime(absl::RFC3339_full, o["start_time"].get<std::string>(), &start, &err));
  ASSERT_TRUE(absl::ParseTime(absl::RFC3339_full, o["end_time"].get<std::string>(), &end, &err));
  const double run_s = absl::ToDoubleSeconds(end - start);
  const nlohmann::json& m = o["energy_measured"];
  EXPECT_EQ(m["from"], "dcgm");
  EXPECT_NEAR(m["gpu_kwh"].get<double>(), 400 * run_s / 3.6e6, 400 * 3 / 3.6e6);
  EXPECT_NEAR(m["gpu_hours"].get<double>(), run_s / 3600, 1e-6);  // six decimals in the record
  // The rest from the register: 1100 W per node of gpu-fr-a100, PUE 1.3.
  EXPECT_DOUBLE_EQ(m["node_kwh_register"].get<double>(), std::round(1100 * run_s / 3.6) / 1e6);
  EXPECT_DOUBLE_EQ(m["pue"].get<double>(), 1.3);
  EXPECT_GE(m["coverage"].get<double>(), 0.8);
  EXPECT_NEAR(o["energy_kwh_measured"].get<double>(),
              (m["gpu_kwh"].get<double>() + m["node_kwh_register"].get<double>()) * 1.3, 2e-6);

  // The energy report puts it in the measured column.
  CommandResult r = cluster_->Run(
      {SOVEREIGNCTL_PATH, "--socket", socket(), "--json", "energy", "--by", "partition"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  const nlohmann::json report = nlohmann::json::parse(r.out);
  SCOPED_TRACE(r.out);
  EXPECT_EQ(report["total"]["measured_jobs"], "1");
  EXPECT_NEAR(report["total"]["measured_kwh"].get<double>(), o["energy_kwh_measured"].get<double>(),
              1e-6);

  // Status shows what gpu-fr-a100 has learnt, and that one job is not enough (20 by default).
  CommandResult table = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket(), "status"});
  ASSERT_EQ(table.exit_code, 0) << table.Describe();
  EXPECT_THAT(table.out, HasSubstr(absl::StrFormat(
                             "\nlearnt power:     from finished jobs' measured energy; placement "
                             "uses it where no live reading is fresh\n  gpu-fr-a100      %5.0f "
                             "W/GPU measured over 1 job (0.0 GPU-hours); used from 20 jobs "
                             "(learned_energy_min_jobs)\n",
                             m["gpu_kwh"].get<double>() * 1000 / m["gpu_hours"].get<double>())));
}

// A partition's learnt GPU power stands in for live readings once they stop. With
// learned_energy_min_jobs: 1, one measured job backs gpu-fr-a100's figure; when the exporter
// stops reporting its nodes (max_age 10 s: long enough that a loaded machine's late scrapes
// leave no gap in the job's measurement), the snapshot carries (1 x 400 W, the register's,
// + 1 x the job's measured watts per GPU-hour) / 2, and Decide uses it, saying "learned".
TEST_F(WeightsE2ETest, LearntPowerStandsInWhenLiveReadingsStop) {
  exporter_->SetNode("fr-a100-1", {300, 100});
  exporter_->SetNode("fr-a100-2", {300, 100});
  std::string reg = ReadText(state_ + "/register.yaml");
  const size_t policy = reg.find("\npolicy:\n");
  ASSERT_NE(policy, std::string::npos);
  reg.insert(policy + 9, "  learned_energy_min_jobs: 1\n");
  std::ofstream(state_ + "/register.yaml", std::ios::trunc) << reg;
  std::ofstream(state_ + "/sovereignd.yaml", std::ios::app)
      << "power:\n  prometheus_url: " << exporter_->url() << "\n  interval: 1s\n  max_age: 10s\n";
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  const std::string outcome = RunToItsOutcome("sleep 4");
  ASSERT_FALSE(outcome.empty());
  const nlohmann::json measured =
      nlohmann::json::parse(outcome).value("energy_measured", nlohmann::json());
  ASSERT_TRUE(measured.is_object()) << outcome << "\n" << ReadText(state_ + "/sovereignd.log");
  const double learnt =
      measured["gpu_kwh"].get<double>() * 1000 / measured["gpu_hours"].get<double>();

  exporter_->SetNode("fr-a100-1", {});
  exporter_->SetNode("fr-a100-2", {});
  const std::vector<std::string> explain = {SOVEREIGNCTL_PATH,
                                            "--socket",
                                            socket(),
                                            "--json",
                                            "explain",
                                            "--user",
                                            "root",
                                            "--uid",
                                            "0",
                                            "--group",
                                            "root",
                                            "-p",
                                            "gpu-fr-a100",
                                            "--gpus",
                                            "1"};
  nlohmann::json fr = nlohmann::json::object();
  std::string last;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    CommandResult answer = cluster_->Run(explain);
    ASSERT_EQ(answer.exit_code, 0) << answer.Describe();
    last = answer.out;
    const nlohmann::json decision = nlohmann::json::parse(answer.out);
    for (const nlohmann::json& c : decision["candidates"]) {
      if (c.value("partition", "") == "gpu-fr-a100") {
        fr = c;
      }
    }
    if (fr.value("power_from", "") == "learned") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ASSERT_EQ(fr.value("power_from", ""), "learned") << last;
  EXPECT_NEAR(fr.value("gpu_watts", 0.0), (400 + learnt) / 2, 0.01) << fr.dump();
  CommandResult table = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket(), "status"});
  EXPECT_THAT(table.out,
              HasSubstr(absl::StrFormat("  gpu-fr-a100      %5.0f W/GPU measured over 1 job (0.0 "
                                        "GPU-hours); in use: %.0f W/GPU with the register's 400\n",
                                        learnt, (400 + learnt) / 2)));
}

}  // namespace
}  // namespace sovereign::e2e
