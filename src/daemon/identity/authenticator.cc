#include "identity/authenticator.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace sovereign::service {
namespace {

absl::StatusOr<std::vector<uint32_t>> PeerGroups(int fd) {
  std::vector<gid_t> gids(64);
  for (int attempt = 0; attempt < 4; ++attempt) {
    socklen_t len = static_cast<socklen_t>(gids.size() * sizeof(gid_t));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, gids.data(), &len) == 0) {
      gids.resize(len / sizeof(gid_t));
      return std::vector<uint32_t>(gids.begin(), gids.end());
    }
    if (errno != ERANGE) {
      return absl::InternalError(
          absl::StrCat("getsockopt(SO_PEERGROUPS) on fd ", fd, ": ", std::strerror(errno)));
    }
    // The kernel says how much room it needs in len.
    gids.resize(len / sizeof(gid_t) + 1);
  }
  return absl::InternalError(
      absl::StrCat("getsockopt(SO_PEERGROUPS) on fd ", fd, ": group list keeps growing"));
}

}  // namespace

absl::Status Authenticator::Admit(int fd) {
  struct ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) {
    return absl::InternalError(
        absl::StrCat("getsockopt(SO_PEERCRED) on fd ", fd, ": ", std::strerror(errno)));
  }
  absl::StatusOr<std::vector<uint32_t>> gids = PeerGroups(fd);
  if (!gids.ok()) {
    return gids.status();
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    return absl::InternalError(absl::StrCat("fstat on fd ", fd, ": ", std::strerror(errno)));
  }
  Entry entry;
  entry.caller = MakeUnixCaller(roles_, cred.uid, cred.gid, cred.pid, *std::move(gids));
  entry.inode = st.st_ino;
  entry.device = st.st_dev;
  std::lock_guard<std::mutex> lock(mu_);
  by_fd_[fd] = std::move(entry);
  return absl::OkStatus();
}

absl::StatusOr<Caller> Authenticator::Identify(const grpc::ServerContextBase& context) const {
  std::string peer = context.peer();
  absl::string_view fd_text = peer;
  if (absl::ConsumePrefix(&fd_text, "fd:")) {
    int fd = -1;
    if (!absl::SimpleAtoi(fd_text, &fd)) {
      return absl::UnauthenticatedError(absl::StrCat("unrecognised peer \"", peer, "\""));
    }
    struct stat st;
    bool open = fstat(fd, &st) == 0;
    std::lock_guard<std::mutex> lock(mu_);
    auto it = by_fd_.find(fd);
    if (it == by_fd_.end() || !open || it->second.inode != st.st_ino ||
        it->second.device != st.st_dev) {
      return absl::UnauthenticatedError(
          absl::StrCat("no credentials recorded for connection ", peer));
    }
    return it->second.caller;
  }
  std::shared_ptr<const grpc::AuthContext> auth = context.auth_context();
  if (auth != nullptr && auth->IsPeerAuthenticated()) {
    std::vector<grpc::string_ref> cns = auth->FindPropertyValues("x509_common_name");
    if (!cns.empty()) {
      Caller caller;
      caller.transport = Caller::Transport::kTls;
      caller.common_name.assign(cns.front().data(), cns.front().size());
      caller.roles = RolesOfCommonName(roles_, caller.common_name);
      return caller;
    }
  }
  return absl::UnauthenticatedError(
      absl::StrCat("caller \"", peer,
                   "\" is neither a unix-socket peer nor a verified client "
                   "certificate"));
}

}  // namespace sovereign::service
