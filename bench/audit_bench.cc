// Benchmarks of the decision log, each beside a baseline measured in the same run:
//   insert_baseline/{normal,full}      one raw SQLite INSERT per transaction (same row, WAL)
//   append/{normal,full}               AuditLog::Append latency from one thread
//   append_throughput/{normal,full}    Append from 1, 4 and 16 threads (group commit)
//   read_rows_baseline                 reading 100 records by primary key
//   list_by_dataset/{common,rare,deep} ListDecisions filtered by one dataset, 100 newest
//   list_by_dataset_cold/{common,rare} the same, first query after a restart with the file
//                                      evicted from the page cache
//   list_by_decision/{indexed,schema1} ListDecisions --decision: a decision and its records
//   show/{indexed,schema1}             GetDecision: the decision and its bound records
//                                      (schema1: the list DB without the index over every
//                                      record's decision id, as schema version 1 had it)
//   verify                             Verify() over the whole list DB, per record
// At the end a table gives each result as a ratio to its baseline.
//
// Extra flags (before Google Benchmark's own):
//   --audit_records=N     size of the DB the list and verify benchmarks build (default 100000)
//   --audit_db=PATH       run the list/verify benchmarks on an existing DB instead (see below)
//   --audit_generate=PATH load-generator mode: append records to the log at PATH until it holds
//                         --audit_records of them (resumes), with --audit_threads appenders
//                         (default 8), print the rate, and exit.
//   --audit_dir=DIR       where temporary databases go (default: a new directory in /tmp)
#include <fcntl.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "bench_flags.h"
#include "benchmark/benchmark.h"
#include "sovereign/audit_log.h"

namespace sovereign::audit {
namespace {

using ::sovereign::bench::TakeFlag;

struct Flags {
  int64_t records = 100000;
  int threads = 8;
  std::string db;
  std::string generate;
  std::string dir;
} flags;

std::atomic<int64_t> next_id{0};

// A plausible decision: 1-3 datasets (ds-common in 20% of records, ds-rare in 0.1%), 1000 users,
// 100 accounts, 5 regions, 20 partitions, a ~700-byte body with four scored candidates.
AuditRecord MakeRecord(std::mt19937_64& rng) {
  int64_t id = next_id.fetch_add(1);
  std::uniform_int_distribution<int> pct(0, 999);
  AuditRecord r;
  r.decision_id = absl::StrFormat("%016x-%d", rng(), id);
  r.caller = "uid=0(slurm) via plugin";
  r.user = absl::StrFormat("u%04d", rng() % 1000);
  r.account = absl::StrFormat("acct-%02d", rng() % 100);
  r.datasets.push_back(absl::StrFormat("ds-%02d", 1 + rng() % 48));
  if (pct(rng) < 200) {
    r.datasets.push_back("ds-common");
  }
  if (pct(rng) < 1) {
    r.datasets.push_back("ds-rare");
  }
  r.region = absl::StrCat("region-", rng() % 5);
  r.partition = absl::StrCat("gpu-", rng() % 20);
  r.verdict = pct(rng) < 950 ? "place" : "reject";
  r.register_version = "3f9a1c";
  std::string candidates;
  for (int c = 0; c < 4; ++c) {
    absl::StrAppend(
        &candidates, c ? "," : "",
        absl::StrFormat(R"({"partition":"gpu-%d","region":"region-%d","jobs_per_kwh":%.3f,)"
                        R"("carbon_g_per_kwh":%d,"load":%.2f,"eligible":true})",
                        c, c % 5, 0.5 + c * 0.25, 120 + c * 30, 0.1 * c));
  }
  r.body_json = absl::StrCat(R"({"request":{"user":")", r.user, R"(","gpus":4,"gpu_type":"a100",)",
                             R"("time_limit_s":86400,"datasets":[")", r.datasets[0],
                             R"("]},"decision":{"verdict":")", r.verdict,
                             R"(","partition":"gpu-0"},"candidates":[)", candidates, "]}");
  return r;
}

std::string TempDirectory() {
  std::string base =
      flags.dir.empty() ? std::filesystem::temp_directory_path().string() : flags.dir;
  std::string pattern = base + "/audit-bench-XXXXXX";
  return ::mkdtemp(pattern.data());
}

// A log in a fresh directory, removed afterwards.
class ScratchLog {
 public:
  explicit ScratchLog(Sync sync) : dir_(TempDirectory()) {
    AuditOptions o;
    o.path = dir_ + "/audit.db";
    o.signing_key_path = dir_ + "/key.pem";
    o.sync = sync;
    log_ = *AuditLog::Open(o);
  }
  ~ScratchLog() {
    log_.reset();
    std::filesystem::remove_all(dir_);
  }
  AuditLog& log() { return *log_; }

 private:
  std::string dir_;
  std::unique_ptr<AuditLog> log_;
};

// --- Baseline: one raw INSERT per transaction into a table with the same columns. ---
void InsertBaseline(benchmark::State& state, Sync sync) {
  std::string dir = TempDirectory();
  sqlite3* db = nullptr;
  sqlite3_open((dir + "/raw.db").c_str(), &db);
  sqlite3_exec(db,
               sync == Sync::kFull ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL"
                                   : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
               nullptr, nullptr, nullptr);
  sqlite3_exec(db,
               "CREATE TABLE r (seq INTEGER PRIMARY KEY, kind, decision_id, time, caller, user, "
               "account, datasets, region, partition, verdict, job_id, register_version, "
               "body_json, prev_hash, hash)",
               nullptr, nullptr, nullptr);
  sqlite3_stmt* insert = nullptr;
  sqlite3_prepare_v2(db,
                     "INSERT INTO r VALUES (NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
                     "?12, ?13, ?14, ?15)",
                     -1, &insert, nullptr);
  std::mt19937_64 rng(1);
  const std::string hash(64, 'a');
  auto text = [&](int index, const std::string& value) {
    sqlite3_bind_text(insert, index, value.data(), static_cast<int>(value.size()),
                      SQLITE_TRANSIENT);
  };
  for (auto _ : state) {
    AuditRecord r = MakeRecord(rng);
    std::string datasets = absl::StrCat("[\"", absl::StrJoin(r.datasets, "\",\""), "\"]");
    text(1, "decision");
    text(2, r.decision_id);
    sqlite3_bind_int64(insert, 3, absl::ToUnixMicros(absl::Now()));
    text(4, r.caller);
    text(5, r.user);
    text(6, r.account);
    text(7, datasets);
    text(8, r.region);
    text(9, r.partition);
    text(10, r.verdict);
    sqlite3_bind_int64(insert, 11, r.job_id);
    text(12, r.register_version);
    text(13, r.body_json);
    text(14, hash);
    text(15, hash);
    if (sqlite3_step(insert) != SQLITE_DONE) {
      state.SkipWithError(sqlite3_errmsg(db));
      break;
    }
    sqlite3_reset(insert);
  }
  sqlite3_finalize(insert);
  sqlite3_close(db);
  std::filesystem::remove_all(dir);
  state.SetItemsProcessed(state.iterations());
}

// --- Append latency and throughput. ---
ScratchLog* shared_log = nullptr;

void OpenNormal(const benchmark::State&) { shared_log = new ScratchLog(Sync::kNormal); }
void OpenFull(const benchmark::State&) { shared_log = new ScratchLog(Sync::kFull); }
void CloseShared(const benchmark::State&) {
  delete shared_log;
  shared_log = nullptr;
}

void Append(benchmark::State& state) {
  std::mt19937_64 rng(state.thread_index() + 1);
  AuditLog& log = shared_log->log();
  CommitStats before = log.GetCommitStats();
  for (auto _ : state) {
    absl::StatusOr<AuditRecord> r = log.Append(MakeRecord(rng));
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
  if (state.thread_index() == 0) {
    CommitStats after = log.GetCommitStats();
    int64_t batches = after.transactions - before.transactions;
    state.counters["records_per_commit"] =
        batches > 0 ? static_cast<double>(after.records - before.records) / batches : 0;
  }
}

// --- Reads on a large DB. ---
struct ListDb {
  std::string dir;  // removed at exit when we created it
  std::string path;
  std::string key_path;
  std::unique_ptr<AuditLog> log;
  int64_t head = 0;
};
ListDb* list_db = nullptr;

void FillLog(AuditLog& log, int64_t target, int threads, bool progress) {
  std::atomic<int64_t> remaining{target - log.HeadSeq()};
  absl::Time start = absl::Now();
  int64_t start_head = log.HeadSeq();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      std::mt19937_64 rng(1000 + t + static_cast<uint64_t>(start_head));
      while (remaining.fetch_sub(1) > 0) {
        absl::StatusOr<AuditRecord> r = log.Append(MakeRecord(rng));
        if (!r.ok()) {
          std::fprintf(stderr, "append failed: %s\n", std::string(r.status().message()).c_str());
          std::exit(1);
        }
        if (progress && t == 0 && r->seq % 100000 == 0) {
          double secs = absl::ToDoubleSeconds(absl::Now() - start);
          std::fprintf(stderr, "%lld records, %.0f/s\n", static_cast<long long>(r->seq),
                       (r->seq - start_head) / secs);
        }
      }
    });
  }
  for (std::thread& w : workers) {
    w.join();
  }
}

ListDb& GetListDb() {
  if (list_db != nullptr) {
    return *list_db;
  }
  list_db = new ListDb;
  AuditOptions o;
  if (flags.db.empty()) {
    list_db->dir = TempDirectory();
    o.path = list_db->dir + "/audit.db";
    o.signing_key_path = list_db->dir + "/key.pem";
  } else {
    o.path = flags.db;
    o.signing_key_path = flags.db + ".key.pem";
  }
  list_db->path = o.path;
  list_db->key_path = o.signing_key_path;
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(o);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", std::string(log.status().message()).c_str());
    std::exit(1);
  }
  list_db->log = *std::move(log);
  if (flags.db.empty()) {
    FillLog(*list_db->log, flags.records, 8, false);
  }
  list_db->head = list_db->log->HeadSeq();
  return *list_db;
}

void ReadRowsBaseline(benchmark::State& state) {
  ListDb& ldb = GetListDb();
  sqlite3* db = nullptr;
  sqlite3_open_v2(ldb.path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "SELECT * FROM records WHERE seq = ?", -1, &stmt, nullptr);
  std::mt19937_64 rng(7);
  int64_t bytes = 0;
  for (auto _ : state) {
    int64_t start = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(ldb.head));
    for (int i = 0; i < 100; ++i) {
      sqlite3_bind_int64(stmt, 1, 1 + (start + i * 97) % ldb.head);
      while (sqlite3_step(stmt) == SQLITE_ROW) {
        bytes += sqlite3_column_bytes(stmt, 13);
      }
      sqlite3_reset(stmt);
    }
  }
  benchmark::DoNotOptimize(bytes);
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// which: 0 = a dataset in 20% of records, 1 = in 0.1%, 2 = the common one, a page from the
// middle of the history.
void ListByDataset(benchmark::State& state, int which) {
  ListDb& ldb = GetListDb();
  AuditQuery q;
  q.dataset = which == 1 ? "ds-rare" : "ds-common";
  q.limit = 100;
  if (which == 2) {
    q.before_seq = ldb.head / 2;  // a page from the middle of the history
  }
  size_t returned = 0;
  for (auto _ : state) {
    absl::StatusOr<std::vector<AuditRecord>> r = ldb.log->List(q);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
    returned = r->size();
  }
  state.counters["records"] = static_cast<double>(ldb.head);
  state.counters["returned"] = static_cast<double>(returned);
}

// Drops the file's pages from the OS page cache (clean pages only: the log syncs them).
void EvictFromPageCache(const std::string& path) {
  for (const std::string& file : {path, path + "-wal"}) {
    int fd = ::open(file.c_str(), O_RDONLY);
    if (fd >= 0) {
      ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      ::close(fd);
    }
  }
}

// The first List of a freshly opened log, with the database evicted from the page cache: what
// an auditor waits for after a restart, when nothing is cached.
void ListByDatasetCold(benchmark::State& state, int which) {
  ListDb& ldb = GetListDb();
  AuditOptions o;
  o.path = ldb.path;
  o.signing_key_path = ldb.key_path;
  AuditQuery q;
  q.dataset = which == 1 ? "ds-rare" : "ds-common";
  q.limit = 100;
  for (auto _ : state) {
    state.PauseTiming();
    absl::StatusOr<std::unique_ptr<AuditLog>> fresh = AuditLog::Open(o);
    if (!fresh.ok()) {
      state.SkipWithError(std::string(fresh.status().message()).c_str());
      break;
    }
    EvictFromPageCache(ldb.path);
    state.ResumeTiming();
    absl::StatusOr<std::vector<AuditRecord>> r = (*fresh)->List(q);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
    state.PauseTiming();
    fresh->reset();
    state.ResumeTiming();
  }
}

// Makes the list DB look like schema version 1 (no index over every record's decision id, the
// partial index on attestations instead) or version 2 again. The open log's statements are
// prepared anew by SQLite when the schema changes.
void SetSchema1(const std::string& path, bool schema1) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  sqlite3_busy_timeout(db, 5000);
  const char* sql =
      schema1 ? "DROP INDEX IF EXISTS records_decision_all; CREATE INDEX IF NOT EXISTS "
                "records_attestation ON records(decision_id, seq) WHERE kind = 1"
              : "DROP INDEX IF EXISTS records_attestation; CREATE INDEX IF NOT EXISTS "
                "records_decision_all ON records(decision_id, seq)";
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::fprintf(stderr, "%s\n", err);
    std::exit(1);
  }
  sqlite3_close(db);
}

// `show`: the decision, then the records bound to it (what AuditService::GetDecision reads);
// `list --decision`: ListDecisions with the decision id. A decision from the middle of the log.
void ByDecision(benchmark::State& state, bool show, bool schema1) {
  ListDb& ldb = GetListDb();
  SetSchema1(ldb.path, schema1);
  absl::StatusOr<std::vector<AuditRecord>> middle = ldb.log->Range(ldb.head / 2, ldb.head / 2);
  if (!middle.ok() || middle->empty()) {
    state.SkipWithError("no record in the middle of the log");
    return;
  }
  AuditQuery q;
  q.decision_id = (*middle)[0].decision_id;
  q.limit = show ? 1000 : 50;
  size_t returned = 0;
  for (auto _ : state) {
    if (show) {
      absl::StatusOr<AuditRecord> d = ldb.log->Get(q.decision_id);
      if (!d.ok()) {
        state.SkipWithError(std::string(d.status().message()).c_str());
        break;
      }
    }
    absl::StatusOr<std::vector<AuditRecord>> r = ldb.log->List(q);
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
    returned = r->size();
  }
  SetSchema1(ldb.path, false);
  state.counters["records"] = static_cast<double>(ldb.head);
  state.counters["returned"] = static_cast<double>(returned);
}

void VerifyAll(benchmark::State& state) {
  ListDb& ldb = GetListDb();
  for (auto _ : state) {
    VerifyReport report = ldb.log->Verify();
    if (!report.ok) {
      state.SkipWithError(report.problem.c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * ldb.head);
}

// Console output plus, at the end, each result as a ratio to its baseline.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal.
  RatioReporter() : ConsoleReporter(::isatty(1) ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.run_type == Run::RT_Iteration && !run.error_occurred) {
        time_ns_[run.benchmark_name()] = run.GetAdjustedRealTime();  // in the run's time unit
        unit_[run.benchmark_name()] = run.time_unit;
        auto items = run.counters.find("items_per_second");
        if (items != run.counters.end()) {
          rate_[run.benchmark_name()] = items->second.value;
        }
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void Finalize() override {
    ConsoleReporter::Finalize();
    std::printf("\nRatios to the baselines measured in this run:\n");
    for (const char* mode : {"normal", "full"}) {
      std::string base = absl::StrCat("insert_baseline/", mode, "/real_time");
      Ratio(absl::StrCat("append/", mode, "/real_time"), base, "latency vs one raw INSERT");
      for (int threads : {1, 4, 16}) {
        RateRatio(absl::StrCat("append_throughput/", mode, "/real_time/threads:", threads), base);
      }
    }
    for (const char* which : {"common", "rare", "deep"}) {
      Ratio(absl::StrCat("list_by_dataset/", which), "read_rows_baseline",
            "latency vs reading 100 rows by key");
    }
    for (const char* what : {"list_by_decision", "show"}) {
      Ratio(absl::StrCat(what, "/schema1"), absl::StrCat(what, "/indexed"),
            "without the decision index vs with it");
    }
    for (const char* which : {"common", "rare"}) {
      Ratio(absl::StrCat("list_by_dataset_cold/", which, "/iterations:20"),
            absl::StrCat("list_by_dataset/", which), "cold cache vs warm");
    }
  }

 private:
  double Nanos(const std::string& name) const {
    double t = time_ns_.at(name);
    switch (unit_.at(name)) {
      case benchmark::kSecond:
        return t * 1e9;
      case benchmark::kMillisecond:
        return t * 1e6;
      case benchmark::kMicrosecond:
        return t * 1e3;
      default:
        return t;
    }
  }
  void Ratio(const std::string& name, const std::string& base, const char* what) const {
    if (time_ns_.count(name) && time_ns_.count(base)) {
      std::printf("  %-44s %8.2fx  (%s)\n", name.c_str(), Nanos(name) / Nanos(base), what);
    }
  }
  void RateRatio(const std::string& name, const std::string& base) const {
    if (rate_.count(name) && rate_.count(base)) {
      std::printf("  %-44s %8.2fx  (records/s vs raw INSERTs/s from one thread)\n", name.c_str(),
                  rate_.at(name) / rate_.at(base));
    }
  }

  std::map<std::string, double> time_ns_;
  std::map<std::string, benchmark::TimeUnit> unit_;
  std::map<std::string, double> rate_;
};

int Generate() {
  AuditOptions o;
  o.path = flags.generate;
  o.signing_key_path = flags.generate + ".key.pem";
  o.sync = Sync::kNormal;
  absl::StatusOr<std::unique_ptr<AuditLog>> log = AuditLog::Open(o);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", std::string(log.status().message()).c_str());
    return 1;
  }
  int64_t start_head = (*log)->HeadSeq();
  absl::Time start = absl::Now();
  FillLog(**log, flags.records, flags.threads, true);
  double secs = absl::ToDoubleSeconds(absl::Now() - start);
  int64_t added = (*log)->HeadSeq() - start_head;
  std::printf("%s: %lld records (%lld added in %.1f s, %.0f records/s)\n", o.path.c_str(),
              static_cast<long long>((*log)->HeadSeq()), static_cast<long long>(added), secs,
              added / std::max(secs, 1e-9));
  return 0;
}

}  // namespace
}  // namespace sovereign::audit

int main(int argc, char** argv) {
  using namespace sovereign::audit;
  std::vector<char*> rest = {argv[0]};
  for (int i = 1; i < argc; ++i) {
    std::string value;
    if (TakeFlag(argv[i], "audit_records", &value)) {
      if (!absl::SimpleAtoi(value, &flags.records) || flags.records < 1) {
        std::fprintf(stderr, "--audit_records=%s is not a positive number\n", value.c_str());
        return 2;
      }
    } else if (TakeFlag(argv[i], "audit_threads", &value)) {
      if (!absl::SimpleAtoi(value, &flags.threads) || flags.threads < 1) {
        std::fprintf(stderr, "--audit_threads=%s is not a positive number\n", value.c_str());
        return 2;
      }
    } else if (!TakeFlag(argv[i], "audit_db", &flags.db) &&
               !TakeFlag(argv[i], "audit_generate", &flags.generate) &&
               !TakeFlag(argv[i], "audit_dir", &flags.dir)) {
      rest.push_back(argv[i]);
    }
  }
  if (!flags.generate.empty()) {
    return Generate();
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());

  for (const auto& [mode, sync] :
       {std::pair<const char*, Sync>{"normal", Sync::kNormal}, {"full", Sync::kFull}}) {
    auto open = sync == Sync::kFull ? OpenFull : OpenNormal;
    benchmark::RegisterBenchmark(absl::StrCat("insert_baseline/", mode).c_str(), InsertBaseline,
                                 sync)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(absl::StrCat("append/", mode).c_str(), Append)
        ->Setup(open)
        ->Teardown(CloseShared)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark(absl::StrCat("append_throughput/", mode).c_str(), Append)
        ->Setup(open)
        ->Teardown(CloseShared)
        ->Threads(1)
        ->Threads(4)
        ->Threads(16)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  benchmark::RegisterBenchmark("read_rows_baseline", ReadRowsBaseline)
      ->Unit(benchmark::kMicrosecond);
  for (const auto& [name, which] :
       {std::pair<const char*, int>{"common", 0}, {"rare", 1}, {"deep", 2}}) {
    benchmark::RegisterBenchmark(absl::StrCat("list_by_dataset/", name).c_str(), ListByDataset,
                                 which)
        ->Unit(benchmark::kMicrosecond);
  }
  for (const auto& [name, which] : {std::pair<const char*, int>{"common", 0}, {"rare", 1}}) {
    benchmark::RegisterBenchmark(absl::StrCat("list_by_dataset_cold/", name).c_str(),
                                 ListByDatasetCold, which)
        ->Iterations(20)
        ->Unit(benchmark::kMicrosecond);
  }
  for (const auto& [name, show] : {std::pair<const char*, bool>{"list_by_decision", false},
                                   {"show", true}}) {
    for (const auto& [variant, schema1] :
         {std::pair<const char*, bool>{"indexed", false}, {"schema1", true}}) {
      benchmark::RegisterBenchmark(absl::StrCat(name, "/", variant).c_str(), ByDecision, show,
                                   schema1)
          ->Unit(benchmark::kMicrosecond);
    }
  }
  benchmark::RegisterBenchmark("verify", VerifyAll)->Unit(benchmark::kMillisecond)->Iterations(1);

  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (list_db != nullptr) {
    list_db->log.reset();
    if (!list_db->dir.empty()) {
      std::filesystem::remove_all(list_db->dir);
    }
  }
  return 0;
}
