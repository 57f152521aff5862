// The coalescing WAL VFS: one write per transaction reaches the VFS below, a committed
// transaction is in the kernel when COMMIT returns (another connection and a killed process's
// successor see it), and transactions larger than one write go out whole.
#include "wal_coalesce.h"

#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "support/temp_dir.h"

namespace sovereign::audit::sqlite {
namespace {

namespace fs = std::filesystem;

// The VFS below the coalescing one: the default VFS, counting writes to WAL files. Registered
// as the default before the coalescing VFS is first used, so that it wraps this one.
std::atomic<int> wal_writes{0};
sqlite3_vfs* real_vfs = nullptr;
sqlite3_io_methods counting_methods;
int (*real_write)(sqlite3_file*, const void*, int, sqlite3_int64) = nullptr;

int CountingWrite(sqlite3_file* f, const void* data, int n, sqlite3_int64 off) {
  ++wal_writes;
  return real_write(f, data, n, off);
}

int CountingOpen(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out) {
  int rc = real_vfs->xOpen(real_vfs, name, f, flags, out);
  if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) != 0 && f->pMethods != nullptr) {
    if (real_write == nullptr) {
      counting_methods = *f->pMethods;
      real_write = counting_methods.xWrite;
      counting_methods.xWrite = CountingWrite;
    }
    f->pMethods = &counting_methods;
  }
  return rc;
}

const char* Vfs() {
  static const char* name = [] {
    real_vfs = sqlite3_vfs_find(nullptr);
    static sqlite3_vfs counting = *real_vfs;
    counting.zName = "counting";
    counting.xOpen = CountingOpen;
    sqlite3_vfs_register(&counting, /*makeDflt=*/1);
    const char* coalescing = CoalescingWalVfs();
    sqlite3_vfs_register(real_vfs, /*makeDflt=*/1);  // plain connections: no counting
    return coalescing;
  }();
  return name;
}

class WalCoalesceTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    path_ = dir_ + "/t.db";
    ASSERT_NE(Vfs(), nullptr);
  }

  sqlite3* OpenDb(const char* vfs) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs),
              SQLITE_OK);
    return db;
  }
  static void Exec(sqlite3* db, const std::string& sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK)
        << sql << ": " << (err != nullptr ? err : "");
    sqlite3_free(err);
  }
  static int64_t Count(sqlite3* db, const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr), SQLITE_OK);
    int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    return n;
  }

  std::string path_;
};

TEST_F(WalCoalesceTest, ATransactionOfManyPagesIsOneWalWrite) {
  sqlite3* db = OpenDb(Vfs());
  Exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  // Ten indexes: each row touches at least eleven pages.
  Exec(db, "CREATE TABLE t (a, b, c, d, e, f, g, h, i, j, k)");
  for (char col = 'a'; col <= 'j'; ++col) {
    Exec(db, std::string("CREATE INDEX t_") + col + " ON t(" + col + ")");
  }
  Exec(db, "INSERT INTO t VALUES (1,2,3,4,5,6,7,8,9,10,11)");
  wal_writes = 0;
  Exec(db, "INSERT INTO t VALUES (randomblob(300), 2,3,4,5,6,7,8,9,10,11)");
  // Uncoalesced, SQLite writes a header and a page per frame: 22 writes or more.
  EXPECT_EQ(wal_writes.load(), 1);
  sqlite3_close(db);
}

TEST_F(WalCoalesceTest, ACommittedTransactionIsVisibleToAnotherConnectionAtOnce) {
  sqlite3* writer = OpenDb(Vfs());
  Exec(writer, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  Exec(writer, "CREATE TABLE t (x)");
  sqlite3* reader = OpenDb(nullptr);  // the default VFS: reads what is in the file
  for (int i = 1; i <= 50; ++i) {
    Exec(writer, "INSERT INTO t VALUES (randomblob(5000))");
    ASSERT_EQ(Count(reader, "SELECT count(*) FROM t"), i);
  }
  sqlite3_close(reader);
  sqlite3_close(writer);
}

TEST_F(WalCoalesceTest, ATransactionLargerThanOneWriteCommitsWhole) {
  sqlite3* db = OpenDb(Vfs());
  Exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL");
  Exec(db, "CREATE TABLE t (x)");
  // 2 MiB in one transaction: more than the VFS gathers, and than the VFS below takes at once.
  Exec(db, "BEGIN; INSERT INTO t VALUES (randomblob(1048576)); "
           "INSERT INTO t VALUES (randomblob(1048576)); COMMIT");
  sqlite3_close(db);
  sqlite3* plain = OpenDb(nullptr);
  EXPECT_EQ(Count(plain, "SELECT sum(length(x)) FROM t"), 2 * 1048576);
  EXPECT_EQ(Count(plain, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check='ok'"),
            1);
  sqlite3_close(plain);
}

TEST_F(WalCoalesceTest, EveryCommitAcknowledgedBeforeSigkillSurvives) {
  {
    sqlite3* db = OpenDb(nullptr);
    Exec(db, "PRAGMA journal_mode=WAL; CREATE TABLE t (x INTEGER PRIMARY KEY, pad)");
    sqlite3_close(db);
  }
  int acks[2];
  ASSERT_EQ(pipe(acks), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(acks[0]);
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, Vfs()) != SQLITE_OK) {
      _exit(2);
    }
    sqlite3_exec(db, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr);
    for (int32_t i = 1; i <= 100000; ++i) {
      std::string sql = "INSERT INTO t VALUES (" + std::to_string(i) + ", randomblob(900))";
      if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK ||
          write(acks[1], &i, sizeof i) != sizeof i) {
        _exit(3);
      }
    }
    _exit(0);
  }
  close(acks[1]);
  int32_t last = 0, got = 0;
  while (last < 500 && read(acks[0], &got, sizeof got) == sizeof got) {
    last = got;
  }
  kill(child, SIGKILL);  // mid-transaction, most likely: the child does nothing else
  while (read(acks[0], &got, sizeof got) == sizeof got) {
    last = got;  // acknowledged before it died
  }
  close(acks[0]);
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status));
  ASSERT_GE(last, 500);
  sqlite3* db = OpenDb(nullptr);
  EXPECT_GE(Count(db, "SELECT max(x) FROM t"), last);
  EXPECT_EQ(Count(db, "SELECT count(*) FROM t"), Count(db, "SELECT max(x) FROM t"));
  EXPECT_EQ(Count(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check='ok'"), 1);
  sqlite3_close(db);
}

}  // namespace
}  // namespace sovereign::audit::sqlite
