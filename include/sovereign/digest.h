// SHA-256 as lowercase hex: the register's version, the snapshot file's checksum and the audit
// chain's record hashes.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace sovereign {

// SHA-256 of `first` followed by `second`, as 64 lowercase hex characters.
std::string Sha256Hex(absl::string_view first, absl::string_view second = {});

// SHA-256 of bytes given piece by piece, for a message that need not be built in memory first.
// One per thread at a time: it uses the thread's digest context.
class Sha256Stream {
 public:
  Sha256Stream();
  void Update(absl::string_view bytes);
  // 64 lowercase hex characters; the stream is spent.
  std::string HexDigest();
};

}  // namespace sovereign
