// How sovereignctl talks to sovereignd: a gRPC channel on the daemon's unix socket, the
// error text a user sees when the daemon cannot be reached, and output helpers shared by the
// online commands (tables for people, JSON for scripts).
#pragma once

#include <google/protobuf/message.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "commands.h"

namespace sovereign::cli {

// A channel to the daemon at `socket`. UNAVAILABLE with the message
//   "cannot reach sovereignd at <socket>: no such socket (is sovereignd running?)"
// when there is nothing to connect to (the socket file is missing, or nobody listens on it).
absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectToDaemon(const std::string& socket);

// A context with a deadline for one unary call.
std::unique_ptr<grpc::ClientContext> CallContext();

// Prints "sovereignctl: <message>" to stderr and returns the exit code for `status`:
// 3 for UNAVAILABLE (daemon unreachable), 2 for INVALID_ARGUMENT, 1 otherwise.
int ReportError(const grpc::Status& status, const std::string& socket);
int ReportError(const absl::Status& status);

// Connects to the daemon and makes one unary call of `Service`, e.g.
//   CallDaemon<v1::AuditService>(global, &v1::AuditService::Stub::GetDecision, req, &resp)
// Returns kExitOk with *response filled, or reports the error and returns its exit code.
template <typename Service, typename Request, typename Response>
int CallDaemon(const GlobalOptions& global,
               grpc::Status (Service::Stub::*method)(grpc::ClientContext*, const Request&,
                                                     Response*),
               const Request& request, Response* response) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = ConnectToDaemon(global.socket);
  if (!channel.ok()) {
    return ReportError(channel.status());
  }
  std::unique_ptr<typename Service::Stub> stub = Service::NewStub(*channel);
  grpc::Status status = (stub.get()->*method)(CallContext().get(), request, response);
  if (!status.ok()) {
    return ReportError(status, global.socket);
  }
  return kExitOk;
}

// The message as proto3 JSON on one line (field names as in the .proto).
std::string ToJson(const google::protobuf::Message& message);

// A plain text table: the header, then rows, columns padded to the widest cell.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// "2026-11-22 10:00:00Z" (UTC, seconds).
std::string FormatTime(int64_t unix_seconds);

}  // namespace sovereign::cli
