// The hash chain's byte formats and the Ed25519 signing of checkpoints. Shared by the log and
// by offline verification; documented for auditors in docs/audit-log.md.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "sovereign/audit_log.h"

namespace sovereign::audit::chain {

// prev_hash of record 1.
inline const std::string kGenesis(64, '0');

// Every field of the record except prev_hash and hash, each as an 8-byte little-endian length
// followed by its bytes, after the label "sovereign-audit-record-v1". Numbers are decimal text.
std::string RecordBytes(const AuditRecord& r);
// Lowercase hex SHA-256 of prev_hash (its 64 hex characters) followed by RecordBytes(r).
std::string RecordHash(const std::string& prev_hash, const AuditRecord& r);

// "sovereign-audit-checkpoint-v1", count, head_hash, time in unix microseconds; same framing.
std::string CheckpointBytes(int64_t count, const std::string& head_hash, int64_t time_us);

// Loads the Ed25519 private key at `path`, creating it (mode 0600) if the file does not exist.
// Returns the PEM of its public key in *public_pem.
class Signer {
 public:
  static absl::StatusOr<std::unique_ptr<Signer>> LoadOrCreate(const std::string& path);
  ~Signer();
  const std::string& public_pem() const { return public_pem_; }
  // Lowercase hex Ed25519 signature.
  absl::StatusOr<std::string> Sign(const std::string& message) const;

 private:
  Signer() = default;
  void* key_ = nullptr;  // EVP_PKEY*
  std::string public_pem_;
};

// True when `signature_hex` is a valid Ed25519 signature of `message` by `public_pem`.
// INVALID_ARGUMENT when the key is not an Ed25519 public key in PEM.
absl::StatusOr<bool> VerifySignature(const std::string& public_pem, const std::string& message,
                                     const std::string& signature_hex);

}  // namespace sovereign::audit::chain
