// errno from a file operation as an absl::Status whose message names the file and the step:
// "spool /var/spool/sovereign/0001.spool: cannot write decision record: No space left on device".
#pragma once

#include <cerrno>
#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace sovereign {

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
