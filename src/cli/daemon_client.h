// How sovereignctl talks to sovereignd: a gRPC channel on the daemon's unix socket, the
// error text a user sees when the daemon cannot be reached, and output helpers shared by the
// online commands (tables for people, JSON for scripts).
#pragma once

#include <google/protobuf/message.h>
#include <google/protobuf/timestamp.pb.h>
#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/support/status.h>

#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "commands.h"

namespace sovereign::cli {

// A channel to the daemon at `socket`. UNAVAILABLE with the message
//   "cannot reach sovereignd at <socket>: no such socket (is sovereignd running?)"
// when there is nothing to connect to (the socket file is missing, or nobody listens on it).
absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectToDaemon(const std::string& socket);

// How long one unary call may take: 30 seconds, or as long as it takes (audit verify reads
// the whole log).
enum class CallDeadline { kDefault, kNone };

// A context for one unary call, with the deadline asked for.
std::unique_ptr<grpc::ClientContext> CallContext(CallDeadline deadline = CallDeadline::kDefault);

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
               const Request& request, Response* response,
               CallDeadline deadline = CallDeadline::kDefault) {
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = ConnectToDaemon(global.socket);
  if (!channel.ok()) {
    return ReportError(channel.status());
  }
  std::unique_ptr<typename Service::Stub> stub = Service::NewStub(*channel);
  grpc::Status status = (stub.get()->*method)(CallContext(deadline).get(), request, response);
  if (!status.ok()) {
    return ReportError(status, global.socket);
  }
  return kExitOk;
}

// Prints one answer from sovereignd as the user asked: `print_json(answer)` with --json,
// `print_table(answer)` otherwise. A printer writes to stdout and returns the exit code
// (kExitNo when the answer is "no"), or returns nothing when the answer is always kExitOk.
template <typename Answer, typename JsonPrinter, typename TablePrinter>
int PrintAnswer(const GlobalOptions& global, const Answer& answer, JsonPrinter&& print_json,
                TablePrinter&& print_table) {
  auto print = [&answer](auto& printer) -> int {
    if constexpr (std::is_void_v<std::invoke_result_t<decltype(printer), const Answer&>>) {
      printer(answer);
      return kExitOk;
    } else {
      return printer(answer);
    }
  };
  return global.json ? print(print_json) : print(print_table);
}

// The one path of sovereignctl's online commands: asks sovereignd once (CallDaemon), then
// prints its answer (PrintAnswer). Returns the call's error code, or the printer's.
//   return CallAndPrint<v1::AdminService>(global, &v1::AdminService::Stub::GetStatus,
//                                         v1::GetStatusRequest(), PrintJson, PrintStatusTable);
template <typename Service, typename Request, typename Response, typename JsonPrinter,
          typename TablePrinter>
int CallAndPrint(const GlobalOptions& global,
                 grpc::Status (Service::Stub::*method)(grpc::ClientContext*, const Request&,
                                                       Response*),
                 const Request& request, JsonPrinter&& print_json, TablePrinter&& print_table,
                 CallDeadline deadline = CallDeadline::kDefault) {
  Response response;
  if (int rc = CallDaemon<Service>(global, method, request, &response, deadline); rc != kExitOk) {
    return rc;
  }
  return PrintAnswer(global, response, print_json, print_table);
}

// A --since/--until value: RFC 3339 ("2026-11-22T10:00:00Z"), a date ("2026-11-22", midnight
// UTC), or an age before `now`: a whole number and a unit, s, m, h, d or w ("90m", "1h", "7d").
// INVALID_ARGUMENT naming `flag` and quoting `text`.
absl::Status ParseWhen(const std::string& text, const std::string& flag, absl::Time now,
                       google::protobuf::Timestamp* out);

// The JSON printer of most commands: the whole message, as ToJson, and a newline.
void PrintJson(const google::protobuf::Message& message);

// The message as proto3 JSON on one line (field names as in the .proto).
std::string ToJson(const google::protobuf::Message& message);

// A plain text table: the header, then rows, columns padded to the widest cell.
std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows);

// "2026-11-22 10:00:00Z" (UTC, seconds).
std::string FormatTime(int64_t unix_seconds);

}  // namespace sovereign::cli
