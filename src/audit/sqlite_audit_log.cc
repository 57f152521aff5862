// AuditLog on SQLite (WAL).
//
// Appends are grouped into transactions. When the log is idle, an append writes its own
// transaction on the caller's thread (no hand-off on the path a lone caller, like one
// slurmctld, waits on). Appends that arrive while a transaction is being written queue up; the
// writer thread takes everything queued as the next transaction (with Sync::kFull it first waits
// up to commit_window for more, so that concurrent callers share one fsync) and then answers
// each caller. A failed transaction (disk full, I/O error) is rolled back whole and every caller
// in it gets the error: nothing is half-written and the chain head is unchanged.
//
// WAL checkpoints (copying committed pages back into the database file, with an fsync) run on
// their own thread and connection instead of inside whichever commit crosses SQLite's
// auto-checkpoint threshold. Readers use their own connection; WAL lets them read while the
// writer writes.
#include <spdlog/spdlog.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "chain.h"
#include "sovereign/file_io.h"
#include "sovereign/file_modes.h"
#include "sqlite_util.h"
#include "wal_coalesce.h"

namespace sovereign::audit {
namespace {

// 1: the first. 2: records_decision_all indexes every record by decision id (a decision and
// its attestations and outcomes are found without a scan); logs of version 1 are migrated when
// opened.
constexpr int kSchemaVersion = 2;

// A WAL checkpoint is asked for each time the WAL has grown by this many pages (about 4 MiB,
// SQLite's default auto-checkpoint size) ...
constexpr int kWalCheckpointFrames = 1000;
// ... and made to restart the WAL, holding the writer back meanwhile, past this many (64 MiB).
constexpr int kWalRestartFrames = 16384;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS records (
  seq INTEGER PRIMARY KEY, kind INTEGER NOT NULL, decision_id TEXT NOT NULL,
  time_us INTEGER NOT NULL, caller TEXT NOT NULL, user TEXT NOT NULL, account TEXT NOT NULL,
  datasets TEXT NOT NULL, region TEXT NOT NULL, partition TEXT NOT NULL, verdict TEXT NOT NULL,
  job_id INTEGER NOT NULL, register_version TEXT NOT NULL, body TEXT NOT NULL,
  prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS records_decision ON records(decision_id) WHERE kind = 0;
CREATE INDEX IF NOT EXISTS records_decision_all ON records(decision_id, seq);
DROP INDEX IF EXISTS records_attestation;
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
  void AppendAsync(AuditRecord record, AppendDone done) override;
  absl::StatusOr<std::vector<AuditRecord>> AppendAll(std::vector<AuditRecord> records) override;
  CommitStats GetCommitStats() override;
  absl::StatusOr<AuditRecord> Get(const std::string& decision_id) override;
  absl::StatusOr<std::vector<AuditRecord>> List(const AuditQuery& query) override;
  absl::StatusOr<std::vector<AuditRecord>> Range(int64_t first, int64_t last) override;
  absl::StatusOr<bool> HasRegion(const std::string& region) override;
  absl::StatusOr<std::vector<AuditRecord>> UnexplainedPlacements(int64_t after_seq,
                                                                 int limit) override;
  int64_t HeadSeq() override;
  int64_t WaitForAppend(int64_t after_seq, absl::Time deadline) override;
  absl::StatusOr<Checkpoint> MakeCheckpoint() override;
  absl::StatusOr<std::optional<Checkpoint>> LatestCheckpoint() override;
  VerifyReport Verify() override;

 private:
  struct Pending {
    AuditRecord record;
    AppendDone done;
  };
  void WriterLoop();
  // Writes `batch` as one transaction and answers every caller in it.
  void CommitBatch(std::vector<Pending>& batch);
  // Runs WAL checkpoints when the writer says the WAL has grown.
  void CheckpointLoop();
  static int OnWalCommit(void* self, sqlite3* db, const char* name, int frames);
  absl::StatusOr<Checkpoint> CheckpointLocked();  // writer connection, caller holds write_mu_

  const AuditOptions options_;
  sqlite::Db write_db_, read_db_;
  std::unique_ptr<chain::Signer> signer_;

  std::mutex write_mu_;  // the write connection and the head
  int64_t head_seq_ = 0;
  std::string head_hash_ = chain::kGenesis;

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Pending> queue_;
  bool committing_ = false;  // a transaction is being written (by a caller or the writer)
  bool stop_ = false;
  std::thread writer_;
  CommitStats stats_;  // guarded by write_mu_

  sqlite::Db checkpoint_db_;
  std::mutex wal_mu_;
  std::condition_variable wal_cv_;
  bool wal_grown_ = false;
  std::atomic<int> wal_frames_{0};  // WAL size after the last commit, in pages
  // The WAL size at which the next checkpoint is asked for.
  std::atomic<int> wal_checkpoint_at_{kWalCheckpointFrames};
  bool wal_stop_ = false;
  std::thread checkpointer_;

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
  {
    std::lock_guard<std::mutex> lock(wal_mu_);
    wal_stop_ = true;
  }
  wal_cv_.notify_all();
  if (checkpointer_.joinable()) {
    checkpointer_.join();
  }
}

absl::Status SqliteAuditLog::Init() {
  // Only sovereignd reads the log and holds the key: both are its user's alone, whatever the
  // umask, and an older build's looser files are tightened.
  ModeNotes notes;
  PrepareDatabaseFiles(options_.path, kPrivateFileMode, "audit log", &notes);
  RestrictFileMode(options_.signing_key_path, kPrivateFileMode, "audit signing key", &notes);
  for (const std::string& note : notes) {
    spdlog::warn("{}", note);
  }
  // The writer's WAL frames go to the kernel in one write per transaction (wal_coalesce.h).
  if (absl::Status s = write_db_.Open(options_.path, /*read_only=*/false,
                                      sqlite::CoalescingWalVfs());
      !s.ok()) {
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
  int stored_version = 0;
  if (version.ok() && version->has_value() &&
      (!absl::SimpleAtoi(**version, &stored_version) || stored_version < 1 ||
       stored_version > kSchemaVersion)) {
    return absl::FailedPreconditionError(absl::StrCat(
        "audit log ", options_.path, " has schema version ", **version,
        "; this sovereignd reads versions 1 to ", kSchemaVersion));
  }
  if (!version.ok() && write_db_.HasTables()) {
    return absl::FailedPreconditionError(
        absl::StrCat("audit log ", options_.path, " is a SQLite database but not an audit log"));
  }
  // Creates a new log, or brings an older one up to date (indexes only: the records and their
  // hashes are never rewritten).
  if (absl::Status s = write_db_.Exec(kSchema); !s.ok()) {
    return s;
  }
  if (stored_version > 0 && stored_version < kSchemaVersion) {
    spdlog::info("audit log {}: schema version {} brought to {} (records indexed by decision id)",
                 options_.path, stored_version, kSchemaVersion);
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
  if (absl::Status s = checkpoint_db_.Open(options_.path, /*read_only=*/false); !s.ok()) {
    return s;
  }
  // Replaces SQLite's auto-checkpoint, which would run inside the committing append.
  sqlite3_wal_hook(write_db_.raw(), &SqliteAuditLog::OnWalCommit, this);
  writer_ = std::thread([this] { WriterLoop(); });
  checkpointer_ = std::thread([this] { CheckpointLoop(); });
  return absl::OkStatus();
}

void SqliteAuditLog::AppendAsync(AuditRecord record, AppendDone done) {
  std::unique_lock<std::mutex> lock(queue_mu_);
  if (stop_) {
    lock.unlock();
    done(absl::UnavailableError("audit log is closing"));
    return;
  }
  if (options_.sync == Sync::kNormal && !committing_ && queue_.empty()) {
    // Idle, and no fsync to share: write it here.
    committing_ = true;
    lock.unlock();
    std::vector<Pending> batch;
    batch.push_back(Pending{std::move(record), std::move(done)});
    CommitBatch(batch);
    return;
  }
  queue_.push_back(Pending{std::move(record), std::move(done)});
  bool wake = !committing_;
  lock.unlock();
  if (wake) {
    queue_cv_.notify_one();
  }
}

absl::StatusOr<std::vector<AuditRecord>> SqliteAuditLog::AppendAll(
    std::vector<AuditRecord> records) {
  if (records.empty()) {
    return std::vector<AuditRecord>{};
  }
  std::vector<absl::StatusOr<AuditRecord>> results(records.size(),
                                                   absl::InternalError("not answered"));
  std::vector<Pending> batch;
  batch.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    batch.push_back(Pending{std::move(records[i]), [&results, i](absl::StatusOr<AuditRecord> r) {
                              results[i] = std::move(r);
                            }});
  }
  {
    // Take the writer's turn: the transaction is written here, between the writer thread's.
    std::unique_lock<std::mutex> lock(queue_mu_);
    queue_cv_.wait(lock, [this] { return stop_ || !committing_; });
    if (stop_) {
      return absl::UnavailableError("audit log is closing");
    }
    committing_ = true;
  }
  CommitBatch(batch);
  std::vector<AuditRecord> stored;
  stored.reserve(results.size());
  for (absl::StatusOr<AuditRecord>& r : results) {
    if (!r.ok()) {
      return r.status();  // a failed transaction fails every record in it alike
    }
    stored.push_back(*std::move(r));
  }
  return stored;
}

CommitStats SqliteAuditLog::GetCommitStats() {
  std::lock_guard<std::mutex> lock(write_mu_);
  return stats_;
}

void SqliteAuditLog::WriterLoop() {
  std::unique_lock<std::mutex> lock(queue_mu_);
  while (true) {
    queue_cv_.wait(lock, [this] { return !committing_ && (stop_ || !queue_.empty()); });
    if (queue_.empty()) {
      return;  // stopping, and nothing left to write
    }
    committing_ = true;
    if (options_.sync == Sync::kFull && options_.commit_window.count() > 0) {
      // Let concurrent callers join this fsync.
      queue_cv_.wait_for(lock, options_.commit_window,
                         [this] { return stop_ || queue_.size() >= 512; });
    }
    std::vector<Pending> batch = std::move(queue_);
    queue_.clear();
    lock.unlock();
    CommitBatch(batch);
    lock.lock();
  }
}

void SqliteAuditLog::CommitBatch(std::vector<Pending>& batch) {
  std::vector<absl::StatusOr<AuditRecord>> results;
  results.reserve(batch.size());
  {
    std::lock_guard<std::mutex> lock(write_mu_);
    int64_t seq = head_seq_;
    std::string hash = head_hash_;
    absl::flat_hash_map<std::string, size_t> in_batch;  // decision id -> index in results
    int64_t already_logged = 0;
    absl::Status failed = write_db_.Run("BEGIN IMMEDIATE");
    for (size_t i = 0; failed.ok() && i < batch.size(); ++i) {
      AuditRecord& r = batch[i].record;
      if (r.kind == RecordKind::kDecision) {
        if (auto it = in_batch.find(r.decision_id); it != in_batch.end()) {
          results.push_back(results[it->second]);
          ++already_logged;
          continue;
        }
        absl::StatusOr<std::optional<AuditRecord>> existing =
            write_db_.FindDecision(r.decision_id);
        if (!existing.ok()) {
          failed = existing.status();
          break;
        }
        if (existing->has_value()) {
          results.push_back(**existing);  // exactly once: the stored record comes back
          ++already_logged;
          continue;
        }
        in_batch[r.decision_id] = results.size();
      }
      r.seq = ++seq;
      r.prev_hash = hash;
      r.hash = chain::RecordHash(hash, r);
      hash = r.hash;
      failed = write_db_.InsertRecord(r);
      results.push_back(std::move(r));  // the caller's record, not a copy of its body
    }
    if (failed.ok()) {
      failed = write_db_.Run("COMMIT");
    }
    if (!failed.ok()) {
      write_db_.Run("ROLLBACK").IgnoreError();
      // SQLite's own text for a full disk ("database or disk is full") says neither which
      // file nor what to do: the admin is told both.
      absl::Status s =
          failed.code() == absl::StatusCode::kResourceExhausted
              ? absl::ResourceExhaustedError(absl::StrCat(
                    "audit log ", options_.path,
                    ": no space left on device: nothing written; free space on the filesystem "
                    "holding ",
                    DirectoryOf(options_.path)))
              : absl::InternalError(absl::StrCat("audit log ", options_.path,
                                                 ": cannot append: ", failed.message()));
      results.assign(batch.size(), s);
    } else {
      const int64_t before = head_seq_;
      if (seq > before) {
        ++stats_.transactions;  // a transaction of records already logged wrote nothing
      }
      stats_.records += seq - before;
      stats_.already_logged += already_logged;
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
    }
  }
  head_cv_.notify_all();
  // The next transaction may start while this one's callers are answered. Every waiter is
  // woken: the writer thread when appends queued, an AppendAll waiting for its turn either way.
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    committing_ = false;
  }
  queue_cv_.notify_all();
  // Answer only now: a caller that sees its record acknowledged also sees the head past it.
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].done(std::move(results[i]));
  }
}

int SqliteAuditLog::OnWalCommit(void* self, sqlite3* /*db*/, const char* /*name*/, int frames) {
  auto* log = static_cast<SqliteAuditLog*>(self);
  int before = log->wal_frames_.exchange(frames, std::memory_order_relaxed);
  if (frames < before) {
    // The WAL started afresh: count from its beginning.
    log->wal_checkpoint_at_.store(kWalCheckpointFrames, std::memory_order_relaxed);
  }
  if (frames >= log->wal_checkpoint_at_.load(std::memory_order_relaxed)) {
    // Asked once per kWalCheckpointFrames of growth: a checkpoint costs two fsyncs, and one
    // asked for on every commit past the threshold keeps the disk busy under the writer.
    log->wal_checkpoint_at_.store(frames + kWalCheckpointFrames, std::memory_order_relaxed);
    {
      std::lock_guard<std::mutex> lock(log->wal_mu_);
      log->wal_grown_ = true;
    }
    log->wal_cv_.notify_one();
  }
  return SQLITE_OK;
}

void SqliteAuditLog::CheckpointLoop() {
  std::unique_lock<std::mutex> lock(wal_mu_);
  while (true) {
    wal_cv_.wait(lock, [this] { return wal_stop_ || wal_grown_; });
    bool stopping = wal_stop_;
    wal_grown_ = false;
    lock.unlock();
    // PASSIVE never blocks the writer, and SQLite starts the WAL afresh once a checkpoint has
    // copied everything in it. Under sustained load that never happens (every checkpoint ends
    // with newer pages behind it) and the WAL, and every look-up in it, keeps growing: past
    // kWalRestartFrames the writer is held back while a RESTART checkpoint copies what is left,
    // so that the next transaction starts the WAL from its beginning. At close, TRUNCATE
    // leaves no WAL behind.
    int log_frames = 0, done_frames = 0;
    int rc;
    if (stopping || wal_frames_.load(std::memory_order_relaxed) >= kWalRestartFrames) {
      std::lock_guard<std::mutex> writer(write_mu_);
      rc = sqlite3_wal_checkpoint_v2(
          checkpoint_db_.raw(), nullptr,
          stopping ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_RESTART, &log_frames,
          &done_frames);
      wal_frames_.store(0, std::memory_order_relaxed);
      wal_checkpoint_at_.store(kWalCheckpointFrames, std::memory_order_relaxed);
    } else {
      rc = sqlite3_wal_checkpoint_v2(checkpoint_db_.raw(), nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                     &log_frames, &done_frames);
    }
    if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
      // Disk full or I/O error: the WAL keeps the records; the next commit asks again.
      spdlog::warn("{}", std::string(checkpoint_db_.Error(rc, "WAL checkpoint").message()));
    }
    if (stopping) {
      return;
    }
    lock.lock();
  }
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

absl::StatusOr<bool> SqliteAuditLog::HasRegion(const std::string& region) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return read_db_.HasRegion(region);
}

absl::StatusOr<std::vector<AuditRecord>> SqliteAuditLog::UnexplainedPlacements(int64_t after_seq,
                                                                               int limit) {
  std::lock_guard<std::mutex> lock(read_mu_);
  return read_db_.UnexplainedPlacements(after_seq, limit);
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

absl::StatusOr<AuditRecord> AuditLog::Append(AuditRecord record) {
  std::promise<absl::StatusOr<AuditRecord>> result;
  std::future<absl::StatusOr<AuditRecord>> future = result.get_future();
  AppendAsync(std::move(record),
              [&result](absl::StatusOr<AuditRecord> stored) { result.set_value(std::move(stored)); });
  return future.get();
}

absl::StatusOr<std::unique_ptr<AuditLog>> AuditLog::Open(const AuditOptions& options) {
  auto log = std::make_unique<SqliteAuditLog>(options);
  if (absl::Status s = log->Init(); !s.ok()) {
    return s;
  }
  return std::unique_ptr<AuditLog>(std::move(log));
}

absl::StatusOr<VerifyReport> VerifyDatabaseCopy(const std::string& db_path,
                                                const std::string& public_key_pem) {
  sqlite::Db db;
  struct stat wal;
  // Without a -wal beside it the file is the whole log (a .backup copy): read it as immutable,
  // so that verifying writes nothing beside the evidence.
  absl::Status opened = stat((db_path + "-wal").c_str(), &wal) == 0
                            ? db.Open(db_path, /*read_only=*/true)
                            : db.OpenImmutable(db_path);
  if (!opened.ok()) {
    return opened;
  }
  return sqlite::VerifyChain(db, public_key_pem);
}

VerifyReport VerifyDatabase(const std::string& db_path, const std::string& public_key_pem) {
  absl::StatusOr<VerifyReport> report = VerifyDatabaseCopy(db_path, public_key_pem);
  if (!report.ok()) {
    VerifyReport r;
    r.problem = std::string(report.status().message());
    return r;
  }
  return *std::move(report);
}

}  // namespace sovereign::audit
