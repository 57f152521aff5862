#include "sovereign/decision_id.h"

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sovereign {
namespace {

const absl::Time kNow = absl::FromUnixMicros(0x18c2a4b1d2e3fLL);

TEST(DecisionIdTest, TimeFirstThenNonceThenKindAndCounter) {
  DecisionIds ids;
  std::string first = ids.Next(kNow);
  EXPECT_THAT(first, ::testing::MatchesRegex("18c2a4b1d2e3f-[0-9a-f]{6}-0"));
  EXPECT_THAT(ids.Next(kNow), ::testing::MatchesRegex("18c2a4b1d2e3f-[0-9a-f]{6}-1"));
  DecisionIds impact("r");
  EXPECT_THAT(impact.Next(kNow), ::testing::MatchesRegex("18c2a4b1d2e3f-[0-9a-f]{6}-r0"));
  EXPECT_EQ(PrologDecisionId(kNow, 0x2a), "18c2a4b1d2e3f-prolog-2a");
}

TEST(DecisionIdTest, IdsSortByTimeAndNeverRepeat) {
  DecisionIds ids;
  std::set<std::string> seen;
  std::string previous;
  for (int i = 0; i < 1000; ++i) {
    std::string id = ids.Next(kNow + absl::Microseconds(i / 10));
    EXPECT_TRUE(seen.insert(id).second) << id;
    EXPECT_LE(previous.substr(0, 13), id.substr(0, 13));
    previous = id;
  }
}

TEST(DecisionIdTest, AClientChosenIdIsShortAndPlain) {
  EXPECT_TRUE(IsValidDecisionId("job-42_retry.1"));
  EXPECT_TRUE(IsValidDecisionId(DecisionIds().Next(kNow)));
  EXPECT_FALSE(IsValidDecisionId(""));
  EXPECT_FALSE(IsValidDecisionId(std::string(65, 'a')));
  EXPECT_FALSE(IsValidDecisionId("a;b"));
  EXPECT_FALSE(IsValidDecisionId("id with space"));
}

}  // namespace
}  // namespace sovereign
