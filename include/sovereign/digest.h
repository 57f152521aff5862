// SHA-256 as lowercase hex: the register's version, the snapshot file's checksum and the audit
// chain's record hashes.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace sovereign {

// SHA-256 of `first` followed by `second`, as 64 lowercase hex characters.
std::string Sha256Hex(absl::string_view first, absl::string_view second = {});

}  // namespace sovereign
