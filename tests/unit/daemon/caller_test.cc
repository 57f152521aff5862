#include "identity/caller.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sovereign::service {
namespace {

RolesConfig Roles() {
  RolesConfig r;
  r.admins.gids = {4210};
  r.admins.common_names = {"admin-1"};
  r.auditors.uids = {4202};
  r.auditors.common_names = {"auditor-1"};
  r.service.uids = {0, 4203};
  return r;
}

TEST(CallerTest, RolesByUidPrimaryAndSupplementaryGroups) {
  RolesConfig r = Roles();
  EXPECT_EQ(RolesOfUnixCaller(r, 5000, {4210}), static_cast<unsigned>(Role::kAdmin));
  EXPECT_EQ(RolesOfUnixCaller(r, 4202, {100}), static_cast<unsigned>(Role::kAuditor));
  EXPECT_EQ(RolesOfUnixCaller(r, 4203, {4210}),
            static_cast<unsigned>(Role::kService) | static_cast<unsigned>(Role::kAdmin));
  EXPECT_EQ(RolesOfUnixCaller(r, 65534, {65534}), 0u);
}

TEST(CallerTest, MakeUnixCallerAddsThePrimaryGroupAndNames) {
  Caller c = MakeUnixCaller(Roles(), 65534, 4210, 77, {});
  EXPECT_EQ(c.user, "nobody");
  EXPECT_THAT(c.gids, ::testing::ElementsAre(4210u));
  EXPECT_TRUE(c.Has(Role::kAdmin));  // by its primary group
  EXPECT_EQ(c.Describe(), "uid=65534(nobody)");
  EXPECT_THAT(c.RoleNames(), ::testing::ElementsAre("admin"));
  Caller unnamed = MakeUnixCaller(Roles(), 4999, 4999, 1, {});
  EXPECT_EQ(unnamed.Describe(), "uid=4999(#4999)");
  EXPECT_THAT(unnamed.groups, ::testing::ElementsAre("4999"));
  EXPECT_THAT(unnamed.RoleNames(), ::testing::ElementsAre("user"));
}

TEST(CallerTest, RolesByCommonName) {
  EXPECT_EQ(RolesOfCommonName(Roles(), "auditor-1"), static_cast<unsigned>(Role::kAuditor));
  EXPECT_EQ(RolesOfCommonName(Roles(), "admin-1"), static_cast<unsigned>(Role::kAdmin));
  EXPECT_EQ(RolesOfCommonName(Roles(), "nobody"), 0u);
  Caller c;
  c.transport = Caller::Transport::kTls;
  c.common_name = "auditor-1";
  EXPECT_EQ(c.Describe(), "cn=auditor-1 (mTLS)");
}

}  // namespace
}  // namespace sovereign::service
