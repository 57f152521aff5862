#include "serving/placement_service.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/time/clock.h"

namespace sovereign::service {
namespace {

using ::testing::HasSubstr;

Caller ServiceCaller() {
  Caller c;
  c.transport = Caller::Transport::kUnix;
  c.uid = 4203;
  c.user = "slurm";
  c.roles = static_cast<unsigned>(Role::kService);
  return c;
}

// A service caller names the job's user; without a uid, the daemon looks the name up.
TEST(PlacementAuthoriseTest, ServiceCallerNamingAKnownUserGetsItsUid) {
  v1::JobRequest job;
  job.set_user("nobody");
  absl::StatusOr<JobRequest> r = PlacementServiceImpl::Authorise(ServiceCaller(), job, absl::Now());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->uid, 65534u);
}

// Pinned: an unknown user name was once decided (and recorded) as uid 0, root's.
TEST(PlacementAuthoriseTest, ServiceCallerNamingAnUnknownUserWithoutUidIsRefused) {
  v1::JobRequest job;
  job.set_user("no-such-user-sovereign");
  absl::StatusOr<JobRequest> r = PlacementServiceImpl::Authorise(ServiceCaller(), job, absl::Now());
  ASSERT_FALSE(r.ok()) << "decided as uid " << r->uid;
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("\"no-such-user-sovereign\" is not known"));
}

// A uid given with the request is taken as given, whether the name is known here or not.
TEST(PlacementAuthoriseTest, ServiceCallerGivingTheUidIsTakenAsGiven) {
  v1::JobRequest job;
  job.set_user("no-such-user-sovereign");
  job.set_uid(5001);
  absl::StatusOr<JobRequest> r = PlacementServiceImpl::Authorise(ServiceCaller(), job, absl::Now());
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->uid, 5001u);
}

}  // namespace
}  // namespace sovereign::service
