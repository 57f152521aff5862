#include "cluster_reader.h"

#include "gtest/gtest.h"

extern "C" {
#include <slurm/slurm.h>
}

namespace sovereign::slurm {
namespace {

TEST(GpusInGres, EveryFormSlurmReports) {
  EXPECT_EQ(GpusInGres(""), 0);
  EXPECT_EQ(GpusInGres("(null)"), 0);
  EXPECT_EQ(GpusInGres("gpu:2"), 2);
  EXPECT_EQ(GpusInGres("gpu:h100:2(S:0-1)"), 2);
  EXPECT_EQ(GpusInGres("gpu:a100:1(IDX:0),mps:100"), 1);
  EXPECT_EQ(GpusInGres("gpu:a100:2(IDX:0-1),gpu:l40s:1(IDX:2)"), 3);
  EXPECT_EQ(GpusInGres("gpu:a100:0(IDX:N/A)"), 0);
  EXPECT_EQ(GpusInGres("gpu:h100"), 1);
  EXPECT_EQ(GpusInGres("gpu"), 1);
  EXPECT_EQ(GpusInGres("gpumem:80G"), 0);  // not a GPU count
}

TEST(AllocatedGpus, TheUntypedGpuCount) {
  EXPECT_EQ(AllocatedGpus(""), 0);
  EXPECT_EQ(AllocatedGpus("cpu=1,mem=1G,node=1,billing=1"), 0);
  EXPECT_EQ(AllocatedGpus("cpu=2,mem=4G,node=1,billing=2,gres/gpu=2"), 2);
  EXPECT_EQ(AllocatedGpus("cpu=8,node=2,gres/gpu:a100=4,gres/gpu=4"), 4);  // not twice
  EXPECT_EQ(AllocatedGpus("gres/gpumem=80G,gres/gpu=x"), 0);
}

// After a slurmctld restart every node is UNKNOWN until its slurmd registers: counted as up,
// unless slurmctld has given up waiting for it.
TEST(NodeUsable, UpUnlessSlurmSaysOtherwise) {
  EXPECT_TRUE(NodeUsable(NODE_STATE_IDLE));
  EXPECT_TRUE(NodeUsable(NODE_STATE_MIXED));
  EXPECT_TRUE(NodeUsable(NODE_STATE_ALLOCATED));
  EXPECT_TRUE(NodeUsable(NODE_STATE_UNKNOWN));
  EXPECT_FALSE(NodeUsable(NODE_STATE_UNKNOWN | NODE_STATE_NO_RESPOND));
  EXPECT_FALSE(NodeUsable(NODE_STATE_DOWN));
  EXPECT_FALSE(NodeUsable(NODE_STATE_FUTURE));
  EXPECT_FALSE(NodeUsable(NODE_STATE_IDLE | NODE_STATE_DRAIN));
  EXPECT_FALSE(NodeUsable(NODE_STATE_IDLE | NODE_STATE_FAIL));
  EXPECT_FALSE(NodeUsable(NODE_STATE_IDLE | NODE_STATE_POWERED_DOWN));
  EXPECT_FALSE(NodeUsable(NODE_STATE_IDLE | NODE_STATE_MAINT));
}

TEST(Aggregate, SumsUsableNodesPerPartition) {
  std::vector<PartitionRow> parts = {{"gpu-fr-a100", PartitionState::kUp},
                                     {"gpu-us-h100", PartitionState::kDrain},
                                     {"cpu", PartitionState::kUp}};
  std::vector<NodeRow> nodes = {
      {"fr-a100-1",
       true,
       "gpu:a100:2(S:0)",
       "gpu:a100:1(IDX:0)",
       {"gpu-fr-a100"},
       410.0,
       {"site_paris-1"}},
      // A larger node among smaller ones: the partition's nodes have up to 4 GPUs.
      {"fr-a100-2", true, "gpu:a100:4(S:0)", "gpu:a100:0(IDX:N/A)", {"gpu-fr-a100"}, 300.0, {}},
      {"fr-a100-3", false, "gpu:a100:2(S:0)", "", {"gpu-fr-a100"}, std::nullopt, {}},  // drained
      {"us-h100-1", true, "gpu:h100:2", "gpu:h100:2(IDX:0-1)", {"gpu-us-h100", "other"}, {}, {}},
  };
  ClusterSnapshot s = Aggregate(parts, nodes, absl::FromUnixSeconds(100));
  ASSERT_EQ(s.partitions.size(), 3u);
  // Every node, usable or not, with what says where it is.
  ASSERT_EQ(s.nodes.size(), 4u);
  EXPECT_EQ(s.nodes[0].name, "fr-a100-1");
  EXPECT_EQ(s.nodes[0].features, std::vector<std::string>{"site_paris-1"});
  EXPECT_EQ(s.nodes[3].partitions, (std::vector<std::string>{"gpu-us-h100", "other"}));
  // And each node's GPUs and allocated GPUs (its measured power is shared among its jobs).
  EXPECT_EQ(s.nodes[0].gpus, 2);
  EXPECT_EQ(s.nodes[0].gpus_allocated, 1);
  EXPECT_EQ(s.nodes[1].gpus_allocated, 0);
  EXPECT_EQ(s.nodes[3].gpus_allocated, 2);
  EXPECT_EQ(s.taken_at, absl::FromUnixSeconds(100));
  const PartitionStatus& fr = s.partitions[0];
  EXPECT_EQ(fr.name, "gpu-fr-a100");
  EXPECT_EQ(fr.nodes_up, 2);
  EXPECT_EQ(fr.gpus_total, 6);
  EXPECT_EQ(fr.gpus_free, 5);
  ASSERT_TRUE(fr.current_watts.has_value());
  EXPECT_DOUBLE_EQ(*fr.current_watts, 710.0);
  // The real size counts the drained node too: it is hardware the partition has.
  EXPECT_EQ(fr.nodes_total, 3);
  EXPECT_EQ(fr.gpus_per_node, 4);
  const PartitionStatus& us = s.partitions[1];
  EXPECT_EQ(us.state, PartitionState::kDrain);
  EXPECT_EQ(us.gpus_total, 2);
  EXPECT_EQ(us.gpus_free, 0);
  EXPECT_FALSE(us.current_watts.has_value());
  EXPECT_EQ(s.partitions[2].nodes_up, 0);
  EXPECT_FALSE(s.partitions[2].nodes_total.has_value());
}

}  // namespace
}  // namespace sovereign::slurm
