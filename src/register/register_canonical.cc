#include <openssl/evp.h>

#include "absl/strings/escaping.h"
#include "register_internal.h"

namespace sovereign::register_internal {

std::string Canonicalize(const Parts& parts) {
  // Placeholder canonical form until the full one lands with the parser.
  std::string out;
  for (const Partition& p : parts.partitions) {
    out += p.name + ";";
  }
  return out;
}

std::string Sha256Hex(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(std::string_view(reinterpret_cast<char*>(digest), len));
}

}  // namespace sovereign::register_internal
