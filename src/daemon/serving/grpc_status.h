// The one mapping from absl::Status (how our code reports failure) to grpc::Status (what a
// gRPC client sees). Both use the same canonical codes, so the code passes through unchanged
// and the message is kept verbatim.
#pragma once

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace sovereign::service {

grpc::Status ToGrpcStatus(const absl::Status& status);

}  // namespace sovereign::service
