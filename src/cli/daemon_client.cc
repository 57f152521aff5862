#include "daemon_client.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace sovereign::cli {
namespace {

constexpr auto kCallTimeout = std::chrono::seconds(30);
constexpr auto kConnectTimeout = std::chrono::seconds(5);

std::string Unreachable(const std::string& socket, const std::string& why) {
  return absl::StrCat("cannot reach sovereignd at ", socket, ": ", why,
                      " (is sovereignd running?)");
}

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::Channel>> ConnectToDaemon(const std::string& socket) {
  struct stat st;
  if (stat(socket.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
    return absl::UnavailableError(Unreachable(socket, "no such socket"));
  }
  std::shared_ptr<grpc::Channel> channel =
      grpc::CreateChannel(absl::StrCat("unix:", socket), grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + kConnectTimeout)) {
    return absl::UnavailableError(Unreachable(socket, "nobody is listening on the socket"));
  }
  return channel;
}

std::unique_ptr<grpc::ClientContext> CallContext(CallDeadline deadline) {
  auto context = std::make_unique<grpc::ClientContext>();
  if (deadline == CallDeadline::kDefault) {
    context->set_deadline(std::chrono::system_clock::now() + kCallTimeout);
  }
  return context;
}

int ReportError(const grpc::Status& status, const std::string& socket) {
  if (status.error_code() == grpc::StatusCode::UNAVAILABLE) {
    std::cerr << "sovereignctl: "
              << Unreachable(socket, status.error_message().empty() ? "unavailable"
                                                                    : status.error_message())
              << "\n";
    return kExitUnreachable;
  }
  std::cerr << "sovereignctl: " << status.error_message() << "\n";
  return status.error_code() == grpc::StatusCode::INVALID_ARGUMENT ? kExitUsage : kExitNo;
}

int ReportError(const absl::Status& status) {
  std::cerr << "sovereignctl: " << status.message() << "\n";
  if (status.code() == absl::StatusCode::kUnavailable) {
    return kExitUnreachable;
  }
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitNo;
}

std::string ToJson(const google::protobuf::Message& message) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(message, &out, options);
  return out;
}

void PrintJson(const google::protobuf::Message& message) {
  std::cout << ToJson(message) << "\n";
}

std::string FormatTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  };
  measure(header);
  for (const auto& row : rows) {
    measure(row);
  }
  std::string out;
  auto emit = [&](const std::vector<std::string>& row) {
    std::string line;
    for (size_t i = 0; i < row.size() && i < width.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) {
        line.append(width[i] - row[i].size() + 2, ' ');
      }
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  };
  emit(header);
  for (const auto& row : rows) {
    emit(row);
  }
  return out;
}

std::string FormatTime(int64_t unix_seconds) {
  return absl::FormatTime("%Y-%m-%d %H:%M:%SZ", absl::FromUnixSeconds(unix_seconds),
                          absl::UTCTimeZone());
}

}  // namespace sovereign::cli
