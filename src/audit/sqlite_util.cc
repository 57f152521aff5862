#include "sqlite_util.h"

#include <sys/stat.h>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "chain.h"

namespace sovereign::audit::sqlite {
namespace {

std::string Text(sqlite3_stmt* st, int col) {
  const unsigned char* t = sqlite3_column_text(st, col);
  return t == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(t),
                                                    static_cast<size_t>(sqlite3_column_bytes(st, col)));
}

void Bind(sqlite3_stmt* st, int i, const std::string& v) {
  sqlite3_bind_text(st, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}

// Datasets are stored in the hashed row as names joined by '\n' (names cannot contain one).
std::string JoinDatasets(const std::vector<std::string>& d) { return absl::StrJoin(d, "\n"); }

// The kinds that bind a decision (an attestation, an outcome): "kind IN (1, 2)". Other kinds
// that are not decisions (a node weight) explain no placement and bind no job's decision.
std::string BindingKinds() {
  return absl::StrCat("(", static_cast<int>(RecordKind::kAttestation), ", ",
                      static_cast<int>(RecordKind::kOutcome), ")");
}

}  // namespace

const char* const kRecordColumns =
    "seq, kind, decision_id, time_us, caller, user, account, datasets, region, partition, "
    "verdict, job_id, register_version, body, prev_hash, hash";

AuditRecord ReadRecord(sqlite3_stmt* st) {
  AuditRecord r;
  r.seq = sqlite3_column_int64(st, 0);
  r.kind = static_cast<RecordKind>(sqlite3_column_int(st, 1));
  r.decision_id = Text(st, 2);
  r.time = absl::FromUnixMicros(sqlite3_column_int64(st, 3));
  r.caller = Text(st, 4);
  r.user = Text(st, 5);
  r.account = Text(st, 6);
  std::string ds = Text(st, 7);
  if (!ds.empty()) {
    r.datasets = absl::StrSplit(ds, '\n');
  }
  r.region = Text(st, 8);
  r.partition = Text(st, 9);
  r.verdict = Text(st, 10);
  r.job_id = sqlite3_column_int64(st, 11);
  r.register_version = Text(st, 12);
  r.body_json = Text(st, 13);
  r.prev_hash = Text(st, 14);
  r.hash = Text(st, 15);
  return r;
}

Db::~Db() {
  for (auto& [sql, st] : cache_) {
    sqlite3_finalize(st);
  }
  if (db_ != nullptr) {
    sqlite3_close_v2(db_);
  }
}

absl::Status Db::Error(int rc, const std::string& what) const {
  std::string msg = absl::StrCat("audit log ", path_, ": ", what, ": ",
                                 db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_FULL:
      return absl::ResourceExhaustedError(msg);
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return absl::PermissionDeniedError(msg);
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return absl::FailedPreconditionError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::Status Db::Open(const std::string& path, bool read_only, const char* vfs) {
  int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  return OpenAs(path, path, flags, vfs);
}

absl::Status Db::OpenAs(const std::string& name, const std::string& path, int flags,
                        const char* vfs) {
  path_ = path;
  int rc = sqlite3_open_v2(name.c_str(), &db_, flags | SQLITE_OPEN_NOMUTEX, vfs);
  if (rc != SQLITE_OK) {
    absl::Status s = Error(rc, "cannot open");
    sqlite3_close_v2(db_);
    db_ = nullptr;
    return s;
  }
  sqlite3_busy_timeout(db_, 5000);
  // Reading the schema tells a non-database file apart at once.
  rc = sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    return Error(rc, "cannot read it");
  }
  return absl::OkStatus();
}

absl::Status Db::OpenImmutable(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    path_ = path;
    return absl::NotFoundError(absl::StrCat("audit log ", path, ": no such file"));
  }
  // A URI, so that "immutable" applies; '%', '?' and '#' in the path are escaped.
  std::string uri = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      absl::StrAppend(&uri, "%", absl::Hex(static_cast<unsigned char>(c), absl::kZeroPad2));
    } else {
      uri.push_back(c);
    }
  }
  absl::StrAppend(&uri, "?immutable=1");
  return OpenAs(uri, path, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr);
}

absl::Status Db::Run(const std::string& sql) {
  Statement st = Prepare(sql);
  if (st == nullptr) {
    return Error(sqlite3_errcode(db_), sql);
  }
  int rc = sqlite3_step(st);
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? absl::OkStatus() : Error(rc, sql);
}

absl::Status Db::Exec(const std::string& sql) {
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  sqlite3_free(err);
  return rc == SQLITE_OK ? absl::OkStatus() : Error(rc, sql.substr(0, sql.find(' ')));
}

Statement Db::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) {
    sqlite3_reset(it->second);
    sqlite3_clear_bindings(it->second);
    return Statement(it->second);
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) !=
      SQLITE_OK) {
    return Statement(nullptr);
  }
  cache_[sql] = st;
  return Statement(st);
}

bool Db::HasTables() {
  Statement st = Prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table'");
  return st != nullptr && sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) > 0;
}

absl::StatusOr<std::optional<std::string>> Db::MetaValue(const std::string& key) {
  Statement st = Prepare("SELECT value FROM meta WHERE key = ?");
  if (st == nullptr) {
    return absl::NotFoundError(absl::StrCat("audit log ", path_, ": no meta table"));
  }
  Bind(st, 1, key);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    return std::optional<std::string>(Text(st, 0));
  }
  if (rc == SQLITE_DONE) {
    return std::optional<std::string>();
  }
  return Error(rc, "cannot read meta");
}

absl::Status Db::SetMeta(const std::string& key, const std::string& value) {
  Statement st = Prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)");
  if (st == nullptr) {
    return Error(sqlite3_errcode(db_), "cannot prepare meta update");
  }
  Bind(st, 1, key);
  Bind(st, 2, value);
  int rc = sqlite3_step(st);
  return rc == SQLITE_DONE ? absl::OkStatus() : Error(rc, "cannot write meta");
}

absl::StatusOr<std::pair<int64_t, std::string>> Db::Head() {
  Statement st = Prepare("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1");
  if (st == nullptr) {
    return Error(sqlite3_errcode(db_), "cannot read the head");
  }
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    return std::make_pair(sqlite3_column_int64(st, 0), Text(st, 1));
  }
  if (rc == SQLITE_DONE) {
    return std::make_pair(int64_t{0}, std::string());
  }
  return Error(rc, "cannot read the head");
}

absl::StatusOr<std::optional<AuditRecord>> Db::FindDecision(const std::string& decision_id) {
  // Built once: these run for every appended record.
  static const std::string* const kSql = new std::string(
      absl::StrCat("SELECT ", kRecordColumns, " FROM records WHERE kind = 0 AND decision_id = ?"));
  Statement st = Prepare(*kSql);
  if (st == nullptr) {
    return Error(sqlite3_errcode(db_), "cannot prepare look-up");
  }
  Bind(st, 1, decision_id);
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    return std::optional<AuditRecord>(ReadRecord(st));
  }
  if (rc == SQLITE_DONE) {
    return std::optional<AuditRecord>();
  }
  return Error(rc, "cannot look up a decision");
}

absl::Status Db::InsertRecord(const AuditRecord& r) {
  static const std::string* const kSql = new std::string(absl::StrCat(
      "INSERT INTO records (", kRecordColumns, ") VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"));
  Statement st = Prepare(*kSql);
  if (st == nullptr) {
    return Error(sqlite3_errcode(db_), "cannot prepare insert");
  }
  sqlite3_bind_int64(st, 1, r.seq);
  sqlite3_bind_int(st, 2, static_cast<int>(r.kind));
  Bind(st, 3, r.decision_id);
  sqlite3_bind_int64(st, 4, absl::ToUnixMicros(r.time));
  Bind(st, 5, r.caller);
  Bind(st, 6, r.user);
  Bind(st, 7, r.account);
  Bind(st, 8, JoinDatasets(r.datasets));
  Bind(st, 9, r.region);
  Bind(st, 10, r.partition);
  Bind(st, 11, r.verdict);
  sqlite3_bind_int64(st, 12, r.job_id);
  Bind(st, 13, r.register_version);
  Bind(st, 14, r.body_json);
  Bind(st, 15, r.prev_hash);
  Bind(st, 16, r.hash);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_DONE) {
    return Error(rc, "cannot insert record");
  }
  Statement ds = Prepare("INSERT OR IGNORE INTO record_datasets (dataset, seq) VALUES (?, ?)");
  for (const std::string& d : r.datasets) {
    Bind(ds, 1, d);
    sqlite3_bind_int64(ds, 2, r.seq);
    rc = sqlite3_step(ds);
    if (rc != SQLITE_DONE) {
      return Error(rc, "cannot index datasets");
    }
    sqlite3_reset(ds);
  }
  return absl::OkStatus();
}

absl::Status Db::InsertCheckpoint(const Checkpoint& c) {
  Statement st = Prepare(
      "INSERT INTO checkpoints (count, head_hash, time_us, signature, public_key) "
      "VALUES (?, ?, ?, ?, ?)");
  if (st == nullptr) {
    return Error(sqlite3_errcode(db_), "cannot prepare checkpoint");
  }
  sqlite3_bind_int64(st, 1, c.count);
  Bind(st, 2, c.head_hash);
  sqlite3_bind_int64(st, 3, absl::ToUnixMicros(c.time));
  Bind(st, 4, c.signature);
  Bind(st, 5, c.public_key);
  int rc = sqlite3_step(st);
  return rc == SQLITE_DONE ? absl::OkStatus() : Error(rc, "cannot store checkpoint");
}

absl::StatusOr<std::vector<Checkpoint>> Db::Checkpoints() {
  Statement st = Prepare(
      "SELECT count, head_hash, time_us, signature, public_key FROM checkpoints ORDER BY id");
  if (st == nullptr) {
    return Error(sqlite3_errcode(db_), "cannot read checkpoints");
  }
  std::vector<Checkpoint> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back({sqlite3_column_int64(st, 0), Text(st, 1),
                   absl::FromUnixMicros(sqlite3_column_int64(st, 2)), Text(st, 3), Text(st, 4)});
  }
  if (rc != SQLITE_DONE) {
    return Error(rc, "cannot read checkpoints");
  }
  return out;
}

absl::StatusOr<std::optional<Checkpoint>> Db::LatestCheckpoint() {
  absl::StatusOr<std::vector<Checkpoint>> all = Checkpoints();
  if (!all.ok()) {
    return all.status();
  }
  if (all->empty()) {
    return std::optional<Checkpoint>();
  }
  return std::optional<Checkpoint>(all->back());
}

absl::StatusOr<std::vector<AuditRecord>> Db::Query(const AuditQuery& q) {
  const std::string columns =
      absl::StrCat("r.", absl::StrJoin(absl::StrSplit(kRecordColumns, ", "), ", r."));
  std::string sql = absl::StrCat("SELECT ", columns, " FROM records r");
  std::vector<std::string> where;
  std::vector<std::string> texts;
  if (!q.dataset.empty()) {
    // Walk the dataset index newest first; every other filter checks the row.
    sql = absl::StrCat("SELECT ", columns, " FROM record_datasets d JOIN records r ON r.seq = d.seq");
    where.push_back("d.dataset = ?");
    texts.push_back(q.dataset);
  }
  // Which index walks the records, newest first, is chosen here rather than by SQLite's planner:
  // without statistics it takes every equality as equally selective and may walk the verdict
  // index (two values) for "user X and verdict reject", seconds at 10 million records. The
  // dataset filter drives when given; else the first given of decision id, job id, user,
  // account, partition, region, verdict (most to least selective in a typical log). Every other
  // filter is checked on the row ("+col" keeps SQLite from using its index).
  bool driven = !q.dataset.empty();
  auto filter = [&](const std::string& condition) {
    where.push_back(absl::StrCat(driven ? "+" : "", condition));
    driven = true;
  };
  if (!q.decision_id.empty()) {
    filter("r.decision_id = ?");
    texts.push_back(q.decision_id);
  }
  if (q.job_id.has_value()) {
    // The job's own records, and every record of the decisions its attestations and outcomes
    // are bound to (the placement at submission has no job id).
    // Written as a set of seqs, each half found through an index (an OR of the two conditions
    // would make SQLite scan every record).
    const std::string n = absl::StrCat(*q.job_id);
    where.push_back(absl::StrCat(
        driven ? "+" : "", "r.seq IN (SELECT j.seq FROM records j WHERE j.job_id = ", n,
        " UNION SELECT a.seq FROM records a WHERE a.decision_id IN (SELECT b.decision_id FROM "
        "records b WHERE b.job_id = ",
        n, " AND b.kind IN ", BindingKinds(), "))"));
    driven = true;
  }
  for (const auto& [col, value] : {std::pair<const char*, const std::string*>{"user", &q.user},
                                   {"account", &q.account},
                                   {"partition", &q.partition},
                                   {"region", &q.region},
                                   {"verdict", &q.verdict}}) {
    if (!value->empty()) {
      filter(absl::StrCat("r.", col, " = ?"));
      texts.push_back(*value);
    }
  }
  if (q.kind.has_value()) {
    where.push_back(absl::StrCat("+r.kind = ", static_cast<int>(*q.kind)));
  }
  if (!q.register_version.empty()) {
    where.push_back(absl::StrCat("substr(r.register_version, 1, ", q.register_version.size(),
                                 ") = ?"));
    texts.push_back(q.register_version);
  }
  // Time alone: a bounded window (until set) goes through the time index (its matches are few
  // when it is narrow); "since X" alone walks newest first and stops at the limit, where the
  // time index would collect every match (all of them for an old X) and sort them.
  const bool time_index = !driven && q.until.has_value();
  const char* time_col = time_index ? "r.time_us" : "+r.time_us";
  if (q.since.has_value()) {
    where.push_back(absl::StrCat(time_col, " >= ", absl::ToUnixMicros(*q.since)));
  }
  if (q.until.has_value()) {
    where.push_back(absl::StrCat(time_col, " < ", absl::ToUnixMicros(*q.until)));
  }
  if (q.before_seq > 0) {
    where.push_back(absl::StrCat(q.dataset.empty() ? "r.seq" : "d.seq", " < ", q.before_seq));
  }
  if (!where.empty()) {
    absl::StrAppend(&sql, " WHERE ", absl::StrJoin(where, " AND "));
  }
  absl::StrAppend(&sql, " ORDER BY ", q.dataset.empty() ? "r.seq" : "d.seq", " DESC LIMIT ",
                  std::max(1, std::min(q.limit, 10000)));
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr);
  if (rc != SQLITE_OK) {
    return Error(rc, "cannot prepare query");
  }
  for (size_t i = 0; i < texts.size(); ++i) {
    Bind(st, static_cast<int>(i) + 1, texts[i]);
  }
  std::vector<AuditRecord> out;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back(ReadRecord(st));
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    return Error(rc, "cannot run query");
  }
  return out;
}

absl::StatusOr<std::vector<AuditRecord>> Db::Collect(Statement& st, const std::string& what) {
  std::vector<AuditRecord> out;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    out.push_back(ReadRecord(st));
  }
  if (rc != SQLITE_DONE) {
    return Error(rc, what);
  }
  return out;
}

absl::StatusOr<std::vector<AuditRecord>> Db::Range(int64_t first, int64_t last) {
  Statement st = Prepare(absl::StrCat("SELECT ", kRecordColumns,
                                          " FROM records WHERE seq >= ? AND seq <= ? ORDER BY seq"));
  if (st == nullptr) {
    return Error(sqlite3_errcode(db_), "cannot prepare range");
  }
  sqlite3_bind_int64(st, 1, first);
  sqlite3_bind_int64(st, 2, last);
  return Collect(st, "cannot read range");
}

absl::StatusOr<bool> Db::HasRegion(const std::string& region) {
  Statement st = Prepare("SELECT 1 FROM records WHERE region = ? LIMIT 1");
  if (st == nullptr) {
    return Error(sqlite3_errcode(db_), "cannot prepare region look-up");
  }
  Bind(st, 1, region);
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return Error(rc, "cannot look up a region");
  }
  return rc == SQLITE_ROW;
}

absl::StatusOr<std::vector<AuditRecord>> Db::UnexplainedPlacements(int64_t after_seq, int limit) {
  // Walks the verdict index from after_seq; each candidate's explanation is one look-up in the
  // decision index.
  static const std::string* const kSql = new std::string(absl::StrCat(
      "SELECT ", absl::StrCat("r.", absl::StrJoin(absl::StrSplit(kRecordColumns, ", "), ", r.")),
      " FROM records r WHERE r.verdict = 'place' AND r.seq > ? AND +r.kind = 0 AND "
      "+r.job_id = 0 AND r.caller LIKE '% via job_submit/sovereign' AND NOT EXISTS (SELECT 1 "
      "FROM records o WHERE o.decision_id = r.decision_id AND o.kind IN ",
      BindingKinds(), ") ORDER BY r.seq LIMIT ?"));
  Statement st = Prepare(*kSql);
  if (st == nullptr) {
    return Error(sqlite3_errcode(db_), "cannot prepare the unexplained placements");
  }
  sqlite3_bind_int64(st, 1, after_seq);
  sqlite3_bind_int(st, 2, limit);
  return Collect(st, "cannot read the unexplained placements");
}

VerifyReport VerifyChain(Db& db, const std::string& trusted_public_pem) {
  VerifyReport report;
  sqlite3_stmt* st = nullptr;
  int rc = sqlite3_prepare_v2(
      db.raw(), absl::StrCat("SELECT ", kRecordColumns, " FROM records ORDER BY seq").c_str(), -1,
      &st, nullptr);
  if (rc != SQLITE_OK) {
    report.problem = std::string(db.Error(rc, "cannot read records").message());
    return report;
  }
  // Only the hashes the checkpoints sign are kept while scanning, not every record's: a log may
  // hold millions of records. A checkpoint table that cannot be read is reported after the scan.
  absl::StatusOr<std::vector<Checkpoint>> checkpoints = db.Checkpoints();
  absl::flat_hash_map<int64_t, std::string> signed_hash;  // checkpoint count -> that record's hash
  if (checkpoints.ok()) {
    for (const Checkpoint& c : *checkpoints) {
      signed_hash.emplace(c.count, c.count == 0 ? std::string(chain::kGenesis) : std::string());
    }
  }
  std::string prev_hash = chain::kGenesis;
  int64_t expected = 1;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    AuditRecord r = ReadRecord(st);
    auto fail = [&](std::string problem) {
      report.first_bad_seq = r.seq;
      report.problem = std::move(problem);
    };
    if (r.seq != expected) {
      fail(absl::StrCat("record ", expected, " is missing (records jump from ", expected - 1,
                        " to ", r.seq, "): a record was deleted"));
      report.first_bad_seq = expected;
      break;
    }
    if (r.prev_hash != prev_hash) {
      fail(absl::StrCat("record ", r.seq, ": prev_hash does not match record ", r.seq - 1,
                        " (a record was deleted, inserted or reordered)"));
      break;
    }
    if (chain::RecordHash(r.prev_hash, r) != r.hash) {
      fail(absl::StrCat("record ", r.seq, ": hash mismatch (content changed after it was written)"));
      break;
    }
    if (auto it = signed_hash.find(r.seq); it != signed_hash.end()) {
      it->second = r.hash;
    }
    prev_hash = std::move(r.hash);
    ++expected;
    ++report.records_checked;
  }
  sqlite3_finalize(st);
  if (!report.problem.empty()) {
    return report;
  }
  if (rc != SQLITE_DONE) {
    report.problem = std::string(db.Error(rc, "cannot read records").message());
    return report;
  }
  if (!checkpoints.ok()) {
    report.problem = std::string(checkpoints.status().message());
    return report;
  }
  const int64_t last = expected - 1;
  for (size_t i = 0; i < checkpoints->size(); ++i) {
    const Checkpoint& c = (*checkpoints)[i];
    const size_t n = i + 1;
    absl::StatusOr<bool> good = chain::VerifySignature(
        trusted_public_pem, chain::CheckpointBytes(c.count, c.head_hash, absl::ToUnixMicros(c.time)),
        c.signature);
    if (!good.ok()) {
      report.problem = std::string(good.status().message());
      return report;
    }
    if (!*good) {
      report.problem = absl::StrCat("checkpoint ", n,
                                    ": signature does not verify with the trusted public key");
      return report;
    }
    if (c.count > last) {
      report.first_bad_seq = last + 1;
      report.problem = absl::StrCat("records end at ", last, " but checkpoint ", n, " covers ",
                                    c.count, " (records were deleted)");
      return report;
    }
    if (signed_hash[c.count] != c.head_hash) {
      report.first_bad_seq = c.count;
      report.problem = absl::StrCat("checkpoint ", n, ": record ", c.count,
                                    " is not the one that was signed (the chain was rewritten)");
      return report;
    }
    ++report.checkpoints_checked;
  }
  report.ok = true;
  return report;
}

}  // namespace sovereign::audit::sqlite
