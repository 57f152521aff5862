#include "sovereign/digest.h"

#include <openssl/evp.h>

#include "absl/strings/escaping.h"

namespace sovereign {

std::string Sha256Hex(absl::string_view first, absl::string_view second) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
  EVP_DigestUpdate(ctx, first.data(), first.size());
  EVP_DigestUpdate(ctx, second.data(), second.size());
  EVP_DigestFinal_ex(ctx, digest, &len);
  EVP_MD_CTX_free(ctx);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), len));
}

}  // namespace sovereign
