#include "sovereign/cluster.h"

#include "gtest/gtest.h"

namespace sovereign {
namespace {

absl::Status Parse(const std::string& json) {
  return ClusterSnapshot::FromJson(json, "c.json").status();
}

TEST(ClusterSnapshot, RoundTripsThroughJson) {
  auto snap = ClusterSnapshot::FromJson(
      R"({"taken_at": "2026-11-22T10:00:00Z", "partitions": [
          {"name": "gpu-fr-a100", "state": "drain", "nodes_up": 4, "gpus_total": 32,
           "gpus_free": 12, "current_watts": 9100.5, "gpus_per_node": 8, "nodes_total": 5},
          {"name": "gpu-us-h100", "nodes_up": 1, "gpus_total": 8, "gpus_free": 8}]})",
      "c.json");
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ(snap->taken_at, absl::FromUnixSeconds(1795341600));
  ASSERT_EQ(snap->partitions.size(), 2u);
  EXPECT_EQ(snap->partitions[0].state, PartitionState::kDrain);
  EXPECT_EQ(snap->partitions[0].gpus_free, 12);
  EXPECT_DOUBLE_EQ(*snap->partitions[0].current_watts, 9100.5);
  EXPECT_EQ(snap->partitions[1].state, PartitionState::kUp);
  EXPECT_FALSE(snap->partitions[1].current_watts.has_value());
  EXPECT_EQ(snap->partitions[0].gpus_per_node, 8);
  EXPECT_EQ(snap->partitions[0].nodes_total, 5);
  EXPECT_FALSE(snap->partitions[1].gpus_per_node.has_value());
  EXPECT_FALSE(snap->partitions[1].nodes_total.has_value());
  auto again = ClusterSnapshot::FromJson(snap->ToJson(), "again");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->ToJson(), snap->ToJson());
  // What was read comes back: a field ToJson leaves out would pass the comparison above.
  ASSERT_EQ(again->partitions.size(), 2u);
  EXPECT_EQ(again->partitions[0].current_watts, snap->partitions[0].current_watts);
  EXPECT_EQ(again->partitions[0].gpus_per_node, 8);
  EXPECT_EQ(again->partitions[0].nodes_total, 5);
  EXPECT_FALSE(again->partitions[1].gpus_per_node.has_value());
}

TEST(ClusterSnapshot, EveryErrorNamesTheFieldAndValue) {
  EXPECT_EQ(Parse("{").message(), "cluster snapshot c.json: not valid JSON");
  EXPECT_EQ(Parse("[]").message(), "cluster snapshot c.json: expected a JSON object at the top");
  EXPECT_EQ(Parse("{}").message(),
            "cluster snapshot c.json: field \"partitions\": expected a list of partitions");
  EXPECT_EQ(Parse(R"({"taken_at": "yesterday", "partitions": []})").message(),
            "cluster snapshot c.json: field \"taken_at\": expected an RFC 3339 time such as "
            "\"2026-11-22T10:00:00Z\", got \"yesterday\"");
  EXPECT_EQ(Parse(R"({"partitions": [3]})").message(),
            "cluster snapshot c.json: partitions[0]: expected an object");
  EXPECT_EQ(Parse(R"({"partitions": [{"state": "up"}]})").message(),
            "cluster snapshot c.json: partitions[0]: field \"name\": expected a name");
  EXPECT_EQ(Parse(R"({"partitions": [{"name": "p", "state": "broken"}]})").message(),
            "cluster snapshot c.json: partition \"p\": field \"state\": \"broken\" is not one of "
            "up, down, drain, inactive");
  EXPECT_EQ(Parse(R"({"partitions": [{"name": "p", "gpus_total": 1, "gpus_free": 1}]})").message(),
            "cluster snapshot c.json: partition \"p\": field \"nodes_up\" is missing");
  EXPECT_EQ(Parse(R"({"partitions": [{"name": "p", "nodes_up": 1, "gpus_total": -8,
                      "gpus_free": 0}]})")
                .message(),
            "cluster snapshot c.json: partition \"p\": field \"gpus_total\": expected a whole "
            "number >= 0, got -8");
  EXPECT_EQ(Parse(R"({"partitions": [{"name": "p", "nodes_up": 1, "gpus_total": 8,
                      "gpus_free": 9}]})")
                .message(),
            "cluster snapshot c.json: partition \"p\": gpus_free (9) is larger than gpus_total "
            "(8)");
  EXPECT_EQ(Parse(R"({"partitions": [{"name": "p", "nodes_up": 1, "gpus_total": 8,
                      "gpus_free": 8, "watts": 3}]})")
                .message(),
            "cluster snapshot c.json: partition \"p\": unknown field \"watts\" (known: name, "
            "state, nodes_up, gpus_total, gpus_free, current_watts, gpus_per_node, nodes_total, "
            "gpu_power)");
  EXPECT_EQ(Parse(R"({"partitions": [{"name": "p", "nodes_up": 1, "gpus_total": 8,
                      "gpus_free": 8, "gpu_power": {"watts_per_gpu": -1, "from": "dcgm",
                      "at": "2026-11-22T10:00:00Z"}}]})")
                .message(),
            "cluster snapshot c.json: partition \"p\": field \"gpu_power\": watts_per_gpu must be "
            "a number from 0 to 100000");
  EXPECT_EQ(Parse(R"({"partitions": [{"name": "p", "nodes_up": 1, "gpus_total": 8,
                      "gpus_free": 8, "gpu_power": {"watts_per_gpu": 100, "from": "ipmi",
                      "at": "2026-11-22T10:00:00Z"}}]})")
                .message(),
            "cluster snapshot c.json: partition \"p\": field \"gpu_power\": from must be \"dcgm\" "
            "or \"learned\"");
  EXPECT_EQ(Parse(R"({"partitions": [{"name": "p", "nodes_up": 1, "gpus_total": 8,
                      "gpus_free": 8, "gpu_power": {"watts_per_gpu": 100, "from": "learned",
                      "at": "2026-11-22T10:00:00Z"}}]})")
                .message(),
            "cluster snapshot c.json: partition \"p\": field \"gpu_power\": a learned figure needs "
            "jobs, a whole number from 1");
  EXPECT_EQ(Parse(R"({"partitions": [{"name": "p", "nodes_up": 1, "gpus_total": 8,
                      "gpus_free": 8, "gpus_per_node": -2}]})")
                .message(),
            "cluster snapshot c.json: partition \"p\": field \"gpus_per_node\": expected a whole "
            "number >= 0, got -2");
  EXPECT_EQ(Parse(R"({"partitions": [{"name": "p", "nodes_up": 1, "gpus_total": 8,
                      "gpus_free": 8, "current_watts": "high"}]})")
                .message(),
            "cluster snapshot c.json: partition \"p\": field \"current_watts\": expected a "
            "number >= 0, got \"high\"");
  EXPECT_EQ(ClusterSnapshot::Load("/nonexistent/c.json").status().message(),
            "cluster snapshot /nonexistent/c.json: cannot be read");
}

}  // namespace
}  // namespace sovereign
