#include "daemon_client.h"

#include <google/protobuf/util/json_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/security/credentials.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "proto_convert.h"

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

absl::Status ParseWhen(const std::string& text, const std::string& flag, absl::Time now,
                       google::protobuf::Timestamp* out) {
  absl::Time t;
  std::string err;
  int64_t count = 0;
  const std::string unit = text.empty() ? "" : text.substr(text.size() - 1);
  const std::map<std::string, absl::Duration> kUnits = {{"s", absl::Seconds(1)},
                                                        {"m", absl::Minutes(1)},
                                                        {"h", absl::Hours(1)},
                                                        {"d", absl::Hours(24)},
                                                        {"w", absl::Hours(24 * 7)}};
  if (auto u = kUnits.find(unit);
      u != kUnits.end() && absl::SimpleAtoi(text.substr(0, text.size() - 1), &count) &&
      count >= 0 && text[0] != '+' && text[0] != '-' && count <= 100 * 365 * 24 * 3600LL) {
    t = now - count * u->second;
  } else if (!absl::ParseTime(absl::RFC3339_full, text, &t, &err) &&
             !absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err)) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " \"", text,
                     "\" is not a time like 2026-11-22T10:00:00Z, a date like 2026-11-22, or an "
                     "age like 1h or 7d (s, m, h, d, w)"));
  }
  service::ToProto(t, out);
  return absl::OkStatus();
}

}  // namespace sovereign::cli
