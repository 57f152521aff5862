#include "chain.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "sovereign/digest.h"
#include "sovereign/file_modes.h"

namespace sovereign::audit::chain {
namespace {

// A digest fed in pieces of at least a buffer's size: a record is some 35 short fields and a
// body, and each digest update has a fixed cost.
class DigestSink {
 public:
  void Append(absl::string_view bytes) {
    if (used_ + bytes.size() > sizeof buffer_) {
      Flush();
      if (bytes.size() > sizeof buffer_) {
        stream_.Update(bytes);
        return;
      }
    }
    std::memcpy(buffer_ + used_, bytes.data(), bytes.size());
    used_ += bytes.size();
  }
  std::string HexDigest() {
    Flush();
    return stream_.HexDigest();
  }

 private:
  void Flush() {
    stream_.Update(absl::string_view(buffer_, used_));
    used_ = 0;
  }
  Sha256Stream stream_;
  char buffer_[512];
  size_t used_ = 0;
};

void Append(std::string* out, absl::string_view bytes) { out->append(bytes.data(), bytes.size()); }
void Append(DigestSink* out, absl::string_view bytes) { out->Append(bytes); }

// The field's length as 8 bytes, little-endian, then the field; into a string or a digest.
template <typename Sink>
void Put(Sink* out, absl::string_view field) {
  const uint64_t n = field.size();
  char length[8];
  for (int i = 0; i < 8; ++i) {
    length[i] = static_cast<char>((n >> (8 * i)) & 0xff);
  }
  Append(out, absl::string_view(length, sizeof length));
  Append(out, field);
}

// A record's bytes, written once for both: RecordBytes builds them, RecordHash digests them as
// they come (a record's body is copied into nothing first).
template <typename Sink>
void PutRecord(Sink* out, const AuditRecord& r) {
  Put(out, "sovereign-audit-record-v1");
  Put(out, absl::StrCat(r.seq));
  Put(out, absl::StrCat(static_cast<int>(r.kind)));
  Put(out, r.decision_id);
  Put(out, absl::StrCat(absl::ToUnixMicros(r.time)));
  Put(out, r.caller);
  Put(out, r.user);
  Put(out, r.account);
  Put(out, absl::StrCat(r.datasets.size()));
  for (const std::string& d : r.datasets) {
    Put(out, d);
  }
  Put(out, r.region);
  Put(out, r.partition);
  Put(out, r.verdict);
  Put(out, absl::StrCat(r.job_id));
  Put(out, r.register_version);
  Put(out, r.body_json);
}

std::string PublicPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  BIO_free(bio);
  return pem;
}

}  // namespace

std::string RecordBytes(const AuditRecord& r) {
  std::string out;
  out.reserve(256 + r.body_json.size());
  PutRecord(&out, r);
  return out;
}

std::string RecordHash(const std::string& prev_hash, const AuditRecord& r) {
  DigestSink digest;
  digest.Append(prev_hash);
  PutRecord(&digest, r);
  return digest.HexDigest();
}

std::string CheckpointBytes(int64_t count, const std::string& head_hash, int64_t time_us) {
  std::string out;
  Put(&out, "sovereign-audit-checkpoint-v1");
  Put(&out, absl::StrCat(count));
  Put(&out, head_hash);
  Put(&out, absl::StrCat(time_us));
  return out;
}

absl::StatusOr<std::unique_ptr<Signer>> Signer::LoadOrCreate(const std::string& path) {
  std::unique_ptr<Signer> s(new Signer());
  EVP_PKEY* key = nullptr;
  if (FILE* f = fopen(path.c_str(), "r"); f != nullptr) {
    key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    fclose(f);
    if (key == nullptr || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
      EVP_PKEY_free(key);
      return absl::FailedPreconditionError(
          absl::StrCat("audit signing key ", path, " is not an Ed25519 private key in PEM"));
    }
  } else if (errno != ENOENT) {
    return absl::PermissionDeniedError(
        absl::StrCat("audit signing key ", path, ": cannot read: ", std::strerror(errno)));
  } else {
    key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (key == nullptr) {
      return absl::InternalError("cannot generate an Ed25519 key (OpenSSL)");
    }
    int fd = CreateFileWithMode(path, O_WRONLY, kPrivateFileMode);
    FILE* f = fd < 0 ? nullptr : fdopen(fd, "w");
    if (f == nullptr) {
      int err = errno;
      EVP_PKEY_free(key);
      return absl::PermissionDeniedError(
          absl::StrCat("audit signing key ", path, ": cannot create: ", std::strerror(err)));
    }
    bool ok = PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    ok = (fflush(f) == 0) && ok && fsync(fileno(f)) == 0;
    fclose(f);
    if (!ok) {
      EVP_PKEY_free(key);
      unlink(path.c_str());
      return absl::ResourceExhaustedError(
          absl::StrCat("audit signing key ", path, ": cannot write it"));
    }
  }
  s->key_ = key;
  s->public_pem_ = PublicPem(key);
  return s;
}

Signer::~Signer() { EVP_PKEY_free(static_cast<EVP_PKEY*>(key_)); }

absl::StatusOr<std::string> Signer::Sign(const std::string& message) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char sig[64];
  size_t len = sizeof sig;
  bool ok = EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, static_cast<EVP_PKEY*>(key_)) == 1 &&
            EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(message.data()),
                           message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) {
    return absl::InternalError("Ed25519 signing failed (OpenSSL)");
  }
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(sig), len));
}

absl::StatusOr<bool> VerifySignature(const std::string& public_pem, const std::string& message,
                                     const std::string& signature_hex) {
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr || EVP_PKEY_id(key) != EVP_PKEY_ED25519) {
    EVP_PKEY_free(key);
    return absl::InvalidArgumentError("the trusted public key is not an Ed25519 public key in PEM");
  }
  std::string sig = absl::HexStringToBytes(signature_hex);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(message.data()),
                             message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace sovereign::audit::chain
