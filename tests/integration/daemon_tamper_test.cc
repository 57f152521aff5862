// Tampering with the audit database file - editing, deleting or reordering a record - is caught
// by `sovereignctl audit verify`, offline (a copy of the file and the log's public key) and by
// the daemon when it runs on the tampered file again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "support/daemon_process.h"

namespace sovereign::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class DaemonTamperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Log();
    for (int i = 0; i < 6; ++i) {
      ASSERT_EQ(StatusOf(daemon_.Probe("PlacementService.Decide", kAliceJob)), "OK");
    }
    RunResult cp = daemon_.Probe("AuditService.GetCheckpoint", R"({"fresh":true})");
    ASSERT_EQ(StatusOf(cp), "OK") << cp.out;
    json body = json::parse(cp.out.substr(cp.out.find('\n') + 1));
    public_key_ = daemon_.dir() + "/audit-public.pem";
    WriteFile(public_key_, body["checkpoint"]["public_key"].get<std::string>());
    int status = daemon_.Stop(SIGTERM);
    ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon_.Log();
  }

  RunResult VerifyOffline() {
    return RunProgram({SOVEREIGNCTL_PATH, "audit", "verify", "--db", daemon_.audit_db(),
                       "--public-key", public_key_});
  }

  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(daemon_.audit_db().c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
    std::string message = err != nullptr ? err : "";
    sqlite3_free(err);
    sqlite3_close(db);
    ASSERT_EQ(rc, SQLITE_OK) << message;
  }

  DaemonProcess daemon_;
  std::string public_key_;
};

TEST_F(DaemonTamperTest, UntouchedCopyVerifies) {
  RunResult r = VerifyOffline();
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat(daemon_.audit_db(), " verified: 6 records")));
}

TEST_F(DaemonTamperTest, EditedRecordIsFound) {
  Sql("UPDATE records SET region = 'us' WHERE seq = 3");
  RunResult r = VerifyOffline();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("FAILED verification at record 3: "));
  // The daemon, started on the tampered file, says the same.
  ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Log();
  RunResult online = daemon_.Ctl({"audit", "verify"});
  EXPECT_EQ(online.exit_code, 1);
  EXPECT_THAT(online.out, HasSubstr("audit log FAILED verification at record 3: "));
}

TEST_F(DaemonTamperTest, DeletedRecordIsFound) {
  Sql("DELETE FROM records WHERE seq = 4");
  RunResult r = VerifyOffline();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("FAILED verification at record "));
}

TEST_F(DaemonTamperTest, ReorderedRecordsAreFound) {
  // Swap the contents of records 2 and 5, each keeping its own hash fields: the rows are all
  // genuine, only their order is not.
  Sql("UPDATE records SET seq = -2 WHERE seq = 2;"
      "UPDATE records SET seq = 2 WHERE seq = 5;"
      "UPDATE records SET seq = 5 WHERE seq = -2;");
  RunResult r = VerifyOffline();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.out, HasSubstr("FAILED verification at record 2: "));
}

}  // namespace
}  // namespace sovereign::testing
