// Every register version ever applied: its YAML text, version, who applied it, when and how.
//
// Kept in its own SQLite database (registers.db beside the audit log), one row per revision:
// an apply, a SIGHUP reload, a rollback and the register found at start-up each add a row,
// even when the version is one already seen. Rows are never changed or deleted.
//
// Thread-safety: all methods may be called from any thread (serialised by a mutex).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sovereign::service {

struct StoredRegister {
  int64_t revision = 0;  // set by Append: 1, 2, ...
  std::string version;   // full SHA-256 hex
  std::string yaml;
  std::string source;      // file name the YAML came from
  std::string applied_by;  // Caller::Describe() or "sovereignd (startup)"
  std::string action;      // "startup", "reload", "apply", "rollback"
  std::string comment;
  absl::Time applied_at = absl::UnixEpoch();
};

class RegisterStore {
 public:
  // Opens or creates the database (WAL, synchronous=FULL: applies are rare and must survive a
  // power cut), mode 0600 with its -wal and -shm; looser existing ones are tightened and logged.
  // Errors name the path.
  static absl::StatusOr<std::unique_ptr<RegisterStore>> Open(const std::string& path);
  ~RegisterStore();
  RegisterStore(const RegisterStore&) = delete;
  RegisterStore& operator=(const RegisterStore&) = delete;

  // Stores a new revision and returns it with `revision` set.
  absl::StatusOr<StoredRegister> Append(StoredRegister entry);
  // The newest revision; nullopt for an empty store.
  absl::StatusOr<std::optional<StoredRegister>> Latest();
  // Newest first, revisions < before_revision (0 = from the newest), at most `limit`.
  // The yaml field is left empty.
  absl::StatusOr<std::vector<StoredRegister>> History(int limit, int64_t before_revision);
  // The newest revision of a version given in full or as a unique prefix of at least 6 hex
  // digits. NOT_FOUND when no revision has it; INVALID_ARGUMENT for a short or ambiguous prefix.
  absl::StatusOr<StoredRegister> FindVersion(const std::string& version_or_prefix);
  // The version of the newest revision applied at or before `t` (the register in force then);
  // nullopt when none was.
  absl::StatusOr<std::optional<std::string>> VersionInForceAt(absl::Time t);

 private:
  explicit RegisterStore(sqlite3* db) : db_(db) {}
  absl::Status Exec(const char* sql);

  std::mutex mu_;
  sqlite3* db_;
};

}  // namespace sovereign::service
