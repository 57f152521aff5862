#include "sovereign/audit_log.h"

#include <sched.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <fstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "chain.h"
#include "sovereign/digest.h"
#include "support/child_process.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/temp_dir.h"

namespace sovereign::audit {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class AuditLogTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    options_.path = dir_ + "/audit.db";
    options_.signing_key_path = dir_ + "/signing.pem";
    options_.checkpoint_interval = 0;
  }
  void TearDown() override { log_.reset(); }

  void Open() {
    auto log = AuditLog::Open(options_);
    ASSERT_TRUE(log.ok()) << log.status();
    log_ = *std::move(log);
  }

  static AuditRecord Decision(const std::string& id, const std::string& user,
                              std::vector<std::string> datasets, const std::string& region,
                              const std::string& verdict = "place") {
    AuditRecord r;
    r.decision_id = id;
    r.time = absl::FromUnixSeconds(1795000000) + absl::Seconds(std::hash<std::string>{}(id) % 100);
    r.caller = "uid=1000(" + user + ")";
    r.user = user;
    r.account = user == "alice" ? "oncology" : "vision";
    r.datasets = std::move(datasets);
    r.region = region;
    r.partition = region == "eu" ? "gpu-fr-a100" : "gpu-us-h100";
    r.verdict = verdict;
    r.register_version = std::string(64, 'a');
    r.body_json = R"({"reason":"test"})";
    return r;
  }

  void Fill() {
    ASSERT_TRUE(log_->Append(Decision("d1", "alice", {"patients-eu"}, "eu")).ok());
    ASSERT_TRUE(log_->Append(Decision("d2", "bob", {"imagenet-public"}, "us")).ok());
    ASSERT_TRUE(
        log_->Append(Decision("d3", "alice", {"patients-eu", "imagenet-public"}, "eu")).ok());
    ASSERT_TRUE(log_->Append(Decision("d4", "bob", {}, "", "reject")).ok());
    AuditRecord att;
    att.kind = RecordKind::kAttestation;
    att.decision_id = "d1";
    att.job_id = 42;
    att.verdict = "ok";
    att.region = "eu";
    att.time = absl::FromUnixSeconds(1795000500);
    ASSERT_TRUE(log_->Append(att).ok());
  }

  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(options_.path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_free(err);
    sqlite3_close(db);
  }

  std::vector<std::string> Ids(const AuditQuery& q) {
    auto r = log_->List(q);
    EXPECT_TRUE(r.ok()) << r.status();
    std::vector<std::string> ids;
    for (const auto& rec : *r) {
      ids.push_back(absl::StrCat(rec.decision_id, rec.kind == RecordKind::kAttestation  ? "/att"
                                                  : rec.kind == RecordKind::kOutcome    ? "/out"
                                                  : rec.kind == RecordKind::kNodeWeight ? "/weight"
                                                                                        : ""));
    }
    return ids;
  }

  std::string PublicKey() {
    auto c = log_->MakeCheckpoint();
    EXPECT_TRUE(c.ok());
    return c->public_key;
  }

  // 16 threads x 1,000 appends: every acknowledged record is in the log, the chain verifies.
  void RunConcurrentAppenders() {
    Open();
    constexpr int kThreads = 16, kEach = 1000;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i) {
          auto r =
              log_->Append(Decision(absl::StrCat("t", t, "-", i), "alice", {"patients-eu"}, "eu"));
          if (!r.ok() || r->seq <= 0) {
            if (failures++ == 0) {
              ADD_FAILURE() << (r.ok() ? "no seq" : r.status().ToString());
            }
          }
        }
      });
    }
    for (auto& th : threads) {
      th.join();
    }
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(log_->HeadSeq(), kThreads * kEach);
    for (int t = 0; t < kThreads; ++t) {
      EXPECT_TRUE(log_->Get(absl::StrCat("t", t, "-", kEach - 1)).ok());
    }
    VerifyReport r = log_->Verify();
    EXPECT_TRUE(r.ok) << r.problem;
    EXPECT_EQ(r.records_checked, kThreads * kEach);
  }

  AuditOptions options_;
  std::unique_ptr<AuditLog> log_;
};

// The chain's hash is what docs/audit-log.md gives an auditor who checks it with other tools:
// SHA-256 of the previous hash's hex and the record's length-prefixed fields. The expected
// value was computed from that description with Python's hashlib; the body is longer than the
// piece the hash is fed in.
TEST(AuditChainTest, RecordHashIsTheDocumentedDigest) {
  AuditRecord r;
  r.seq = 7;
  r.decision_id = "d-7";
  r.time = absl::FromUnixMicros(1795000000000000);
  r.caller = "uid=1001(alice) via job_submit/sovereign";
  r.user = "alice";
  r.account = "oncology";
  r.datasets = {"patients-eu", "trials-eu"};
  r.region = "eu";
  r.partition = "gpu-fr-a100";
  r.verdict = "place";
  r.job_id = 4101;
  r.register_version = "v1";
  r.body_json = absl::StrCat("{\"note\":\"", std::string(600, 'x'), "\"}");
  const std::string genesis(64, '0');
  EXPECT_EQ(chain::RecordHash(genesis, r),
            "226560662eeccf8e8e9509718f33c76a9cc2e5fd5d61fafb4e070d7c0dcb095b");
  // And for bodies of every length around the piece size, the digest of the record's bytes.
  for (size_t n = 300; n < 1200; n += 7) {
    r.body_json.assign(n, 'b');
    EXPECT_EQ(chain::RecordHash(genesis, r), Sha256Hex(genesis, chain::RecordBytes(r))) << n;
  }
}

TEST_F(AuditLogTest, AppendsAChainAndFindsRecords) {
  Open();
  auto a = log_->Append(Decision("d1", "alice", {"patients-eu"}, "eu"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->seq, 1);
  EXPECT_EQ(a->prev_hash, std::string(64, '0'));
  EXPECT_EQ(a->hash.size(), 64u);
  auto b = log_->Append(Decision("d2", "bob", {}, "us"));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->seq, 2);
  EXPECT_EQ(b->prev_hash, a->hash);
  EXPECT_EQ(log_->HeadSeq(), 2);
  auto got = log_->Get("d1");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->hash, a->hash);
  EXPECT_THAT(got->datasets, ElementsAre("patients-eu"));
  EXPECT_EQ(got->time, a->time);
  EXPECT_EQ(log_->Get("nope").status().message(), "no decision with id \"nope\" in the log");
}

TEST_F(AuditLogTest, SameDecisionIdIsStoredOnce) {
  Open();
  auto first = log_->Append(Decision("d1", "alice", {"patients-eu"}, "eu"));
  auto again = log_->Append(Decision("d1", "mallory", {}, "us"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->seq, first->seq);
  EXPECT_EQ(again->user, "alice");
  EXPECT_EQ(log_->HeadSeq(), 1);
}

TEST_F(AuditLogTest, EveryFilterAndPaging) {
  Open();
  Fill();
  EXPECT_THAT(Ids({}), ElementsAre("d1/att", "d4", "d3", "d2", "d1"));
  AuditQuery q;
  q.dataset = "patients-eu";
  EXPECT_THAT(Ids(q), ElementsAre("d3", "d1"));
  q = {};
  q.user = "bob";
  EXPECT_THAT(Ids(q), ElementsAre("d4", "d2"));
  q = {};
  q.account = "oncology";
  EXPECT_THAT(Ids(q), ElementsAre("d3", "d1"));
  q = {};
  q.region = "us";
  EXPECT_THAT(Ids(q), ElementsAre("d2"));
  q = {};
  q.partition = "gpu-fr-a100";
  EXPECT_THAT(Ids(q), ElementsAre("d3", "d1"));
  q = {};
  q.verdict = "reject";
  EXPECT_THAT(Ids(q), ElementsAre("d4"));
  q = {};
  // The attestation of job 42, and the placement it is bound to (which has no job id).
  q.job_id = 42;
  EXPECT_THAT(Ids(q), ElementsAre("d1/att", "d1"));
  q.kind = RecordKind::kDecision;
  EXPECT_THAT(Ids(q), ElementsAre("d1"));
  q = {};
  q.job_id = 43;
  EXPECT_THAT(Ids(q), ElementsAre());
  q = {};
  q.kind = RecordKind::kAttestation;
  EXPECT_THAT(Ids(q), ElementsAre("d1/att"));
  q = {};
  q.since = absl::FromUnixSeconds(1795000400);
  EXPECT_THAT(Ids(q), ElementsAre("d1/att"));
  q = {};
  q.until = absl::FromUnixSeconds(1795000400);
  EXPECT_EQ(Ids(q).size(), 4u);
  q = {};
  q.limit = 2;
  EXPECT_THAT(Ids(q), ElementsAre("d1/att", "d4"));
  q.before_seq = 4;
  EXPECT_THAT(Ids(q), ElementsAre("d3", "d2"));
  q = {};
  q.dataset = "patients-eu";
  q.user = "alice";
  q.before_seq = 3;
  EXPECT_THAT(Ids(q), ElementsAre("d1"));
  auto range = log_->Range(2, 3);
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->size(), 2u);
  EXPECT_EQ((*range)[0].decision_id, "d2");
}

TEST_F(AuditLogTest, VerifiesAndSurvivesReopen) {
  Open();
  Fill();
  ASSERT_TRUE(log_->MakeCheckpoint().ok());
  VerifyReport ok = log_->Verify();
  EXPECT_TRUE(ok.ok) << ok.problem;
  EXPECT_EQ(ok.records_checked, 5);
  EXPECT_EQ(ok.checkpoints_checked, 1);
  log_.reset();
  Open();
  EXPECT_EQ(log_->HeadSeq(), 5);
  auto next = log_->Append(Decision("d5", "alice", {}, "eu"));
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->seq, 6);
  EXPECT_TRUE(log_->Verify().ok);
}

TEST_F(AuditLogTest, EditedRowIsFound) {
  Open();
  Fill();
  Sql("UPDATE records SET region = 'us' WHERE seq = 3");
  VerifyReport r = log_->Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3);
  EXPECT_EQ(r.problem, "record 3: hash mismatch (content changed after it was written)");
}

// Every stored field of a record is under its hash: a change to any one of them names that
// record. (prev_hash and hash are checked as links: a changed prev_hash no longer matches the
// record before, a changed hash no longer matches the content.)
TEST_F(AuditLogTest, AChangeToAnyFieldOfARecordNamesThatRecord) {
  Open();
  Fill();
  log_.reset();
  const std::string pristine = dir_ + "/pristine.db";
  std::filesystem::copy_file(options_.path, pristine);
  const std::vector<std::pair<std::string, std::string>> changes = {
      {"kind", "1"},           {"decision_id", "'d9'"},      {"time_us", "time_us + 1"},
      {"caller", "'root'"},    {"user", "'mallory'"},        {"account", "'other'"},
      {"datasets", "'imagenet-public'"}, {"region", "'us'"}, {"partition", "'gpu-us-h100'"},
      {"verdict", "'reject'"}, {"job_id", "7"},              {"register_version", "'v0'"},
      {"body", "body || ' '"}, {"prev_hash", "hash"},        {"hash", "prev_hash"}};
  for (const auto& [column, value] : changes) {
    std::filesystem::copy_file(pristine, options_.path,
                               std::filesystem::copy_options::overwrite_existing);
    Sql(absl::StrCat("UPDATE records SET ", column, " = ", value, " WHERE seq = 3"));
    Open();
    VerifyReport r = log_->Verify();
    EXPECT_FALSE(r.ok) << column;
    EXPECT_EQ(r.first_bad_seq, 3) << column << ": " << r.problem;
    EXPECT_THAT(r.problem, ::testing::StartsWith("record 3")) << column;
    log_.reset();
  }
}

TEST_F(AuditLogTest, DeletedRowIsFound) {
  Open();
  Fill();
  Sql("DELETE FROM records WHERE seq = 2");
  VerifyReport r = log_->Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 2);
  EXPECT_EQ(r.problem, "record 2 is missing (records jump from 1 to 3): a record was deleted");
}

TEST_F(AuditLogTest, InsertedRowIsFound) {
  Open();
  Fill();
  // Make room and forge a row in the middle, copying a real row's hashes.
  Sql("UPDATE records SET seq = seq + 100 WHERE seq >= 3");
  Sql("UPDATE records SET seq = seq - 99 WHERE seq >= 103");
  Sql("INSERT INTO records SELECT 3, kind, 'forged', time_us, caller, user, account, datasets, "
      "region, partition, verdict, job_id, register_version, body, prev_hash, hash FROM records "
      "WHERE seq = 2");
  VerifyReport r = log_->Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 3);
  EXPECT_EQ(r.problem,
            "record 3: prev_hash does not match record 2 (a record was deleted, inserted or "
            "reordered)");
}

TEST_F(AuditLogTest, ReorderedRowsAreFound) {
  Open();
  Fill();
  Sql("UPDATE records SET seq = -2 WHERE seq = 2; UPDATE records SET seq = 2 WHERE seq = 3; "
      "UPDATE records SET seq = 3 WHERE seq = -2;");
  VerifyReport r = log_->Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 2);
  EXPECT_THAT(r.problem, HasSubstr("record 2: prev_hash does not match record 1"));
}

TEST_F(AuditLogTest, RewrittenTailIsCaughtByTheSignedCheckpoint) {
  Open();
  Fill();
  ASSERT_TRUE(log_->MakeCheckpoint().ok());
  // Someone deletes the last records and everything after: the chain alone looks fine.
  Sql("DELETE FROM records WHERE seq >= 4");
  VerifyReport r = log_->Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.problem, "records end at 3 but checkpoint 1 covers 5 (records were deleted)");
}

TEST_F(AuditLogTest, AConsistentlyRewrittenRecordIsCaughtByTheSignedCheckpoint) {
  Open();
  Fill();
  ASSERT_TRUE(log_->MakeCheckpoint().ok());
  // Someone rewrites the last record and computes its hash again: the chain alone verifies.
  absl::StatusOr<std::vector<AuditRecord>> last = log_->Range(5, 5);
  ASSERT_TRUE(last.ok() && last->size() == 1u);
  AuditRecord forged = (*last)[0];
  forged.region = "us";
  forged.hash = chain::RecordHash(forged.prev_hash, forged);
  Sql(absl::StrCat("UPDATE records SET region = 'us', hash = '", forged.hash, "' WHERE seq = 5"));
  VerifyReport r = log_->Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.first_bad_seq, 5);
  EXPECT_EQ(r.records_checked, 5);
  EXPECT_EQ(r.problem,
            "checkpoint 1: record 5 is not the one that was signed (the chain was rewritten)");
}

// The whole log rewritten by someone with write access to the database: a record changed, every
// hash after it computed again, and the checkpoint signed again with a key of their own (its
// public key written beside it and into meta). It verifies only against that key: against the
// key the auditor holds, the checkpoint is named.
TEST_F(AuditLogTest, AChainRewrittenAndReSignedWithAnotherKeyFailsAgainstTheTrustedKey) {
  Open();
  Fill();
  ASSERT_TRUE(log_->MakeCheckpoint().ok());
  const std::string trusted = PublicKey();
  absl::StatusOr<std::vector<AuditRecord>> all = log_->Range(1, 5);
  ASSERT_TRUE(all.ok() && all->size() == 5u);
  log_.reset();
  std::string hash = chain::kGenesis;
  std::string sql;
  for (AuditRecord& r : *all) {
    if (r.seq == 2) {
      r.region = "eu";  // d2 was placed in us
    }
    r.prev_hash = hash;
    r.hash = chain::RecordHash(hash, r);
    hash = r.hash;
    absl::StrAppend(&sql, "UPDATE records SET region = '", r.region, "', prev_hash = '",
                    r.prev_hash, "', hash = '", r.hash, "' WHERE seq = ", r.seq, ";");
  }
  auto forger = chain::Signer::LoadOrCreate(dir_ + "/forger.pem");
  ASSERT_TRUE(forger.ok()) << forger.status();
  const int64_t time_us = 1795001000000000;
  auto signature = (*forger)->Sign(chain::CheckpointBytes(5, hash, time_us));
  ASSERT_TRUE(signature.ok()) << signature.status();
  absl::StrAppend(&sql, "UPDATE checkpoints SET head_hash = '", hash, "', time_us = ", time_us,
                  ", signature = '", *signature, "', public_key = '", (*forger)->public_pem(),
                  "'; UPDATE meta SET value = '", (*forger)->public_pem(),
                  "' WHERE key = 'public_key';");
  Sql(sql);
  VerifyReport forged_key = VerifyDatabase(options_.path, (*forger)->public_pem());
  EXPECT_TRUE(forged_key.ok) << "the rewrite is consistent: " << forged_key.problem;
  VerifyReport r = VerifyDatabase(options_.path, trusted);
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.problem, "checkpoint 1: signature does not verify with the trusted public key");
}

TEST_F(AuditLogTest, ForgedCheckpointSignatureIsFound) {
  Open();
  Fill();
  ASSERT_TRUE(log_->MakeCheckpoint().ok());
  Sql("UPDATE checkpoints SET count = 4");
  VerifyReport r = log_->Verify();
  EXPECT_FALSE(r.ok);
  EXPECT_EQ(r.problem, "checkpoint 1: signature does not verify with the trusted public key");
}

TEST_F(AuditLogTest, OfflineVerificationTrustsOnlyTheGivenKey) {
  Open();
  Fill();
  std::string key = PublicKey();
  log_.reset();
  VerifyReport good = VerifyDatabase(options_.path, key);
  EXPECT_TRUE(good.ok) << good.problem;
  EXPECT_EQ(good.records_checked, 5);
  // Another key: the same file no longer verifies.
  AuditOptions other = options_;
  other.path = dir_ + "/other.db";
  other.signing_key_path = dir_ + "/other.pem";
  auto other_log = AuditLog::Open(other);
  ASSERT_TRUE(other_log.ok());
  std::string other_key = (*other_log)->MakeCheckpoint()->public_key;
  VerifyReport bad = VerifyDatabase(options_.path, other_key);
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.problem, "checkpoint 1: signature does not verify with the trusted public key");
  EXPECT_EQ(VerifyDatabase(options_.path, "not a key").problem,
            "the trusted public key is not an Ed25519 public key in PEM");
  absl::StatusOr<VerifyReport> missing = VerifyDatabaseCopy(dir_ + "/missing.db", key);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "audit log " + dir_ + "/missing.db: no such file");
  EXPECT_FALSE(fs::exists(dir_ + "/missing.db"));
}

// What docs/audit-log.md tells an auditor to do: copy the live log with SQLite's backup (a
// plain copy of the database file misses what is still in the WAL), then verify the copy,
// which is read as an immutable file: nothing appears beside the evidence.
TEST_F(AuditLogTest, ABackupCopyVerifiesOfflineAndNothingIsWrittenBesideIt) {
  Open();
  Fill();
  std::string key = PublicKey();
  ASSERT_TRUE(fs::exists(options_.path + "-wal"));  // the live log is in WAL mode
  sqlite3* live = nullptr;
  sqlite3* copy = nullptr;
  ASSERT_EQ(sqlite3_open(options_.path.c_str(), &live), SQLITE_OK);
  ASSERT_EQ(sqlite3_open((dir_ + "/copy.db").c_str(), &copy), SQLITE_OK);
  sqlite3_backup* b = sqlite3_backup_init(copy, "main", live, "main");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(sqlite3_backup_step(b, -1), SQLITE_DONE);
  sqlite3_backup_finish(b);
  sqlite3_close(copy);
  sqlite3_close(live);
  ASSERT_TRUE(fs::exists(dir_ + "/copy.db"));
  ASSERT_FALSE(fs::exists(dir_ + "/copy.db-wal"));
  fs::permissions(dir_ + "/copy.db", fs::perms::owner_read);
  absl::StatusOr<VerifyReport> r = VerifyDatabaseCopy(dir_ + "/copy.db", key);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->ok) << r->problem;
  EXPECT_EQ(r->records_checked, 5);
  EXPECT_FALSE(fs::exists(dir_ + "/copy.db-wal"));
  EXPECT_FALSE(fs::exists(dir_ + "/copy.db-shm"));
}

TEST_F(AuditLogTest, AutomaticCheckpoints) {
  options_.checkpoint_interval = 2;
  Open();
  Fill();
  auto latest = log_->LatestCheckpoint();
  ASSERT_TRUE(latest.ok());
  ASSERT_TRUE(latest->has_value());
  EXPECT_EQ((*latest)->count, 4);
  EXPECT_EQ(log_->Verify().checkpoints_checked, 2);
}

TEST_F(AuditLogTest, ConcurrentAppendersShareOneChain) {
  options_.sync = Sync::kFull;  // group commit through the writer thread
  RunConcurrentAppenders();
}

TEST_F(AuditLogTest, ConcurrentAppendersShareOneChainWithoutFsync) {
  options_.sync = Sync::kNormal;  // an idle log commits on the caller's thread, else batches
  RunConcurrentAppenders();
  CommitStats stats = log_->GetCommitStats();
  EXPECT_EQ(stats.records, 16 * 1000);
  EXPECT_LE(stats.transactions, stats.records);
}

TEST_F(AuditLogTest, ADecisionAndItsAttestations) {
  Open();
  ASSERT_TRUE(log_->Append(Decision("d1", "alice", {"patients-eu"}, "eu")).ok());
  ASSERT_TRUE(log_->Append(Decision("d2", "alice", {"patients-eu"}, "eu")).ok());
  AuditRecord ran = Decision("d1", "alice", {"patients-eu"}, "eu", "ok");
  ran.kind = RecordKind::kAttestation;
  ran.job_id = 42;
  ASSERT_TRUE(log_->Append(ran).ok());
  AuditQuery q;
  q.decision_id = "d1";
  auto all = log_->List(q);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].seq, 3);  // newest first: the attestation, then the decision
  EXPECT_EQ((*all)[0].kind, RecordKind::kAttestation);
  EXPECT_EQ((*all)[0].job_id, 42);
  EXPECT_EQ((*all)[1].seq, 1);
  q.kind = RecordKind::kAttestation;
  auto attestations = log_->List(q);
  ASSERT_TRUE(attestations.ok());
  ASSERT_EQ(attestations->size(), 1u);
  EXPECT_EQ((*attestations)[0].seq, 3);
  q.decision_id = "d2";
  EXPECT_TRUE(log_->List(q)->empty());
}

TEST_F(AuditLogTest, AnIdleLogAnswersOnTheCallersThread) {
  options_.sync = Sync::kNormal;
  Open();
  bool answered = false;
  int64_t seq = 0;
  log_->AppendAsync(Decision("d1", "alice", {"patients-eu"}, "eu"),
                    [&](absl::StatusOr<AuditRecord> r) {
                      ASSERT_TRUE(r.ok()) << r.status();
                      seq = r->seq;
                      answered = true;
                    });
  EXPECT_TRUE(answered);  // no hand-off: written and answered before AppendAsync returned
  EXPECT_EQ(seq, 1);
  EXPECT_EQ(log_->GetCommitStats().transactions, 1);
}

// Why `sovereignctl status` once showed more commits than records: a decision read again from
// the spool after a restart opened a transaction that wrote nothing.
TEST_F(AuditLogTest, AnAppendOfADecisionAlreadyLoggedIsNoCommit) {
  Open();
  ASSERT_TRUE(log_->Append(Decision("d1", "alice", {"patients-eu"}, "eu")).ok());
  ASSERT_TRUE(log_->Append(Decision("d1", "alice", {"patients-eu"}, "eu")).ok());
  CommitStats stats = log_->GetCommitStats();
  EXPECT_EQ(stats.records, 1);
  EXPECT_EQ(stats.transactions, 1);
  EXPECT_EQ(stats.already_logged, 1);
}

TEST_F(AuditLogTest, AppendAllWritesOneTransactionAndAnswersEachRecordAsAppendWould) {
  Open();
  ASSERT_TRUE(log_->Append(Decision("d1", "alice", {"patients-eu"}, "eu")).ok());
  const CommitStats before = log_->GetCommitStats();
  std::vector<AuditRecord> batch = {
      Decision("d2", "bob", {}, "us"),
      Decision("d1", "mallory", {}, "us"),  // already logged: the stored record comes back
      Decision("d3", "carol", {"patients-eu"}, "eu"),
      Decision("d2", "mallory", {}, "us"),  // repeated in the batch: stored once
      Decision("d4", "dave", {}, "eu"),
  };
  absl::StatusOr<std::vector<AuditRecord>> stored = log_->AppendAll(std::move(batch));
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 5u);
  EXPECT_EQ((*stored)[0].seq, 2);
  EXPECT_EQ((*stored)[1].seq, 1);
  EXPECT_EQ((*stored)[1].user, "alice");
  EXPECT_EQ((*stored)[2].seq, 3);
  EXPECT_EQ((*stored)[3].seq, 2);
  EXPECT_EQ((*stored)[3].user, "bob");
  EXPECT_EQ((*stored)[4].seq, 4);
  EXPECT_EQ((*stored)[4].prev_hash, (*stored)[2].hash);
  const CommitStats after = log_->GetCommitStats();
  EXPECT_EQ(after.transactions - before.transactions, 1);
  EXPECT_EQ(after.records - before.records, 3);
  EXPECT_EQ(after.already_logged - before.already_logged, 2);
  EXPECT_TRUE(log_->AppendAll({}).ok());
  // Appends from other threads interleave with batches; the chain stays one chain.
  std::thread other([&] {
    for (int i = 0; i < 200; ++i) {
      EXPECT_TRUE(log_->Append(Decision(absl::StrCat("t", i), "erin", {}, "eu")).ok());
    }
  });
  for (int b = 0; b < 20; ++b) {
    std::vector<AuditRecord> more;
    for (int i = 0; i < 10; ++i) {
      more.push_back(Decision(absl::StrCat("b", b, "-", i), "frank", {}, "eu"));
    }
    EXPECT_TRUE(log_->AppendAll(std::move(more)).ok());
  }
  other.join();
  EXPECT_EQ(log_->HeadSeq(), 4 + 200 + 200);
  VerifyReport r = log_->Verify();
  EXPECT_TRUE(r.ok) << r.problem;
}

TEST_F(AuditLogTest, QueuedAppendsShareOneTransactionAndAreAnsweredInOrder) {
  options_.sync = Sync::kFull;
  options_.commit_window = std::chrono::milliseconds(200);  // wide: all appends arrive inside it
  Open();
  std::mutex mu;
  std::condition_variable cv;
  // Appends decisions with these ids without waiting, then waits for every answer: the seqs in
  // the order the completions ran (-1 for an error).
  auto append_all = [&](const std::vector<std::string>& ids) {
    std::vector<int64_t> seqs;
    for (const std::string& id : ids) {
      log_->AppendAsync(Decision(id, "alice", {"patients-eu"}, "eu"),
                        [&](absl::StatusOr<AuditRecord> r) {
                          std::lock_guard<std::mutex> lock(mu);
                          seqs.push_back(r.ok() ? r->seq : -1);
                          cv.notify_all();
                        });
    }
    std::unique_lock<std::mutex> lock(mu);
    EXPECT_TRUE(
        cv.wait_for(lock, std::chrono::seconds(10), [&] { return seqs.size() == ids.size(); }));
    return seqs;
  };
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i) {
    ids.push_back(absl::StrCat("q", i));
  }
  EXPECT_THAT(append_all(ids), ElementsAre(1, 2, 3, 4, 5, 6, 7, 8, 9, 10));
  CommitStats stats = log_->GetCommitStats();
  EXPECT_EQ(stats.transactions, 1);
  EXPECT_EQ(stats.records, 10);
  // A repeated id inside one batch is stored once; both callers get the stored record.
  EXPECT_THAT(append_all({"same", "same"}), ElementsAre(11, 11));
  EXPECT_EQ(log_->HeadSeq(), 11);
}

// Reads between appends must not leave half-read statements open: an open read transaction pins
// the WAL, which then grows by every page written (a daemon was seen at 1.8 GB of WAL after
// ~100,000 decisions, every look-up in it slower). Checkpoints run beside the writer and the WAL
// stays bounded; at close it is emptied.
TEST_F(AuditLogTest, TheWalStaysBoundedUnderReadsAndWrites) {
  Open();
  constexpr int kRecords = 10000;
  for (int i = 0; i < kRecords; ++i) {
    AuditRecord r = Decision(absl::StrCat("w", i), absl::StrCat("user", i % 97), {"patients-eu"},
                             i % 2 ? "eu" : "us");
    r.body_json = std::string(1000, 'x');
    ASSERT_TRUE(log_->Append(std::move(r)).ok());
    if (i % 100 == 0) {
      AuditQuery q;
      q.limit = 1;  // stops after one row: the statement is left mid-way
      ASSERT_TRUE(log_->List(q).ok());
      ASSERT_TRUE(log_->Get(absl::StrCat("w", i)).ok());
      ASSERT_TRUE(log_->LatestCheckpoint().ok());
    }
  }
  // The WAL file never shrinks while open: its size is its high-water mark. Unbounded, it
  // would hold every page written, ~400 MB here; the bound leaves room for a checkpoint thread
  // that a loaded machine schedules late.
  EXPECT_LT(fs::file_size(options_.path + "-wal"), 300u << 20);
  log_.reset();
  // Closing checkpoints everything into the database and leaves an empty WAL.
  EXPECT_GT(fs::file_size(options_.path), 10u << 20);
  EXPECT_FALSE(fs::exists(options_.path + "-wal") && fs::file_size(options_.path + "-wal") > 0);
  Open();
  EXPECT_EQ(log_->HeadSeq(), kRecords);
  VerifyReport report = log_->Verify();
  EXPECT_TRUE(report.ok) << report.problem;
}

// A real full disk: the log on a 256 KiB tmpfs in a private mount namespace (needs
// CAP_SYS_ADMIN), grown afterwards with a remount.
TEST_F(AuditLogTest, FullDiskRefusesTheRecordAndKeepsTheLogUsable) {
  std::string mnt = dir_ + "/small";
  fs::create_directory(mnt);
  testing::ChildResult child = testing::RunInChild([&](const testing::Report& report) {
    if (!testing::MountSmallTmpfs(mnt, "256k")) {
      report("no mount namespace", testing::kChildCannotSetUp);
    }
    AuditOptions o = options_;
    o.path = mnt + "/audit.db";
    auto log = AuditLog::Open(o);
    if (!log.ok()) {
      report(std::string(log.status().message()), 1);
    }
    absl::Status full;
    int appended = 0;
    for (int i = 0; i < 100000 && full.ok(); ++i) {
      AuditRecord r = Decision(absl::StrCat("d", i), "alice", {"patients-eu"}, "eu");
      r.body_json = std::string(2000, 'x');
      auto a = (*log)->Append(r);
      if (a.ok()) {
        ++appended;
      } else {
        full = a.status();
      }
    }
    VerifyReport after_full = (*log)->Verify();
    int64_t head = (*log)->HeadSeq();
    // A batch on the full disk is refused whole: no record of it is in the chain.
    std::vector<AuditRecord> batch;
    for (int i = 0; i < 50; ++i) {
      batch.push_back(Decision(absl::StrCat("batch", i), "alice", {"patients-eu"}, "eu"));
      batch.back().body_json = std::string(2000, 'x');
    }
    auto batch_result = (*log)->AppendAll(std::move(batch));
    const bool batch_refused_whole =
        !batch_result.ok() &&
        batch_result.status().code() == absl::StatusCode::kResourceExhausted &&
        (*log)->HeadSeq() == head && !(*log)->Get("batch0").ok();
    if (mount(nullptr, mnt.c_str(), nullptr, MS_REMOUNT, "size=4m") != 0) {
      report("remount failed", 1);
    }
    auto again = (*log)->Append(Decision("after", "alice", {}, "eu"));
    VerifyReport final_check = (*log)->Verify();
    report(absl::StrCat(static_cast<int>(full.code()), "|", full.message(), "|",
                        after_full.ok && after_full.records_checked == appended && head == appended,
                        "|", again.ok() && again->seq == appended + 1, "|", final_check.ok, "|",
                        batch_refused_whole),
           0);
  });
  if (child.exited && child.exit_code == testing::kChildCannotSetUp) {
    // The README's machine runs the tests as root: a full disk is always tried there.
    FAIL() << "cannot mount a small tmpfs to fill (make test runs as root): " << child.report;
  }
  ASSERT_TRUE(child.exited && child.exit_code == 0) << child.report;
  std::vector<std::string> parts = absl::StrSplit(child.report, '|');
  ASSERT_EQ(parts.size(), 6u) << child.report;
  EXPECT_EQ(parts[0], absl::StrCat(static_cast<int>(absl::StatusCode::kResourceExhausted)));
  EXPECT_EQ(parts[1], "audit log " + dir_ +
                          "/small/audit.db: no space left on device: nothing written; free space "
                          "on the filesystem holding " +
                          dir_ + "/small");
  EXPECT_EQ(parts[2], "1") << "the chain must hold exactly the acknowledged records";
  EXPECT_EQ(parts[3], "1") << "appends must work again once there is room";
  EXPECT_EQ(parts[4], "1");
  EXPECT_EQ(parts[5], "1") << "a batch on a full disk must be refused whole";
}

TEST_F(AuditLogTest, RefusesADatabaseThatIsNotAnAuditLog) {
  Sql("CREATE TABLE accounts (id INTEGER)");
  auto log = AuditLog::Open(options_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(log.status().message(),
            "audit log " + options_.path + " is a SQLite database but not an audit log");
  {
    std::ofstream junk(dir_ + "/junk.db");
    junk << std::string(4096, 'x');
  }
  options_.path = dir_ + "/junk.db";
  log = AuditLog::Open(options_);
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().message(), HasSubstr("junk.db: cannot read it: file is not a database"));
}

TEST_F(AuditLogTest, RefusesANewerSchema) {
  Open();
  log_.reset();
  Sql("UPDATE meta SET value = '9' WHERE key = 'schema_version'");
  auto log = AuditLog::Open(options_);
  ASSERT_FALSE(log.ok());
  EXPECT_EQ(log.status().message(),
            "audit log " + options_.path +
                " has schema version 9; this sovereignd reads versions 1 to 2");
}

// A log written by the first schema (no index over every record's decision id) is brought up
// to date when opened: the index appears, the records and their chain are untouched, and the
// look-ups by decision id use it instead of a scan of every record.
TEST_F(AuditLogTest, AVersionOneLogGetsTheDecisionIndex) {
  Open();
  Fill();
  log_.reset();
  Sql("DROP INDEX records_decision_all; "
      "CREATE INDEX records_attestation ON records(decision_id, seq) WHERE kind = 1; "
      "UPDATE meta SET value = '1' WHERE key = 'schema_version'");
  auto plan = [&](const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(options_.path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    std::string out;
    EXPECT_EQ(sqlite3_prepare_v2(db, ("EXPLAIN QUERY PLAN " + sql).c_str(), -1, &st, nullptr),
              SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      absl::StrAppend(&out, reinterpret_cast<const char*>(sqlite3_column_text(st, 3)), "\n");
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return out;
  };
  // What `audit list --decision` and `audit show` ask.
  const std::string by_decision =
      "SELECT seq FROM records r WHERE r.decision_id = 'd1' ORDER BY r.seq DESC LIMIT 100";
  EXPECT_THAT(plan(by_decision), HasSubstr("SCAN r"));
  Open();
  EXPECT_THAT(plan(by_decision), HasSubstr("INDEX records_decision_all"));
  EXPECT_THAT(plan("SELECT seq FROM records r WHERE r.decision_id = 'd1' AND +r.kind = 1"),
              HasSubstr("INDEX records_decision_all"));
  AuditQuery d1;
  d1.decision_id = "d1";
  EXPECT_THAT(Ids(d1), ElementsAre("d1/att", "d1"));
  VerifyReport v = log_->Verify();
  EXPECT_TRUE(v.ok) << v.problem;
  EXPECT_EQ(v.records_checked, 5);
  log_.reset();
  Open();  // and again: nothing left to do
  EXPECT_EQ(log_->HeadSeq(), 5);
}

TEST_F(AuditLogTest, RegisterVersionFilterTakesAPrefix) {
  Open();
  Fill();
  AuditRecord other = Decision("d5", "alice", {"patients-eu"}, "eu");
  other.register_version = "b" + std::string(63, '0');
  ASSERT_TRUE(log_->Append(other).ok());
  AuditQuery q;
  q.register_version = "bbbb";
  EXPECT_THAT(Ids(q), ElementsAre());
  q.register_version = "b000";
  EXPECT_THAT(Ids(q), ElementsAre("d5"));
  q.register_version = std::string(64, 'a');
  EXPECT_THAT(Ids(q), ElementsAre("d4", "d3", "d2", "d1"));
}

TEST_F(AuditLogTest, RegionsInTheLogAreKnown) {
  Open();
  Fill();
  EXPECT_TRUE(*log_->HasRegion("us"));
  EXPECT_FALSE(*log_->HasRegion("eu-west"));
}

// Placements by the plugin that nothing explains yet: not reject, not a placement with a job
// id, not one made over gRPC; gone once an attestation or an outcome names the decision.
TEST_F(AuditLogTest, UnexplainedPlacementsAreThePluginsWithoutAttestationOrOutcome) {
  Open();
  auto plugin = [&](const std::string& id, const std::string& verdict = "place") {
    AuditRecord r = Decision(id, "alice", {"patients-eu"}, "eu", verdict);
    r.caller = "uid=1000(alice) via job_submit/sovereign";
    return r;
  };
  ASSERT_TRUE(log_->Append(plugin("p1")).ok());
  ASSERT_TRUE(log_->Append(plugin("p2")).ok());
  ASSERT_TRUE(log_->Append(plugin("p3", "reject")).ok());
  ASSERT_TRUE(log_->Append(Decision("g1", "alice", {"patients-eu"}, "eu")).ok());
  ASSERT_TRUE(log_->Append(plugin("p4")).ok());
  AuditRecord outcome;
  outcome.kind = RecordKind::kOutcome;
  outcome.decision_id = "p2";
  outcome.job_id = 7;
  outcome.verdict = "cancelled";
  ASSERT_TRUE(log_->Append(outcome).ok());
  auto ids = [&](int64_t after, int limit) {
    std::vector<std::string> out;
    auto r = log_->UnexplainedPlacements(after, limit);
    EXPECT_TRUE(r.ok()) << r.status();
    for (const AuditRecord& rec : *r) {
      out.push_back(rec.decision_id);
    }
    return out;
  };
  EXPECT_THAT(ids(0, 100), ElementsAre("p1", "p4"));
  EXPECT_THAT(ids(0, 1), ElementsAre("p1"));
  EXPECT_THAT(ids(1, 100), ElementsAre("p4"));
  // The outcome binds the placement to job 7.
  AuditQuery job;
  job.job_id = 7;
  EXPECT_THAT(Ids(job), ElementsAre("p2/out", "p2"));
}

// Only attestations and outcomes explain a placement and bind its decision to a job: a node
// weight record does neither, even one that carried the decision's id and a job id. Its kind
// is stored as its number (3), read back, filtered on and hashed like any other.
TEST_F(AuditLogTest, ANodeWeightRecordExplainsNoPlacement) {
  Open();
  AuditRecord placement = Decision("p1", "alice", {"patients-eu"}, "eu");
  placement.caller = "uid=1000(alice) via job_submit/sovereign";
  ASSERT_TRUE(log_->Append(placement).ok());
  AuditRecord weight;
  weight.kind = RecordKind::kNodeWeight;
  weight.caller = "sovereignd node weights";
  weight.partition = "gpu-fr-a100";
  weight.verdict = "set";
  weight.body_json = R"({"node":"fr-a100-2","new_weight":309})";
  ASSERT_TRUE(log_->Append(weight).ok());
  AuditRecord bound_weight = weight;  // no writer does this: the log must not care if one did
  bound_weight.decision_id = "p1";
  bound_weight.job_id = 9;
  ASSERT_TRUE(log_->Append(bound_weight).ok());
  auto unexplained = log_->UnexplainedPlacements(0, 100);
  ASSERT_TRUE(unexplained.ok()) << unexplained.status();
  ASSERT_EQ(unexplained->size(), 1u);
  EXPECT_EQ((*unexplained)[0].decision_id, "p1");
  AuditQuery job;
  job.job_id = 9;
  EXPECT_THAT(Ids(job), ElementsAre("p1/weight"));
  AuditQuery kind;
  kind.kind = RecordKind::kNodeWeight;
  EXPECT_THAT(Ids(kind), ElementsAre("p1/weight", "/weight"));
  log_.reset();
  Open();
  auto stored = log_->Range(2, 2);
  ASSERT_TRUE(stored.ok()) << stored.status();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].kind, RecordKind::kNodeWeight);
  EXPECT_EQ((*stored)[0].decision_id, "");
  // The stored number, read without the log.
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(options_.path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT kind FROM records WHERE seq = 2", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 3);
  sqlite3_finalize(st);
  sqlite3_close(db);
  EXPECT_TRUE(log_->Verify().ok);
}

TEST_F(AuditLogTest, UnwritablePathIsNamed) {
  options_.path = "/proc/sovereign/audit.db";
  auto log = AuditLog::Open(options_);
  ASSERT_FALSE(log.ok());
  EXPECT_THAT(log.status().message(), HasSubstr("audit log /proc/sovereign/audit.db: cannot open"));
}

}  // namespace
}  // namespace sovereign::audit
