#include "sovereign/slurm_tres.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sovereign {
namespace {

TEST(GpusInTres, ReadsEveryFormSlurmWrites) {
  std::string type;
  EXPECT_EQ(*GpusInTres("gres:gpu:2", &type), 2);
  EXPECT_EQ(type, "");
  EXPECT_EQ(*GpusInTres("gres:gpu:h100:4", &type), 4);
  EXPECT_EQ(type, "h100");
  type.clear();
  EXPECT_EQ(*GpusInTres("gres/gpu:a100=3", &type), 3);
  EXPECT_EQ(type, "a100");
  EXPECT_EQ(*GpusInTres("gres:gpu", nullptr), 1);
  EXPECT_EQ(*GpusInTres("gres:mps:100,gres:gpu:l40s:1", &type), 1);
  EXPECT_EQ(type, "l40s");
  EXPECT_EQ(*GpusInTres("gres:gpumem:8G", nullptr), 0);  // not a GPU count
  EXPECT_EQ(*GpusInTres(nullptr, nullptr), 0);
}

TEST(GpusInTres, BadCountIsNamed) {
  auto r = GpusInTres("gres:gpu:h100:two:x", nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "GPU request \"gres:gpu:h100:two:x\": count \"x\" is not a number");
}

TEST(JobGpus, PerJobElsePerNodeTimesNodesElsePerTaskTimesTasks) {
  std::string type;
  EXPECT_EQ(*JobGpus("gres:gpu:4", "gres:gpu:2", nullptr, 3, 0, &type), 4);
  EXPECT_EQ(*JobGpus(nullptr, "gres:gpu:h100:2", nullptr, 3, 0, &type), 6);
  EXPECT_EQ(type, "h100");
  EXPECT_EQ(*JobGpus(nullptr, nullptr, "gres:gpu:1", 0, 8, nullptr), 8);
  EXPECT_EQ(*JobGpus(nullptr, "gres:gpu:2", nullptr, 0, 0, nullptr), 2);  // nodes not given: 1
  EXPECT_EQ(*JobGpus("", "", "", 2, 2, nullptr), 0);
  EXPECT_FALSE(JobGpus(nullptr, "gres:gpu:a:b", nullptr, 1, 1, nullptr).ok());
}

}  // namespace
}  // namespace sovereign
