#include "sovereign/unix_accounts.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace sovereign {
namespace {

// NSS look-ups fill a caller's buffer and say ERANGE when it is too small; entries larger than
// this are not real.
constexpr size_t kMaxBuffer = size_t{1} << 20;

// Calls `lookup(buffer, size) -> errno-style code` with a buffer that grows while the answer
// does not fit.
template <typename Lookup>
int WithBuffer(std::vector<char>& buffer, Lookup lookup) {
  buffer.resize(4096);
  while (true) {
    int rc = lookup(buffer.data(), buffer.size());
    if (rc != ERANGE || buffer.size() >= kMaxBuffer) {
      return rc;
    }
    buffer.resize(buffer.size() * 2);
  }
}

// getpwnam_r(3): "0 or ENOENT or ESRCH or EBADF or EPERM or ...: the given name or uid was not
// found". Anything else is the NSS source failing.
bool MeansNotFound(int rc) {
  return rc == 0 || rc == ENOENT || rc == ESRCH || rc == EBADF || rc == EPERM;
}

absl::Status Failure(int rc, const std::string& what) {
  if (MeansNotFound(rc)) {
    return absl::NotFoundError(absl::StrCat(what, " is not known on this machine"));
  }
  return absl::UnavailableError(
      absl::StrCat("cannot look up ", what, ": ", std::strerror(rc)));
}

UnixUser UserOf(const passwd& pw) { return UnixUser{pw.pw_name, pw.pw_uid, pw.pw_gid}; }
UnixGroup GroupOf(const group& gr) { return UnixGroup{gr.gr_name, gr.gr_gid}; }

}  // namespace

absl::StatusOr<UnixUser> UserByName(std::string_view name) {
  const std::string key(name);
  std::vector<char> buffer;
  passwd entry{};
  passwd* found = nullptr;
  const int rc = WithBuffer(buffer, [&](char* buf, size_t size) {
    return getpwnam_r(key.c_str(), &entry, buf, size, &found);
  });
  if (rc != 0 || found == nullptr || key.empty()) {
    return Failure(rc, absl::StrCat("user \"", key, "\""));
  }
  return UserOf(*found);
}

absl::StatusOr<UnixUser> UserById(uint32_t uid) {
  std::vector<char> buffer;
  passwd entry{};
  passwd* found = nullptr;
  const int rc = WithBuffer(buffer, [&](char* buf, size_t size) {
    return getpwuid_r(static_cast<uid_t>(uid), &entry, buf, size, &found);
  });
  if (rc != 0 || found == nullptr) {
    return Failure(rc, absl::StrCat("uid ", uid));
  }
  return UserOf(*found);
}

absl::StatusOr<UnixGroup> GroupByName(std::string_view name) {
  const std::string key(name);
  std::vector<char> buffer;
  group entry{};
  group* found = nullptr;
  const int rc = WithBuffer(buffer, [&](char* buf, size_t size) {
    return getgrnam_r(key.c_str(), &entry, buf, size, &found);
  });
  if (rc != 0 || found == nullptr || key.empty()) {
    return Failure(rc, absl::StrCat("group \"", key, "\""));
  }
  return GroupOf(*found);
}

absl::StatusOr<UnixGroup> GroupById(uint32_t gid) {
  std::vector<char> buffer;
  group entry{};
  group* found = nullptr;
  const int rc = WithBuffer(buffer, [&](char* buf, size_t size) {
    return getgrgid_r(static_cast<gid_t>(gid), &entry, buf, size, &found);
  });
  if (rc != 0 || found == nullptr) {
    return Failure(rc, absl::StrCat("gid ", gid));
  }
  return GroupOf(*found);
}

absl::StatusOr<std::vector<uint32_t>> GroupIdsOf(const UnixUser& user) {
  std::vector<gid_t> gids(64);
  int count = static_cast<int>(gids.size());
  while (getgrouplist(user.name.c_str(), static_cast<gid_t>(user.gid), gids.data(), &count) < 0) {
    // `count` now holds the number needed.
    if (count <= static_cast<int>(gids.size()) || count > 65536) {
      return absl::UnavailableError(absl::StrCat("cannot list the groups of user \"", user.name,
                                                 "\" (", count, " groups)"));
    }
    gids.resize(static_cast<size_t>(count));
  }
  gids.resize(static_cast<size_t>(std::max(count, 0)));
  std::vector<uint32_t> out{user.gid};
  for (gid_t gid : gids) {
    if (std::find(out.begin(), out.end(), gid) == out.end()) {
      out.push_back(gid);
    }
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> GroupNamesOf(const UnixUser& user) {
  absl::StatusOr<std::vector<uint32_t>> gids = GroupIdsOf(user);
  if (!gids.ok()) {
    return gids.status();
  }
  std::vector<std::string> names;
  names.reserve(gids->size());
  for (uint32_t gid : *gids) {
    if (absl::StatusOr<UnixGroup> g = GroupById(gid); g.ok()) {
      names.push_back(g->name);
    }
  }
  return names;
}

absl::StatusOr<UserInfo> UserInfoById(uint32_t uid) {
  absl::StatusOr<UnixUser> user = UserById(uid);
  if (!user.ok()) {
    return user.status();
  }
  absl::StatusOr<std::vector<std::string>> groups = GroupNamesOf(*user);
  if (!groups.ok()) {
    return groups.status();
  }
  return UserInfo{user->name, *std::move(groups)};
}

}  // namespace sovereign
