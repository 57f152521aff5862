// The audit log's SQL: one connection, its cached statements, and chain verification over it.
// Thread-compatible: the owner serialises calls.
#pragma once

#include <sqlite3.h>

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "sovereign/audit_log.h"

namespace sovereign::audit::sqlite {

// A cached statement in use: reset when it goes out of scope, so that no half-read statement
// keeps a read transaction (and with it the WAL, which then cannot be checkpointed) open.
class Statement {
 public:
  explicit Statement(sqlite3_stmt* st) : st_(st) {}
  ~Statement() {
    if (st_ != nullptr) {
      sqlite3_reset(st_);
    }
  }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  operator sqlite3_stmt*() const { return st_; }  // NOLINT: used as the raw statement

 private:
  sqlite3_stmt* st_;
};

class Db {
 public:
  Db() = default;
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Errors name the path: NOT_FOUND / PERMISSION_DENIED when it cannot be opened,
  // FAILED_PRECONDITION when it is not a SQLite database.
  // `vfs`: a registered SQLite VFS by name (null: the default).
  absl::Status Open(const std::string& path, bool read_only, const char* vfs = nullptr);
  // Opens a file nobody writes (an auditor's copy) read-only and immutable: SQLite takes no
  // lock, reads no WAL and creates no file beside it. NOT_FOUND when it does not exist.
  absl::Status OpenImmutable(const std::string& path);
  absl::Status Exec(const std::string& sql);
  // One statement, prepared once and cached (BEGIN, COMMIT: no parse per transaction).
  absl::Status Run(const std::string& sql);

  // NOT_FOUND when there is no meta table (not an audit log).
  absl::StatusOr<std::optional<std::string>> MetaValue(const std::string& key);
  absl::Status SetMeta(const std::string& key, const std::string& value);
  bool HasTables();

  // (seq, hash) of the last record; (0, "") when empty.
  absl::StatusOr<std::pair<int64_t, std::string>> Head();
  absl::StatusOr<std::optional<AuditRecord>> FindDecision(const std::string& decision_id);
  absl::Status InsertRecord(const AuditRecord& r);
  absl::Status InsertCheckpoint(const Checkpoint& c);
  absl::StatusOr<std::optional<Checkpoint>> LatestCheckpoint();
  absl::StatusOr<std::vector<Checkpoint>> Checkpoints();
  absl::StatusOr<std::vector<AuditRecord>> Query(const AuditQuery& q);
  absl::StatusOr<std::vector<AuditRecord>> Range(int64_t first, int64_t last);
  absl::StatusOr<bool> HasRegion(const std::string& region);
  absl::StatusOr<std::vector<AuditRecord>> UnexplainedPlacements(int64_t after_seq, int limit);

  sqlite3* raw() { return db_; }
  // Runs a prepared statement whose columns are kRecordColumns and collects its records.
  absl::StatusOr<std::vector<AuditRecord>> Collect(Statement& st, const std::string& what);
  const std::string& path() const { return path_; }

  // SQLite result code -> status, naming the path and the operation.
  absl::Status Error(int rc, const std::string& what) const;
  Statement Prepare(const std::string& sql);  // cached; null on error

 private:
  // Opens `name` (a path or a URI) and names `path` in errors.
  absl::Status OpenAs(const std::string& name, const std::string& path, int flags,
                      const char* vfs);

  sqlite3* db_ = nullptr;
  std::string path_;
  std::map<std::string, sqlite3_stmt*> cache_;
};

// Reads one record from a statement whose columns are kRecordColumns.
AuditRecord ReadRecord(sqlite3_stmt* st);
extern const char* const kRecordColumns;

// Recomputes the chain and checks every checkpoint against `trusted_public_pem`.
VerifyReport VerifyChain(Db& db, const std::string& trusted_public_pem);

}  // namespace sovereign::audit::sqlite
