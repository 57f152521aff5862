// Tells each gRPC call who made it.
//
// gRPC does not expose a unix-socket peer's credentials, so sovereignd accepts connections on
// its socket itself (UnixListener), reads SO_PEERCRED and SO_PEERGROUPS once per connection,
// and hands the descriptor to the one grpc::Server with grpc::AddInsecureChannelFromFd. For
// such a channel gRPC 1.51 reports the call's peer as "fd:<n>", n being the descriptor it was
// given; Identify() maps it back to the credentials recorded by Admit().
//
// Why a descriptor number cannot be confused with a later connection's: gRPC closes the
// descriptor only when the transport is destroyed, which waits for every call on it to finish
// (a call holds its transport). So while a handler runs, "fd:<n>" is still its own connection,
// and a newer connection cannot have been given number n. As a second guard, Admit() records
// the socket's inode and Identify() refuses a call whose descriptor now names another file.
//
// TLS callers are identified by the common name of the client certificate that gRPC verified
// against the configured CA.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <grpcpp/server_context.h>

#include <cstdint>
#include <mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "identity/caller.h"

namespace sovereign::service {

class Authenticator {
 public:
  explicit Authenticator(RolesConfig roles) : roles_(std::move(roles)) {}

  // Records the credentials of an accepted unix-socket connection. INTERNAL when the kernel
  // does not give them (the connection must then be closed, not served).
  absl::Status Admit(int fd);

  // The caller of a call in progress. UNAUTHENTICATED when the call did not come through
  // Admit() or a verified TLS channel.
  absl::StatusOr<Caller> Identify(const grpc::ServerContextBase& context) const;

  const RolesConfig& roles() const { return roles_; }

 private:
  struct Entry {
    Caller caller;
    uint64_t inode = 0;
    uint64_t device = 0;
  };

  const RolesConfig roles_;
  mutable std::mutex mu_;
  absl::flat_hash_map<int, Entry> by_fd_;  // guarded by mu_
};

}  // namespace sovereign::service
