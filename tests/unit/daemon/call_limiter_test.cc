// The per-user bounds on callers without a role, on a fake clock: calls per second with a
// burst, streams open at once, never a bound for a caller with a role.
#include "identity/call_limiter.h"

#include <gtest/gtest.h>

#include <vector>

namespace sovereign::service {
namespace {

Caller Unix(uint32_t uid, const std::string& name, unsigned roles = 0) {
  Caller c;
  c.uid = uid;
  c.user = name;
  c.roles = roles;
  return c;
}

class CallLimiterTest : public ::testing::Test {
 protected:
  absl::Time now_ = absl::FromUnixSeconds(1795000000);
  CallLimiter limiter_{CallLimits{2, 3, 2}, [this] { return now_; }};
  const Caller nobody_ = Unix(65534, "nobody");
};

TEST_F(CallLimiterTest, ABurstThenTheRate) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter_.Admit(nobody_).ok()) << i;
  }
  absl::Status over = limiter_.Admit(nobody_);
  EXPECT_EQ(over.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(over.message(),
            "uid=65534(nobody) is over its limit of 2 calls a second (3 at once; "
            "limits.user_calls_per_second and limits.user_burst in sovereignd.yaml): try again "
            "in 500ms");
  now_ += absl::Milliseconds(250);
  EXPECT_EQ(limiter_.Admit(nobody_).message().substr(0, 17), "uid=65534(nobody)");
  now_ += absl::Milliseconds(500);  // 0.75 s since the third call: one and a half calls back
  EXPECT_TRUE(limiter_.Admit(nobody_).ok());
  EXPECT_FALSE(limiter_.Admit(nobody_).ok());
  EXPECT_EQ(limiter_.refused(), 3);
  now_ += absl::Seconds(60);  // never more than the burst
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(limiter_.Admit(nobody_).ok()) << i;
  }
  EXPECT_FALSE(limiter_.Admit(nobody_).ok());
}

TEST_F(CallLimiterTest, EachUidHasItsOwnBucket) {
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(limiter_.Admit(nobody_).ok());
  }
  EXPECT_FALSE(limiter_.Admit(nobody_).ok());
  EXPECT_TRUE(limiter_.Admit(Unix(1001, "alice")).ok());
}

TEST_F(CallLimiterTest, CallersWithARoleAreNeverLimited) {
  const Caller slurm = Unix(64030, "slurm", static_cast<unsigned>(Role::kService));
  const Caller auditor = Unix(4202, "#4202", static_cast<unsigned>(Role::kAuditor));
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(limiter_.Admit(slurm).ok()) << i;
    ASSERT_TRUE(limiter_.Admit(auditor).ok()) << i;
  }
  std::vector<CallLimiter::StreamSlot> slots(10);
  for (CallLimiter::StreamSlot& slot : slots) {
    ASSERT_TRUE(limiter_.OpenStream(auditor, &slot).ok());
  }
  EXPECT_EQ(limiter_.refused(), 0);
}

TEST_F(CallLimiterTest, StreamsOpenAtOnceAreBoundedAndFreedWhenTheyEnd) {
  CallLimiter::StreamSlot a, b, c;
  ASSERT_TRUE(limiter_.OpenStream(nobody_, &a).ok());
  ASSERT_TRUE(limiter_.OpenStream(nobody_, &b).ok());
  absl::Status third = limiter_.OpenStream(nobody_, &c);
  EXPECT_EQ(third.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(third.message(),
            "uid=65534(nobody) already has 2 streams open (limits.user_streams in "
            "sovereignd.yaml): end one first");
  { CallLimiter::StreamSlot ended = std::move(a); }  // the first stream ends
  EXPECT_TRUE(limiter_.OpenStream(nobody_, &c).ok());
  EXPECT_FALSE(limiter_.OpenStream(nobody_, &a).ok());
  EXPECT_EQ(limiter_.refused(), 2);
}

}  // namespace
}  // namespace sovereign::service
