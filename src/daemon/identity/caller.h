// Who is calling, and what they may do.
//
// On the unix socket a caller is a Unix process: its uid and groups come from the kernel
// (SO_PEERCRED, SO_PEERGROUPS) when the connection is accepted, never from the request. Over
// TCP a caller is the common name of its client certificate (mutual TLS). Roles come from the
// daemon config:
//   admin    may change the register (Apply, Rollback) and read everything;
//   auditor  reads the whole audit log and the register history;
//   service  (the Slurm controller's user) may Decide (which records) and Explain for any user;
//   anyone   may Explain for themselves and read only their own decisions, within the
//            per-user limits of call_limiter.h.
//
// Thread-safety: plain values.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace sovereign::service {

enum class Role : unsigned {
  kAdmin = 1u << 0,
  kAuditor = 1u << 1,
  kService = 1u << 2,
};

// Members of one role: Unix users and groups (by id) and certificate common names.
struct RoleMembers {
  std::vector<uint32_t> uids;
  std::vector<uint32_t> gids;
  std::vector<std::string> common_names;
};

struct RolesConfig {
  RoleMembers admins;
  RoleMembers auditors;
  RoleMembers service;
};

struct Caller {
  enum class Transport { kUnix, kTls, kInProcess };
  Transport transport = Transport::kUnix;
  // Unix callers.
  uint32_t uid = 0;
  uint32_t gid = 0;
  pid_t pid = 0;
  std::vector<uint32_t> gids;       // primary and supplementary
  std::string user;                 // name of uid; "#<uid>" when it has none
  std::vector<std::string> groups;  // names of gids (numeric text when a gid has none)
  // TLS callers: the client certificate's common name.
  std::string common_name;
  unsigned roles = 0;  // bit set of Role

  bool Has(Role role) const { return (roles & static_cast<unsigned>(role)) != 0; }
  // Admins and auditors may read every decision.
  bool ReadsEverything() const { return Has(Role::kAdmin) || Has(Role::kAuditor); }
  // "uid=1000(alice)" or "cn=auditor-1 (mTLS)": how the audit log names the caller.
  std::string Describe() const;
  // "admin", "auditor", "service", in that order; "user" when none.
  std::vector<std::string> RoleNames() const;
};

// Roles of a Unix caller: member by uid, or by primary or supplementary gid.
unsigned RolesOfUnixCaller(const RolesConfig& config, uint32_t uid,
                           const std::vector<uint32_t>& gids);
// Roles of a TLS caller by certificate common name.
unsigned RolesOfCommonName(const RolesConfig& config, const std::string& common_name);

// Fills user/groups names from NSS (sovereign/unix_accounts.h) and roles from `config`.
Caller MakeUnixCaller(const RolesConfig& config, uint32_t uid, uint32_t gid, pid_t pid,
                      std::vector<uint32_t> gids);

}  // namespace sovereign::service
