// Whole-file reads and atomic replacement: the one implementation every part uses for the files
// others read while they change (the snapshot sovereignd publishes for the plugin, the register
// file an Apply writes back) and for the config files they read.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sovereign {

// Reads a whole file. NOT_FOUND / PERMISSION_DENIED / INTERNAL: "cannot read <path>: <why>".
absl::StatusOr<std::string> ReadFileToString(const std::string& path);

// Replaces `path` by `contents` so that a reader sees the old file or the new one, never a
// part, and a crash or power loss leaves one of the two: a temporary file beside it (same
// directory, so same file system), written, fsync'd, renamed over `path`, then the directory
// fsync'd so that the rename itself is durable. The new file has `mode` less the umask. On an error the
// temporary file is removed and `path` is untouched unless the rename happened (only the
// directory sync failed). RESOURCE_EXHAUSTED for a full disk or quota, PERMISSION_DENIED,
// NOT_FOUND for a missing directory, INTERNAL otherwise; the message names the file and the step.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents,
                                 mode_t mode = 0644);

}  // namespace sovereign
