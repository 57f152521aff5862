#include "serving/grpc_status.h"

#include <gtest/gtest.h>

namespace sovereign::service {
namespace {

TEST(ToGrpcStatusTest, KeepsCodeAndMessage) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  grpc::Status s = ToGrpcStatus(absl::PermissionDeniedError("uid=1(x) may not"));
  EXPECT_EQ(s.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(s.error_message(), "uid=1(x) may not");
  EXPECT_EQ(ToGrpcStatus(absl::InvalidArgumentError("a")).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(ToGrpcStatus(absl::ResourceExhaustedError("disk")).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(ToGrpcStatus(absl::UnauthenticatedError("who")).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST(ToGrpcStatusTest, CodesOutsideTheCanonicalSetBecomeUnknown) {
  absl::Status odd(static_cast<absl::StatusCode>(42), "odd");
  grpc::Status s = ToGrpcStatus(odd);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNKNOWN);
  EXPECT_EQ(s.error_message(), "odd");
}

}  // namespace
}  // namespace sovereign::service
