// The decision log: append-only, hash-chained, durable before Append returns.
//
// Every placement decision (from sovereignd's PlacementService or from the Slurm plugin's
// spool) becomes one AuditRecord. Each record's hash covers its content and the previous
// record's hash, so editing, deleting, inserting or reordering any row breaks the chain from
// that row on. Every `checkpoint_interval` records (and on request) the log signs a Checkpoint
// (count, head hash, time) with an Ed25519 key; auditors who hold the public key can verify a
// copy of the database offline.
//
// Thread-safety: AuditLog is safe to use from many threads. Concurrent appends are serialised
// into one chain; appends that arrive while a transaction is being written share the next one
// (group commit: with Sync::kFull they share its fsync).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sovereign::audit {

enum class RecordKind {
  kDecision,     // a placement decision (place or reject)
  kAttestation,  // where a decided job really ran (job id, nodes), bound to its decision id
  kOutcome,      // what became of a placed job besides where it ran: ended, cancelled before it
                 // ran, never created by Slurm, or unknown; bound to its decision id
  kNodeWeight,   // a Slurm node Weight sovereignd wrote, and why; bound to no decision (its
                 // decision_id is empty)
  // New kinds go here, at the end: the log stores each kind as its number.
};

struct AuditRecord {
  // Set by Append: position in the chain, 1-based.
  int64_t seq = 0;
  RecordKind kind = RecordKind::kDecision;
  // Unique per decision; an attestation or outcome carries the id of the decision it is bound
  // to, a node weight record none (empty). Appending a decision whose id is already in the log
  // is a no-op that returns the stored record (exactly-once ingestion from the plugin's spool).
  std::string decision_id;
  absl::Time time = absl::UnixEpoch();
  // Who asked: "uid=0(slurm) via plugin", "uid=1000(alice)", "cn=auditor-1 (mTLS)".
  std::string caller;
  // Indexed fields, for ListDecisions filters.
  std::string user;
  std::string account;
  std::vector<std::string> datasets;
  std::string region;
  std::string partition;
  // "place" | "reject" | "at_risk" (attestation: "ok" | "violation"; outcome: "ended" |
  // "cancelled" | "never_ran" | "not_created" | "unknown"; node weight: "set" | "changed" |
  // "reapplied")
  std::string verdict;
  int64_t job_id = 0;   // 0 = not yet known
  std::string register_version;
  // The full request, decision and every candidate's score (or the attestation's nodes), as
  // JSON. Covered by the hash; stored verbatim.
  std::string body_json;
  // Set by Append: lowercase hex SHA-256 of the previous record's hash and this record's
  // content; prev_hash of the first record is 64 zeros.
  std::string prev_hash;
  std::string hash;
};

struct Checkpoint {
  int64_t count = 0;      // records covered: seq 1..count
  std::string head_hash;  // hash of record `count`
  absl::Time time = absl::UnixEpoch();
  std::string signature;  // Ed25519 over the checkpoint's canonical bytes, hex
  std::string public_key; // the signer's public key, PEM
};

enum class Sync {
  kNormal,  // WAL + synchronous=NORMAL: survives any crash of the process, not power loss
  kFull,    // WAL + synchronous=FULL with group commit: survives power loss
};

struct AuditOptions {
  // SQLite database file; created if missing. It, its -wal and -shm have mode 0600 whatever the
  // umask; looser existing ones are tightened when the log is opened (and logged).
  std::string path = "/var/lib/sovereign/audit.db";
  Sync sync = Sync::kNormal;
  // With Sync::kFull, an Append waits at most this long for others to share its fsync.
  std::chrono::microseconds commit_window{200};
  // Sign a checkpoint every this many records (0 = only on request).
  int64_t checkpoint_interval = 1000;
  // Ed25519 private key (PEM); created with mode 0600 at first start if missing, an existing
  // looser one tightened to 0600.
  std::string signing_key_path = "/var/lib/sovereign/audit-signing.pem";
};

// How appends were grouped into transactions since the log was opened.
struct CommitStats {
  // Transactions that wrote at least one record. One in which every append was of a decision
  // already in the log writes nothing and is not counted.
  int64_t transactions = 0;
  int64_t records = 0;  // appended in them (stored records handed back again are not counted)
  // Appends of a decision id already in the log, answered with the stored record.
  int64_t already_logged = 0;
};

struct AuditQuery {
  // Records carrying this job id, and every record of the decisions bound to it (an attestation
  // or outcome with this job id binds its decision: the placement at submission, which has no
  // job id yet, is found too).
  std::optional<int64_t> job_id;
  // Records of this decision: the decision itself and its attestations.
  std::string decision_id;
  std::string user, account, dataset, region, partition, verdict;  // empty = any
  // The full SHA-256 of a register, or a prefix of it (at least 4 hex digits); empty = any.
  std::string register_version;
  std::optional<absl::Time> since, until;                          // [since, until)
  std::optional<RecordKind> kind;
  int64_t before_seq = 0;  // paging: only records with seq < before_seq (0 = from the head)
  int limit = 100;         // newest first
};

struct VerifyReport {
  bool ok = false;
  int64_t records_checked = 0;
  int64_t checkpoints_checked = 0;
  // When !ok: the first record (seq) or checkpoint that does not match, and what is wrong.
  int64_t first_bad_seq = 0;
  std::string problem;
};

class AuditLog {
 public:
  static absl::StatusOr<std::unique_ptr<AuditLog>> Open(const AuditOptions& options);
  virtual ~AuditLog() = default;

  using AppendDone = std::function<void(absl::StatusOr<AuditRecord>)>;

  // Appends and makes durable per options.sync, then calls `done` with the stored record (seq,
  // prev_hash and hash filled). A decision whose decision_id is already logged is not appended
  // again: the stored record comes back instead. RESOURCE_EXHAUSTED when the disk is full;
  // nothing is half-written. `done` runs exactly once, on the calling thread when the log was
  // idle or on the log's writer thread, and must not call back into the log's append path.
  virtual void AppendAsync(AuditRecord record, AppendDone done) = 0;

  // AppendAsync, waiting for the result.
  absl::StatusOr<AuditRecord> Append(AuditRecord record);

  // Appends every record in one transaction, in order, on the calling thread: all of them or,
  // on an error, none. The answer holds the stored record of each (as Append would answer it:
  // a decision already logged, or repeated in `records`, comes back as stored once). For a
  // writer that has many records at once (the spool ingester): one commit instead of one each.
  virtual absl::StatusOr<std::vector<AuditRecord>> AppendAll(std::vector<AuditRecord> records) = 0;

  virtual CommitStats GetCommitStats() = 0;

  virtual absl::StatusOr<AuditRecord> Get(const std::string& decision_id) = 0;
  virtual absl::StatusOr<std::vector<AuditRecord>> List(const AuditQuery& query) = 0;
  // Whether any record has this region (a cheap index look-up; for telling a typo from an
  // empty result).
  virtual absl::StatusOr<bool> HasRegion(const std::string& region) = 0;
  // Placements by the Slurm plugin (verdict "place", caller "... via job_submit/sovereign")
  // with seq > after_seq that no attestation or outcome explains yet, oldest first, at most
  // `limit`.
  virtual absl::StatusOr<std::vector<AuditRecord>> UnexplainedPlacements(int64_t after_seq,
                                                                         int limit) = 0;
  // Records with first <= seq <= last, oldest first (export).
  virtual absl::StatusOr<std::vector<AuditRecord>> Range(int64_t first, int64_t last) = 0;

  virtual int64_t HeadSeq() = 0;
  // Blocks until the head passes `after_seq` or `deadline`; returns the head seq.
  virtual int64_t WaitForAppend(int64_t after_seq, absl::Time deadline) = 0;

  // Signs and stores a checkpoint of the current head.
  virtual absl::StatusOr<Checkpoint> MakeCheckpoint() = 0;
  virtual absl::StatusOr<std::optional<Checkpoint>> LatestCheckpoint() = 0;

  // Recomputes the whole chain and checks every stored checkpoint's signature.
  virtual VerifyReport Verify() = 0;
};

// Verifies a copy of the database offline, trusting only `public_key_pem`. A copy taken with
// `sqlite3 .backup` (no -wal file beside it) is opened read-only as an immutable file: nothing
// is written beside the evidence (no -wal, no -shm). A database with its -wal beside it (the
// live log) is opened read-only through its WAL. NOT_FOUND when the file does not exist,
// FAILED_PRECONDITION when it is not a SQLite database; otherwise a report, ok or not.
absl::StatusOr<VerifyReport> VerifyDatabaseCopy(const std::string& db_path,
                                                const std::string& public_key_pem);
// VerifyDatabaseCopy with every error folded into the report's problem.
VerifyReport VerifyDatabase(const std::string& db_path, const std::string& public_key_pem);

}  // namespace sovereign::audit
