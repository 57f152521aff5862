#include "register_lifecycle/register_store.h"

#include <spdlog/spdlog.h>

#include <cctype>

#include "absl/strings/str_cat.h"
#include "sovereign/file_modes.h"

namespace sovereign::service {
namespace {

// Finalises a prepared statement on every path.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  sqlite3_stmt* get() { return stmt_; }
  void Bind(int i, const std::string& text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }
  void Bind(int i, int64_t value) { sqlite3_bind_int64(stmt_, i, value); }
  std::string Text(int col) {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(p),
                                      static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
  }
  std::string Error() const { return sqlite3_errmsg(db_); }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_OK;
};

constexpr char kColumns[] =
    "revision, version, source, applied_by, action, comment, applied_at_us, yaml";

StoredRegister ReadRow(Statement& st, bool with_yaml) {
  StoredRegister r;
  r.revision = sqlite3_column_int64(st.get(), 0);
  r.version = st.Text(1);
  r.source = st.Text(2);
  r.applied_by = st.Text(3);
  r.action = st.Text(4);
  r.comment = st.Text(5);
  r.applied_at = absl::FromUnixMicros(sqlite3_column_int64(st.get(), 6));
  if (with_yaml) {
    r.yaml = st.Text(7);
  }
  return r;
}

bool IsHex(const std::string& s) {
  for (char c : s) {
    if (!std::isxdigit(static_cast<unsigned char>(c)) ||
        std::isupper(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<RegisterStore>> RegisterStore::Open(const std::string& path) {
  // Only sovereignd reads the history (others ask it over gRPC): its user's alone.
  ModeNotes notes;
  PrepareDatabaseFiles(path, kPrivateFileMode, "register history", &notes);
  for (const std::string& note : notes) {
    spdlog::warn("{}", note);
  }
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close(db);
    return absl::InternalError(absl::StrCat("cannot open register store ", path, ": ", msg));
  }
  sqlite3_busy_timeout(db, 5000);
  std::unique_ptr<RegisterStore> store(new RegisterStore(db));
  absl::Status s = store->Exec(
      "PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=FULL;"
      "CREATE TABLE IF NOT EXISTS register_revisions ("
      "  revision INTEGER PRIMARY KEY,"
      "  version TEXT NOT NULL,"
      "  source TEXT NOT NULL,"
      "  applied_by TEXT NOT NULL,"
      "  action TEXT NOT NULL,"
      "  comment TEXT NOT NULL,"
      "  applied_at_us INTEGER NOT NULL,"
      "  yaml TEXT NOT NULL);"
      "CREATE INDEX IF NOT EXISTS register_revisions_version"
      "  ON register_revisions(version);");
  if (!s.ok()) {
    return absl::InternalError(absl::StrCat("register store ", path, ": ", s.message()));
  }
  return store;
}

RegisterStore::~RegisterStore() { sqlite3_close(db_); }

absl::Status RegisterStore::Exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "unknown error";
    sqlite3_free(err);
    return absl::InternalError(msg);
  }
  return absl::OkStatus();
}

absl::StatusOr<StoredRegister> RegisterStore::Append(StoredRegister entry) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "INSERT INTO register_revisions (version, source, applied_by, action, comment,"
               " applied_at_us, yaml) VALUES (?, ?, ?, ?, ?, ?, ?)");
  if (!st.ok()) {
    return absl::InternalError(absl::StrCat("register store: ", st.Error()));
  }
  st.Bind(1, entry.version);
  st.Bind(2, entry.source);
  st.Bind(3, entry.applied_by);
  st.Bind(4, entry.action);
  st.Bind(5, entry.comment);
  st.Bind(6, static_cast<int64_t>(absl::ToUnixMicros(entry.applied_at)));
  st.Bind(7, entry.yaml);
  int rc = sqlite3_step(st.get());
  if (rc != SQLITE_DONE) {
    if (rc == SQLITE_FULL) {
      return absl::ResourceExhaustedError("register store: disk full");
    }
    return absl::InternalError(absl::StrCat("register store: ", st.Error()));
  }
  entry.revision = sqlite3_last_insert_rowid(db_);
  return entry;
}

absl::StatusOr<std::optional<StoredRegister>> RegisterStore::Latest() {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_, absl::StrCat("SELECT ", kColumns,
                                 " FROM register_revisions ORDER BY revision DESC LIMIT 1")
                        .c_str());
  if (!st.ok()) {
    return absl::InternalError(absl::StrCat("register store: ", st.Error()));
  }
  int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) {
    return std::optional<StoredRegister>();
  }
  if (rc != SQLITE_ROW) {
    return absl::InternalError(absl::StrCat("register store: ", st.Error()));
  }
  return std::optional<StoredRegister>(ReadRow(st, true));
}

absl::StatusOr<std::vector<StoredRegister>> RegisterStore::History(int limit,
                                                                   int64_t before_revision) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_, absl::StrCat("SELECT ", kColumns,
                                 " FROM register_revisions WHERE revision < ?"
                                 " ORDER BY revision DESC LIMIT ?")
                        .c_str());
  if (!st.ok()) {
    return absl::InternalError(absl::StrCat("register store: ", st.Error()));
  }
  st.Bind(1, before_revision > 0 ? before_revision : INT64_MAX);
  st.Bind(2, static_cast<int64_t>(limit));
  std::vector<StoredRegister> out;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    out.push_back(ReadRow(st, false));
  }
  if (rc != SQLITE_DONE) {
    return absl::InternalError(absl::StrCat("register store: ", st.Error()));
  }
  return out;
}

absl::StatusOr<StoredRegister> RegisterStore::FindVersion(const std::string& prefix) {
  if (prefix.size() < 6 || prefix.size() > 64 || !IsHex(prefix)) {
    return absl::InvalidArgumentError(
        absl::StrCat("register version \"", prefix,
                     "\" must be 6 to 64 lowercase hex digits (a version or its prefix)"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  // Hex digits only, so the prefix needs no LIKE escaping.
  Statement st(db_, absl::StrCat("SELECT ", kColumns,
                                 " FROM register_revisions WHERE version LIKE ? || '%'"
                                 " ORDER BY revision DESC")
                        .c_str());
  if (!st.ok()) {
    return absl::InternalError(absl::StrCat("register store: ", st.Error()));
  }
  st.Bind(1, prefix);
  std::optional<StoredRegister> found;
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    StoredRegister row = ReadRow(st, true);
    if (!found.has_value()) {
      found = std::move(row);
    } else if (found->version != row.version) {
      return absl::InvalidArgumentError(absl::StrCat(
          "register version prefix \"", prefix, "\" is ambiguous: ", found->version.substr(0, 12),
          ", ", row.version.substr(0, 12)));
    }
  }
  if (rc != SQLITE_DONE) {
    return absl::InternalError(absl::StrCat("register store: ", st.Error()));
  }
  if (!found.has_value()) {
    return absl::NotFoundError(
        absl::StrCat("register version \"", prefix, "\" was never applied here"));
  }
  return *std::move(found);
}

absl::StatusOr<std::optional<std::string>> RegisterStore::VersionInForceAt(absl::Time t) {
  std::lock_guard<std::mutex> lock(mu_);
  Statement st(db_,
               "SELECT version FROM register_revisions WHERE applied_at_us <= ?"
               " ORDER BY revision DESC LIMIT 1");
  if (!st.ok()) {
    return absl::InternalError(absl::StrCat("register store: ", st.Error()));
  }
  st.Bind(1, static_cast<int64_t>(absl::ToUnixMicros(t)));
  const int rc = sqlite3_step(st.get());
  if (rc == SQLITE_DONE) {
    return std::optional<std::string>();
  }
  if (rc != SQLITE_ROW) {
    return absl::InternalError(absl::StrCat("register store: ", st.Error()));
  }
  return std::optional<std::string>(
      reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0)));
}

}  // namespace sovereign::service
