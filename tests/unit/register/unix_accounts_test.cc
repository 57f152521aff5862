#include "sovereign/unix_accounts.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sovereign {
namespace {

using ::testing::Contains;

TEST(UnixAccountsTest, KnownUsersAndGroupsByNameAndId) {
  absl::StatusOr<UnixUser> root = UserByName("root");
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->uid, 0u);
  EXPECT_EQ(root->gid, 0u);
  absl::StatusOr<UnixUser> nobody = UserById(65534);
  ASSERT_TRUE(nobody.ok()) << nobody.status();
  EXPECT_EQ(nobody->name, "nobody");
  absl::StatusOr<UnixGroup> group = GroupByName("root");
  ASSERT_TRUE(group.ok()) << group.status();
  EXPECT_EQ(group->gid, 0u);
  absl::StatusOr<UnixGroup> by_id = GroupById(0);
  ASSERT_TRUE(by_id.ok()) << by_id.status();
  EXPECT_EQ(by_id->name, "root");
}

// An unknown name is an error, never uid 0 (or any other default).
TEST(UnixAccountsTest, UnknownNamesAndIdsAreNotFound) {
  absl::StatusOr<UnixUser> user = UserByName("sovereign-no-such-user");
  EXPECT_EQ(user.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(user.status().message(),
            "user \"sovereign-no-such-user\" is not known on this machine");
  EXPECT_EQ(UserByName("").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(UserById(4000000000u).status().message(), "uid 4000000000 is not known on this machine");
  EXPECT_EQ(GroupByName("sovereign-no-such-group").status().message(),
            "group \"sovereign-no-such-group\" is not known on this machine");
  EXPECT_EQ(GroupById(4000000000u).status().code(), absl::StatusCode::kNotFound);
}

TEST(UnixAccountsTest, GroupsOfAUserStartWithItsPrimaryGroup) {
  absl::StatusOr<UnixUser> root = UserByName("root");
  ASSERT_TRUE(root.ok()) << root.status();
  absl::StatusOr<std::vector<uint32_t>> gids = GroupIdsOf(*root);
  ASSERT_TRUE(gids.ok()) << gids.status();
  ASSERT_FALSE(gids->empty());
  EXPECT_EQ(gids->front(), 0u);
  absl::StatusOr<std::vector<std::string>> names = GroupNamesOf(*root);
  ASSERT_TRUE(names.ok()) << names.status();
  EXPECT_THAT(*names, Contains("root"));
  EXPECT_EQ(names->front(), "root");
  // A primary gid without a group entry is left out of the names, not written as a number.
  UnixUser orphan{"sovereign-no-such-user", 4000000000u, 4000000000u};
  absl::StatusOr<std::vector<std::string>> none = GroupNamesOf(orphan);
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_THAT(*none, ::testing::Not(Contains("4000000000")));
}

// What a decision needs of a user: the name and the group names.
TEST(UnixAccountsTest, UserInfoByIdNamesTheUserAndTheirGroups) {
  absl::StatusOr<UserInfo> root = UserInfoById(0);
  ASSERT_TRUE(root.ok()) << root.status();
  EXPECT_EQ(root->name, "root");
  EXPECT_THAT(root->groups, Contains("root"));
  EXPECT_EQ(UserInfoById(4000000000u).status().message(),
            "uid 4000000000 is not known on this machine");
}

}  // namespace
}  // namespace sovereign
