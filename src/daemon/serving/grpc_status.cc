#include "serving/grpc_status.h"

#include <string>

namespace sovereign::service {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) {
    return grpc::Status::OK;
  }
  // absl::StatusCode and grpc::StatusCode share the canonical numbering 0..16; anything outside
  // it (a code from a newer abseil) is reported as UNKNOWN rather than cast blindly.
  int code = static_cast<int>(status.code());
  if (code < 0 || code > static_cast<int>(grpc::StatusCode::UNAUTHENTICATED)) {
    return grpc::Status(grpc::StatusCode::UNKNOWN, std::string(status.message()));
  }
  return grpc::Status(static_cast<grpc::StatusCode>(code), std::string(status.message()));
}

}  // namespace sovereign::service
