#include "identity/caller.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "sovereign/unix_accounts.h"

namespace sovereign::service {
namespace {

bool Contains(const std::vector<uint32_t>& list, uint32_t id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}

bool IsMember(const RoleMembers& members, uint32_t uid, const std::vector<uint32_t>& gids) {
  if (Contains(members.uids, uid)) {
    return true;
  }
  for (uint32_t gid : gids) {
    if (Contains(members.gids, gid)) {
      return true;
    }
  }
  return false;
}

bool HasCommonName(const RoleMembers& members, const std::string& cn) {
  return std::find(members.common_names.begin(), members.common_names.end(), cn) !=
         members.common_names.end();
}

std::string UserName(uint32_t uid) {
  absl::StatusOr<UnixUser> user = UserById(uid);
  return user.ok() ? user->name : absl::StrCat("#", uid);
}

std::string GroupName(uint32_t gid) {
  absl::StatusOr<UnixGroup> group = GroupById(gid);
  return group.ok() ? group->name : absl::StrCat(gid);
}

}  // namespace

std::string Caller::Describe() const {
  switch (transport) {
    case Transport::kTls:
      return absl::StrCat("cn=", common_name, " (mTLS)");
    case Transport::kInProcess:
      return absl::StrCat("uid=", uid, "(", user, ") in-process");
    case Transport::kUnix:
      break;
  }
  return absl::StrCat("uid=", uid, "(", user, ")");
}

std::vector<std::string> Caller::RoleNames() const {
  std::vector<std::string> names;
  if (Has(Role::kAdmin)) {
    names.push_back("admin");
  }
  if (Has(Role::kAuditor)) {
    names.push_back("auditor");
  }
  if (Has(Role::kService)) {
    names.push_back("service");
  }
  if (names.empty()) {
    names.push_back("user");
  }
  return names;
}

unsigned RolesOfUnixCaller(const RolesConfig& config, uint32_t uid,
                           const std::vector<uint32_t>& gids) {
  unsigned roles = 0;
  if (IsMember(config.admins, uid, gids)) {
    roles |= static_cast<unsigned>(Role::kAdmin);
  }
  if (IsMember(config.auditors, uid, gids)) {
    roles |= static_cast<unsigned>(Role::kAuditor);
  }
  if (IsMember(config.service, uid, gids)) {
    roles |= static_cast<unsigned>(Role::kService);
  }
  return roles;
}

unsigned RolesOfCommonName(const RolesConfig& config, const std::string& common_name) {
  unsigned roles = 0;
  if (HasCommonName(config.admins, common_name)) {
    roles |= static_cast<unsigned>(Role::kAdmin);
  }
  if (HasCommonName(config.auditors, common_name)) {
    roles |= static_cast<unsigned>(Role::kAuditor);
  }
  if (HasCommonName(config.service, common_name)) {
    roles |= static_cast<unsigned>(Role::kService);
  }
  return roles;
}

Caller MakeUnixCaller(const RolesConfig& config, uint32_t uid, uint32_t gid, pid_t pid,
                      std::vector<uint32_t> gids) {
  Caller caller;
  caller.transport = Caller::Transport::kUnix;
  caller.uid = uid;
  caller.gid = gid;
  caller.pid = pid;
  if (!Contains(gids, gid)) {
    gids.insert(gids.begin(), gid);
  }
  caller.gids = std::move(gids);
  caller.user = UserName(uid);
  for (uint32_t g : caller.gids) {
    caller.groups.push_back(GroupName(g));
  }
  caller.roles = RolesOfUnixCaller(config, uid, caller.gids);
  return caller;
}

}  // namespace sovereign::service
