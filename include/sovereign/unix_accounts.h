// Unix users and groups as this machine's NSS knows them (/etc/passwd, /etc/group, LDAP, SSSD):
// the one place sovereign calls getpwnam_r, getpwuid_r, getgrnam_r, getgrgid_r and
// getgrouplist. The register check, sovereignd (its config's roles, its callers, a service
// caller's job user), sovereignctl, the prolog and the job_submit plugin all ask here.
//
// An unknown name or id is NOT_FOUND, never a default: no look-up here ever answers uid 0 for a
// user it does not know. A failing NSS source (an LDAP server down) is UNAVAILABLE, naming the
// error, so that callers can tell "no such user" from "cannot tell".
//
// Thread-safe: the *_r functions with a buffer per call.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace sovereign {

struct UnixUser {
  std::string name;
  uint32_t uid = 0;
  uint32_t gid = 0;  // primary group
};

struct UnixGroup {
  std::string name;
  uint32_t gid = 0;
};

// A user as a decision names them (JobRequest's user and groups): the name and the names of
// their groups (GroupNamesOf).
struct UserInfo {
  std::string name;
  std::vector<std::string> groups;
};

// NOT_FOUND: 'user "alice" is not known on this machine'.
absl::StatusOr<UnixUser> UserByName(std::string_view name);
// NOT_FOUND: "uid 4242 is not known on this machine".
absl::StatusOr<UnixUser> UserById(uint32_t uid);
// NOT_FOUND: 'group "oncology" is not known on this machine'.
absl::StatusOr<UnixGroup> GroupByName(std::string_view name);
// NOT_FOUND: "gid 4242 is not known on this machine".
absl::StatusOr<UnixGroup> GroupById(uint32_t gid);

// The gids of every group `user` is in: its primary group first, then the supplementary ones
// (getgrouplist), without repeats.
absl::StatusOr<std::vector<uint32_t>> GroupIdsOf(const UnixUser& user);
// The names of those groups, in that order. A gid without a name is left out: the register
// names groups, and a number must not stand in for one.
absl::StatusOr<std::vector<std::string>> GroupNamesOf(const UnixUser& user);

// UserById, then GroupNamesOf. NOT_FOUND: "uid 4242 is not known on this machine".
absl::StatusOr<UserInfo> UserInfoById(uint32_t uid);

}  // namespace sovereign
