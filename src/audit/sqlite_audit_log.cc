// AuditLog on SQLite (WAL).
//
// With Sync::kNormal each Append() commits its own transaction under the write lock. With
// Sync::kFull one writer thread owns the commits: Append() queues its record and waits; the writer
// takes everything queued (with Sync::kFull it first waits up to commit_window for more, so that
// concurrent callers share one fsync), appends the batch in one transaction, and only then
// answers each caller. A failed transaction (disk full, I/O error) is rolled back whole and
// every caller in it gets the error: nothing is half-written and the chain head is unchanged.
// Readers use their own connection; WAL lets them read while the writer writes.
#include <sqlite3.h>

#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "chain.h"
#include "sqlite_util.h"

namespace sovereign::audit {
namespace {

constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, decision_id TEXT NOT NULL,
  time_us INTEGER NOT NULL, caller TEXT NOT NULL, user TEXT NOT NULL, account TEXT NOT NULL,
  datasets TEXT NOT NULL, region TEXT NOT NULL, partition TEXT NOT NULL, verdict TEXT NOT NULL,
  job_id INTEGER NOT NULL, register_version TEXT NOT NULL, body TEXT NOT NULL,
  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS records_decision ON records(decision_id) WHERE kind = 0;
CREATE INDEX IF NOT EXISTS records_user ON records(user, seq);
CREATE INDEX IF NOT EXISTS records_account ON records(account, seq);
CREATE INDEX IF NOT EXISTS records_region ON records(region, seq);
CREATE INDEX IF NOT EXISTS records_partition ON records(partition, seq);
CREATE INDEX IF NOT EXISTS records_verdict ON records(verdict, seq);
CREATE INDEX IF NOT EXISTS records_job ON records(job_id, seq);
CREATE INDEX IF NOT EXISTS records_time ON records(time_us);
CREATE TABLE IF NOT EXISTS record_datasets (
  dataset TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (dataset, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
  id INTEGER PRIMARY KEY, count INTEGER NOT NULL, head_hash TEXT NOT NULL,
  time_us INTEGER NOT NULL, signature TEXT NOT NULL, public_key TEXT NOT NULL);
)sql";

class SqliteAuditLog : public AuditLog {
 public:
  explicit SqliteAuditLog(AuditOptions options) : options_(std::move(options)) {}
  ~SqliteAuditLog() override;

  absl::Status Init();
  absl::StatusOr<AuditRecord> Append(AuditRecord record) override;
  absl::StatusOr<AuditRecord> Get(const std::string& decision_id) override;
  absl::StatusOr<std::vector<AuditRecord>> List(const AuditQuery& query) override;
  absl::StatusOr<std::vector<AuditRecord>> Range(int64_t first, int64_t last) override;
  int64_t HeadSeq() override;
  int64_t WaitForAppend(int64_t after_seq, absl::Time deadline) override;
  absl::StatusOr<Checkpoint> MakeCheckpoint() override;
  absl::StatusOr<std::optional<Checkpoint>> LatestCheckpoint() override;
  VerifyReport Verify() override;

 private:
  struct Pending {
    AuditRecord record;
    std::promise<absl::StatusOr<AuditRecord>> done;
  };
  void WriterLoop();
  void CommitBatch(std::vector<Pending*>& batch);
  absl::StatusOr<Checkpoint> CheckpointLocked();  // writer connection, caller holds write_mu_

  const AuditOptions options_;
  sqlite::Db write_db_, read_db_;
  std::unique_ptr<chain::Signer> signer_;

  std::mutex write_mu_;  // the write connection and the head
  int64_t head_seq_ = 0;
  std::string head_hash_ = chain::kGenesis;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::deque<Pending*> queue_;
  bool stop_ = false;
  std::thread writer_;

  std::mutex head_mu_;  // published head for WaitForAppend
  std::condition_variable head_cv_;
  int64_t published_head_ = 0;

  std::mutex read_mu_;
};

SqliteAuditLog::~SqliteAuditLog() {
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    stop_ = true;
  }
  queue_cv_.notify_all();
  if (writer_.joinable()) {
    writer_.join();
  }
}

absl::Status SqliteAuditLog::Init() {
  if (absl::Status s = write_db_.Open(options_.path, /*read_only=*/false); !s.ok()) {
    return s;
  }
  const char* sync = options_.sync == Sync::kFull ? "FULL" : "NORMAL";
  for (const std::string& sql :
       {std::string("PRAGMA journal_mode=WAL"), absl::StrCat("PRAGMA synchronous=", sync),
        std::string("PRAGMA busy_timeout=5000")}) {
    if (absl::Status s = write_db_.Exec(sql); !s.ok()) {
      return s;
    }
  }
  // A database that is some other program's, or a newer sovereign's, is not touched.
  absl::StatusOr<std::optional<std::string>> version = write_db_.MetaValue("schema_version");
  if (version.ok() && version->has_value() && **version != absl::StrCat(kSchemaVersion)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit log ", options_.path, " has schema version ", **version,
        "; this sovereignd reads version ", kSchemaVersion));
  }
  if (!version.ok() && write_db_.HasTables()) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit log ", options_.path, " is a SQLite database but not an audit log"));
  }
  if (absl::Status s = write_db_.Exec(kSchema); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<chain::Signer>> signer =
      chain::Signer::LoadOrCreate(options_.signing_key_path);
  if (!signer.ok()) {
    return signer.status();
  }
  signer_ = *std::move(signer);
  if (absl::Status s = write_db_.SetMeta("schema_version", absl::StrCat(kSchemaVersion)); !s.ok()) {
    return s;
  }
  if (absl::Status s = write_db_.SetMeta("public_key", signer_->public_pem()); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::pair<int64_t, std::string>> head = write_db_.Head();
  if (!head.ok()) {
    return head.status();
  }
  if (head->first > 0) {
    head_seq_ = head->first;
    head_hash_ = head->second;
  }
  published_head_ = head_seq_;
  if (absl::Status s = read_db_.Open(options_.path, /*read_only=*/true); !s.ok()) {
    return s;
  }
  writer_ = std::thread([this] { WriterLoop(); });
  return absl::OkStatus();
}

absl::StatusOr<AuditRecord> SqliteAuditLog::Append(AuditRecord record) {
  Pending p{std::move(record), {}};
  std::future<absl::StatusOr<AuditRecord>> result = p.done.get_future();
  if (options_.sync == Sync::kNormal) {
    // No fsync to share: the caller writes its own transaction, without a hand-off to the
    // writer thread (two context switches on the path every Decide waits on).
    std::vector<Pending*> batch = {&p};
    CommitBatch(batch);
    return result.get();
  }
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    if (stop_) {
      return absl::UnavailableError("audit log is closing");
    }
    queue_.push_back(&p);
  }
  queue_cv_.notify_one();
  return result.get();
}

void SqliteAuditLog::WriterLoop() {
  std::unique_lock<std::mutex> lock(queue_mu_);
  while (true) {
    queue_cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
    if (queue_.empty() && stop_) {
      return;
    }
    if (options_.sync == Sync::kFull && options_.commit_window.count() > 0) {
      // Let concurrent callers join this fsync.
      queue_cv_.wait_for(lock, options_.commit_window,
                         [this] { return stop_ || queue_.size() >= 512; });
    }
    std::vector<Pending*> batch(queue_.begin(), queue_.end());
    queue_.clear();
    lock.unlock();
    CommitBatch(batch);
    lock.lock();
  }
}

void SqliteAuditLog::CommitBatch(std::vector<Pending*>& batch) {
  std::lock_guard<std::mutex> lock(write_mu_);
  int64_t seq = head_seq_;
  std::string hash = head_hash_;
  std::vector<absl::StatusOr<AuditRecord>> results;
  results.reserve(batch.size());
  absl::flat_hash_map<std::string, size_t> in_batch;  // decision id -> index in results
  absl::Status failed = write_db_.Exec("BEGIN IMMEDIATE");
  for (size_t i = 0; failed.ok() && i < batch.size(); ++i) {
    AuditRecord& r = batch[i]->record;
    if (r.kind == RecordKind::kDecision) {
      if (auto it = in_batch.find(r.decision_id); it != in_batch.end()) {
        results.push_back(results[it->second]);
        continue;
      }
      absl::StatusOr<std::optional<AuditRecord>> existing = write_db_.FindDecision(r.decision_id);
      if (!existing.ok()) {
        failed = existing.status();
        break;
      }
      if (existing->has_value()) {
        results.push_back(**existing);  // exactly once: the stored record comes back
        continue;
      }
      in_batch[r.decision_id] = results.size();
    }
    r.seq = ++seq;
    r.prev_hash = hash;
    r.hash = chain::RecordHash(hash, r);
    hash = r.hash;
    failed = write_db_.InsertRecord(r);
    results.push_back(r);
  }
  if (failed.ok()) {
    failed = write_db_.Exec("COMMIT");
  }
  if (!failed.ok()) {
    write_db_.Exec("ROLLBACK").IgnoreError();
    absl::Status s = failed.code() == absl::StatusCode::kResourceExhausted
                         ? absl::ResourceExhaustedError(absl::StrCat(
                               "audit log ", options_.path,
                               ": disk full, the decision was not recorded (", failed.message(), ")"))
                         : absl::InternalError(absl::StrCat("audit log ", options_.path,
                                                            ": cannot append: ", failed.message()));
    for (Pending* p : batch) {
      p->done.set_value(s);
    }
    return;
  }
  const int64_t before = head_seq_;
  head_seq_ = seq;
  head_hash_ = hash;
  if (options_.checkpoint_interval > 0 &&
      head_seq_ / options_.checkpoint_interval > before / options_.checkpoint_interval) {
    CheckpointLocked().IgnoreError();  // a failed checkpoint is retried at the next interval
  }
  {
    std::lock_guard<std::mutex> hl(head_mu_);
    published_head_ = head_seq_;
  }
  // Answer only now: a caller that sees its record acknowledged also sees the head past it.
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i]->done.set_value(std::move(results[i]));
  }
  head_cv_.notify_all();
}

absl::StatusOr<Checkpoint> SqliteAuditLog::CheckpointLocked() {
  Checkpoint c;
  c.count = head_seq_;
  c.head_hash = head_hash_;
  c.time = absl::Now();
  absl::StatusOr<std::string> sig =
      signer_->Sign(chain::CheckpointBytes(c.count, c.head_hash, absl::ToUnixMicros(c.time)));
  if (!sig.ok()) {
    return sig.status();
  }
  c.signature = *sig;
  c.public_key = signer_->public_pem();
  if (absl::Status s = write_db_.InsertCheckpoint(c); !s.ok()) {
    return s;
  }
  return c;
}

absl::StatusOr<Checkpoint> SqliteAuditLog::MakeCheckpoint() {
  std::lock_guard<std::mutex> lock(write_mu_);
  return CheckpointLocked();
}

absl::StatusOr<std::optional<Checkpoint>> SqliteAuditLog::LatestCheckpoint() {
  std::lock_guard<std::mutex> lock(read_mu_);
  return read_db_.LatestCheckpoint();
}

absl::StatusOr<AuditRecord> SqliteAuditLog::Get(const std::string& decision_id) {
  std::lock_guard<std::mutex> lock(read_mu_);
  absl::StatusOr<std::optional<AuditRecord>> r = read_db_.FindDecision(decision_id);
  if (!r.ok()) {
    return r.status();
  }
  if (!r->has_value()) {
    return absl::NotFoundError(absl::StrCat("no decision with id \"", decision_id, "\" in the log"));
  }
  return **r;
}

absl::StatusOr<std::vector<AuditRecord>> SqliteAuditLog::List(const AuditQuery& query) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return read_db_.Query(query);
}

absl::StatusOr<std::vector<AuditRecord>> SqliteAuditLog::Range(int64_t first, int64_t last) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return read_db_.Range(first, last);
}

int64_t SqliteAuditLog::HeadSeq() {
  std::lock_guard<std::mutex> lock(head_mu_);
  return published_head_;
}

int64_t SqliteAuditLog::WaitForAppend(int64_t after_seq, absl::Time deadline) {
  std::unique_lock<std::mutex> lock(head_mu_);
  while (published_head_ <= after_seq) {
    absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      break;
    }
    head_cv_.wait_for(lock, absl::ToChronoMicroseconds(std::min(left, absl::Seconds(1))));
  }
  return published_head_;
}

VerifyReport SqliteAuditLog::Verify() {
  std::lock_guard<std::mutex> lock(read_mu_);
  return sqlite::VerifyChain(read_db_, signer_->public_pem());
}

}  // namespace

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const AuditOptions& options) {
  auto log = std::make_unique<SqliteAuditLog>(options);
  if (absl::Status s = log->Init(); !s.ok()) {
    return s;
  }
  return std::unique_ptr<AuditLog>(std::move(log));
}

VerifyReport VerifyDatabase(const std::string& db_path, const std::string& public_key_pem) {
  sqlite::Db db;
  if (absl::Status s = db.Open(db_path, /*read_only=*/true); !s.ok()) {
    VerifyReport r;
    r.problem = std::string(s.message());
    return r;
  }
  return sqlite::VerifyChain(db, public_key_pem);
}

}  // namespace sovereign::audit
