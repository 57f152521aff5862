// The daemon's unix socket: accepts connections itself so that each caller's credentials can
// be read (see authenticator.h), then gives every connection to the gRPC server.
//
// Ownership: the listener owns the listening socket and its accept thread; accepted
// descriptors belong to gRPC once handed over. Thread-safety: Start/Stop from one thread.
#pragma once

#include <grpcpp/server.h>
#include <sys/stat.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "identity/authenticator.h"

namespace sovereign::service {

class UnixListener {
 public:
  // Binds `path` (replacing a stale socket file, refusing any other kind of file) with
  // permissions `mode`, whatever the umask. Its folder must exist (sovereignd creates it with the
  // folders of its other files). Errors name the path and the system's reason.
  static absl::StatusOr<std::unique_ptr<UnixListener>> Bind(const std::string& path, mode_t mode);
  ~UnixListener();
  UnixListener(const UnixListener&) = delete;
  UnixListener& operator=(const UnixListener&) = delete;

  // Starts accepting: every connection is admitted by `auth` and added to `server`.
  // Both must outlive Stop().
  void Start(grpc::Server* server, Authenticator* auth);
  // Stops accepting, removes the socket file. Connections already handed over stay with gRPC.
  void Stop();

  const std::string& path() const { return path_; }
  // Connections accepted so far.
  int64_t accepted() const { return accepted_.load(); }

 private:
  UnixListener(std::string path, int fd, int wake_fd)
      : path_(std::move(path)), fd_(fd), wake_fd_(wake_fd) {}
  void AcceptLoop(grpc::Server* server, Authenticator* auth);

  const std::string path_;
  int fd_ = -1;
  int wake_fd_ = -1;  // eventfd: written by Stop() to end the accept loop
  std::thread thread_;
  std::atomic<int64_t> accepted_{0};
};

}  // namespace sovereign::service
