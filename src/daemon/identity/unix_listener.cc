#include "identity/unix_listener.h"

#include <fcntl.h>
#include <grpcpp/server_posix.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace sovereign::service {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  return absl::InternalError(absl::StrCat(what, " ", path, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<UnixListener>> UnixListener::Bind(const std::string& path,
                                                                 mode_t mode) {
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path \"", path, "\" must have 1 to ",
                                                   sizeof(addr.sun_path) - 1, " bytes"));
  }
  struct stat st;
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("socket path ", path, " exists and is not a socket"));
    }
    // A socket file left by a daemon that died. A live daemon would answer a connect().
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    bool live = probe >= 0 && connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    if (probe >= 0) {
      close(probe);
    }
    if (live) {
      return absl::AlreadyExistsError(absl::StrCat("another sovereignd is listening on ", path));
    }
    unlink(path.c_str());
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    return Errno("socket() for", path);
  }
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    absl::Status s = Errno("cannot bind", path);
    close(fd);
    return s;
  }
  if (chmod(path.c_str(), mode) != 0 || listen(fd, 512) != 0) {
    absl::Status s = Errno("cannot listen on", path);
    close(fd);
    unlink(path.c_str());
    return s;
  }
  int wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake < 0) {
    absl::Status s = Errno("eventfd for", path);
    close(fd);
    unlink(path.c_str());
    return s;
  }
  return std::unique_ptr<UnixListener>(new UnixListener(path, fd, wake));
}

UnixListener::~UnixListener() {
  Stop();
  if (fd_ >= 0) {
    close(fd_);
    unlink(path_.c_str());  // bound but never started, or already stopped
  }
  if (wake_fd_ >= 0) {
    close(wake_fd_);
  }
}

void UnixListener::Start(grpc::Server* server, Authenticator* auth) {
  thread_ = std::thread([this, server, auth] { AcceptLoop(server, auth); });
}

void UnixListener::Stop() {
  if (!thread_.joinable()) {
    return;
  }
  uint64_t one = 1;
  if (write(wake_fd_, &one, sizeof(one)) < 0) {
    spdlog::error("cannot wake the accept loop of {}: {}", path_, std::strerror(errno));
  }
  thread_.join();
  unlink(path_.c_str());
}

void UnixListener::AcceptLoop(grpc::Server* server, Authenticator* auth) {
  pollfd fds[2] = {{fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (true) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) {
        continue;
      }
      spdlog::error("poll on {}: {}", path_, std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) {
      return;
    }
    // gRPC's endpoint reads until EAGAIN: the descriptor must be non-blocking.
    int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (conn < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
        spdlog::warn("accept on {}: {}", path_, std::strerror(errno));
        if (errno == EMFILE || errno == ENFILE) {
          // Out of descriptors: back off rather than spin.
          poll(nullptr, 0, 50);
        }
      }
      continue;
    }
    if (absl::Status s = auth->Admit(conn); !s.ok()) {
      spdlog::warn("refusing a connection on {}: {}", path_, std::string(s.message()));
      close(conn);
      continue;
    }
    accepted_.fetch_add(1);
    grpc::AddInsecureChannelFromFd(server, conn);
  }
}

}  // namespace sovereign::service
