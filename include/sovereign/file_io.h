// Whole-file reads and atomic replacement: the one implementation every part uses for the files
// others read while they change (the snapshot sovereignd publishes for the plugin, the register
// file an Apply writes back) and for the config files they read; and the one way a failed file
// operation becomes an error (StatusFromErrno).
#pragma once

#include <sys/types.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "sovereign/file_modes.h"

namespace sovereign {

// The directory holding `path`: "." for a bare name, "/" for a file at the root.
std::string DirectoryOf(const std::string& path);

// Reads a whole file. NOT_FOUND / PERMISSION_DENIED / INTERNAL: "cannot read <path>: <why>".
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Replaces `path` by `contents` so that a reader sees the old file or the new one, never a
// part, and a crash or power loss leaves one of the two: a temporary file beside it (same
// directory, so same file system), written, fsync'd, renamed over `path`, then the directory
// fsync'd so that the rename itself is durable. The new file has exactly `mode`, whatever the
// umask (file_modes.h: the snapshot and the register file are kPublicFileMode). On an error the
// temporary file is removed and `path` is untouched unless the rename happened (only the
// directory sync failed). RESOURCE_EXHAUSTED for a full disk or quota, PERMISSION_DENIED,
// NOT_FOUND for a missing directory, INTERNAL otherwise; the message names the file and the step.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents,
                                 mode_t mode = kPublicFileMode);

// How a failed file operation is reported: errno as an absl::Status whose message names the
// file and the step, e.g.
// "spool /var/spool/sovereign/0001.spool: cannot write decision record: No space left on device":
// "<what>: <strerror(err)>" with a code for `err`: RESOURCE_EXHAUSTED for a full disk, quota
// or file size limit; PERMISSION_DENIED for access and read-only file systems; NOT_FOUND for a
// missing path; INTERNAL otherwise.
inline absl::Status StatusFromErrno(int err, absl::string_view what) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
      return absl::ResourceExhaustedError(msg);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(msg);
    case ENOENT:
      return absl::NotFoundError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// "<kind> <path>: <what>: <strerror(err)>", coded as StatusFromErrno.
inline absl::Status FileErrorStatus(int err, absl::string_view kind, absl::string_view path,
                                    absl::string_view what) {
  return StatusFromErrno(err, absl::StrCat(kind, " ", path, ": ", what));
}

}  // namespace sovereign
