// Who may do what, with real callers: the test forks, drops to another uid (and groups), and
// execs rpc_probe, which calls sovereignd over its unix socket; the daemon knows the caller only
// from SO_PEERCRED. Every RPC has an allowed and a denied caller. The TCP listener maps client
// certificate common names to roles (certificates made with openssl at test time).
// daemon_rpc_matrix_test.cc calls every RPC as every kind of caller; this file follows a few
// stories through.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "absl/strings/str_cat.h"
#include "support/daemon_process.h"
#include "support/test_pki.h"

namespace sovereign::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json Body(const RunResult& r) {
  return json::parse(r.out.substr(r.out.find('\n') + 1), nullptr, false);
}

class DaemonRolesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Log();
    // One decision for alice and one for nobody, both by the service role.
    RunResult a = daemon_.Probe("PlacementService.Decide", kAliceJob);
    ASSERT_EQ(StatusOf(a), "OK") << a.out;
    alice_id_ = Body(a)["decision"]["decision_id"];
    RunResult n = daemon_.Probe("PlacementService.Decide", kNobodysJob, kService);
    ASSERT_EQ(StatusOf(n), "OK") << n.out;
    nobody_id_ = Body(n)["decision"]["decision_id"];
  }

  static constexpr char kNobodysJob[] =
      R"({"job":{"user":"nobody","uid":65534,"datasets":["imagenet-public"],"gpus":1}})";
  DaemonProcess daemon_;
  std::string alice_id_, nobody_id_;
};

// Every Decide appends to the audit log: a caller without the service role could grow it
// without bound and bury real decisions in noise. Such callers ask with Explain.
TEST_F(DaemonRolesTest, OnlyTheServiceRoleRecordsPlacements) {
  const std::string refused =
      " may not record a placement: Decide is for the service role; Explain (sovereignctl "
      "explain) says where a job would go and why, and records nothing\n";
  RunResult own = daemon_.Probe("PlacementService.Decide", kOwnJob, kNobody);
  EXPECT_EQ(own.out, "PERMISSION_DENIED uid=65534(nobody)" + refused);
  RunResult other = daemon_.Probe("PlacementService.Decide", kAliceJob, kNobody);
  EXPECT_EQ(other.out, "PERMISSION_DENIED uid=65534(nobody)" + refused);
  RunResult auditor = daemon_.Probe("PlacementService.Decide", kOwnJob, kAuditor);
  EXPECT_EQ(auditor.out, "PERMISSION_DENIED uid=4202(#4202)" + refused);
  RunResult admin = daemon_.Probe("PlacementService.Decide", kOwnJob, kAdmin);
  EXPECT_EQ(admin.out, "PERMISSION_DENIED uid=4201(#4201)" + refused);
  // Nothing was recorded: the log holds the two decisions of SetUp.
  RunResult all = daemon_.Probe("AuditService.ListDecisions", "{}", kAuditor);
  ASSERT_EQ(StatusOf(all), "OK") << all.out;
  EXPECT_EQ(Body(all)["records"].size(), 2u);
}

TEST_F(DaemonRolesTest, ExplainForYourselfButNotForOthers) {
  RunResult own = daemon_.Probe("PlacementService.Explain", kOwnJob, kNobody);
  ASSERT_EQ(StatusOf(own), "OK") << own.out;
  EXPECT_EQ(Body(own)["decision"]["verdict"], "VERDICT_PLACE");
  EXPECT_EQ(Body(own)["decision"].value("recorded", false), false);

  RunResult other = daemon_.Probe("PlacementService.Explain", kAliceJob, kNobody);
  EXPECT_EQ(other.out,
            "PERMISSION_DENIED uid=65534(nobody) may ask only for its own jobs, not for user "
            "\"alice\" (service role needed)\n");
  RunResult uid = daemon_.Probe("PlacementService.Explain",
                                R"({"job":{"uid":0,"datasets":["imagenet-public"]}})", kNobody);
  EXPECT_EQ(uid.out,
            "PERMISSION_DENIED uid=65534(nobody) may ask only for its own jobs, not for uid 0 "
            "(service role needed)\n");
  RunResult group =
      daemon_.Probe("PlacementService.Explain",
                    R"({"job":{"groups":["oncology"],"datasets":["patients-eu"]}})", kNobody);
  EXPECT_EQ(group.out, "PERMISSION_DENIED uid=65534(nobody) is not in group \"oncology\"\n");
  // Nothing was recorded.
  RunResult all = daemon_.Probe("AuditService.ListDecisions", "{}", kAuditor);
  EXPECT_EQ(Body(all)["records"].size(), 2u);
}

TEST_F(DaemonRolesTest, ServiceUserDecidesForAnyone) {
  RunResult r = daemon_.Probe("PlacementService.Decide", kAliceJob, kService);
  ASSERT_EQ(StatusOf(r), "OK") << r.out;
  EXPECT_EQ(Body(r)["decision"]["verdict"], "VERDICT_PLACE");
  RunResult again = daemon_.Probe(
      "PlacementService.Decide",
      absl::StrCat(R"({"decision_id":"slurm-retry-1",)", std::string(kAliceJob).substr(1)),
      kService);
  ASSERT_EQ(StatusOf(again), "OK") << again.out;
  EXPECT_EQ(Body(again)["decision"]["decision_id"], "slurm-retry-1");
}

TEST_F(DaemonRolesTest, AuditorsListEverythingUsersOnlyTheirOwn) {
  RunResult all = daemon_.Probe("AuditService.ListDecisions", "{}", kAuditor);
  ASSERT_EQ(StatusOf(all), "OK") << all.out;
  EXPECT_EQ(Body(all)["records"].size(), 2u);
  RunResult own = daemon_.Probe("AuditService.ListDecisions", "{}", kNobody);
  ASSERT_EQ(StatusOf(own), "OK") << own.out;
  ASSERT_EQ(Body(own)["records"].size(), 1u);
  EXPECT_EQ(Body(own)["records"][0]["decision_id"], nobody_id_);
  RunResult other =
      daemon_.Probe("AuditService.ListDecisions", R"({"filter":{"user":"alice"}})", kNobody);
  EXPECT_EQ(other.out,
            "PERMISSION_DENIED uid=65534(nobody) may read only its own decisions, not those of "
            "user \"alice\" (auditor role needed)\n");
}

TEST_F(DaemonRolesTest, GetDecisionOwnOrAsAuditor) {
  EXPECT_EQ(
      StatusOf(daemon_.Probe("AuditService.GetDecision",
                             absl::StrCat(R"({"decision_id":")", nobody_id_, "\"}"), kNobody)),
      "OK");
  EXPECT_EQ(
      StatusOf(daemon_.Probe("AuditService.GetDecision",
                             absl::StrCat(R"({"decision_id":")", alice_id_, "\"}"), kAuditor)),
      "OK");
  RunResult denied = daemon_.Probe("AuditService.GetDecision",
                                   absl::StrCat(R"({"decision_id":")", alice_id_, "\"}"), kNobody);
  EXPECT_EQ(denied.out, absl::StrCat("PERMISSION_DENIED uid=65534(nobody) may read only its own "
                                     "decisions; decision ",
                                     alice_id_, " is not one of them (auditor role needed)\n"));
}

TEST_F(DaemonRolesTest, WatchAsAuditorNotOthersRecords) {
  RunResult ok = daemon_.Probe("AuditService.WatchDecisions", R"({"after_seq":"1"})", kAuditor);
  ASSERT_EQ(StatusOf(ok), "OK") << ok.out;
  EXPECT_EQ(Body(ok)["record"]["seq"], "2");
  RunResult denied = daemon_.Probe("AuditService.WatchDecisions",
                                   R"({"filter":{"user":"alice"},"after_seq":"1"})", kNobody);
  EXPECT_EQ(StatusOf(denied), "PERMISSION_DENIED");
}

TEST_F(DaemonRolesTest, CheckpointExportVerifyForAuditorsOnly) {
  for (const char* method :
       {"AuditService.GetCheckpoint", "AuditService.Export", "AuditService.Verify"}) {
    RunResult ok = daemon_.Probe(method, "{}", kAuditor);
    EXPECT_EQ(StatusOf(ok), "OK") << method << ": " << ok.out;
    RunResult denied = daemon_.Probe(method, "{}", kNobody);
    EXPECT_EQ(StatusOf(denied), "PERMISSION_DENIED") << method << ": " << denied.out;
  }
  EXPECT_EQ(daemon_.Probe("AuditService.Verify", "{}", kNobody).out,
            "PERMISSION_DENIED uid=65534(nobody) may not verify the audit log: it needs the "
            "admin or auditor role\n");
}

TEST_F(DaemonRolesTest, OnlyAdminsApplyAndRollBack) {
  std::string yaml = json(ReadFile(daemon_.register_path())).dump();
  std::string apply = absl::StrCat(R"({"yaml":)", yaml, R"(,"filename":"r.yaml"})");
  RunResult denied = daemon_.Probe("RegisterService.Apply", apply, kAuditor);
  EXPECT_EQ(denied.out,
            "PERMISSION_DENIED uid=4202(#4202) may not apply a register: it needs the admin "
            "role\n");
  RunResult ok = daemon_.Probe("RegisterService.Apply", apply, kAdmin);
  ASSERT_EQ(StatusOf(ok), "OK") << ok.out;
  EXPECT_EQ(Body(ok)["revision"]["applied_by"], "uid=4201(#4201)");
  std::string version = Body(ok)["revision"]["version"];
  std::string rollback = absl::StrCat(R"({"version":")", version, "\"}");
  EXPECT_EQ(StatusOf(daemon_.Probe("RegisterService.Rollback", rollback, kNobody)),
            "PERMISSION_DENIED");
  EXPECT_EQ(StatusOf(daemon_.Probe("RegisterService.Rollback", rollback, kAdmin)), "OK");
}

TEST_F(DaemonRolesTest, HistoryAndDiffForAdminsAndAuditors) {
  std::string version = Body(daemon_.Probe("AdminService.GetStatus", "{}"))["register_version"];
  std::string diff = absl::StrCat(R"({"from_version":")", version, "\"}");
  EXPECT_EQ(StatusOf(daemon_.Probe("RegisterService.History", "{}", kAuditor)), "OK");
  EXPECT_EQ(StatusOf(daemon_.Probe("RegisterService.History", "{}", kNobody)), "PERMISSION_DENIED");
  EXPECT_EQ(StatusOf(daemon_.Probe("RegisterService.Diff", diff, kAdmin)), "OK");
  EXPECT_EQ(StatusOf(daemon_.Probe("RegisterService.Diff", diff, kNobody)), "PERMISSION_DENIED");
}

TEST_F(DaemonRolesTest, AnyLocalUserReadsTheRegisterValidatesAndAsksStatus) {
  RunResult get = daemon_.Probe("RegisterService.Get", "{}", kNobody);
  ASSERT_EQ(StatusOf(get), "OK") << get.out;
  EXPECT_EQ(Body(get)["active"], true);
  RunResult validate =
      daemon_.Probe("RegisterService.Validate", R"({"yaml":"regions: [\n"})", kNobody);
  ASSERT_EQ(StatusOf(validate), "OK") << validate.out;
  EXPECT_EQ(Body(validate).value("valid", false), false);
  RunResult status = daemon_.Probe("AdminService.GetStatus", "{}", kNobody);
  EXPECT_EQ(Body(status)["caller_roles"], json::array({"user"}));
  RunResult admin = daemon_.Probe("AdminService.GetStatus", "{}", kAdmin);
  EXPECT_EQ(Body(admin)["caller_roles"], json::array({"admin"}));
}

// A caller without a role is bounded per uid (sovereignd.yaml limits); the service role never.
TEST(DaemonLimitsTest, ACallerWithoutARoleIsBoundedPerUidTheServiceRoleNever) {
  DaemonProcess daemon;
  daemon.AddConfig("limits:\n  user_calls_per_second: 1\n  user_burst: 3\n");
  ASSERT_TRUE(daemon.Start().ok()) << daemon.Log();
  for (int i = 0; i < 3; ++i) {  // the burst
    RunResult r = daemon.Probe("PlacementService.Explain", kOwnJob, kNobody);
    ASSERT_EQ(StatusOf(r), "OK") << i << ": " << r.out;
  }
  // Then one call a second: one of the next calls, made as fast as a process starts, is over.
  RunResult over;
  int refused = 0;
  for (int i = 0; i < 20 && refused == 0; ++i) {
    over = daemon.Probe("RegisterService.Get", "{}", kNobody);
    refused += StatusOf(over) == "RESOURCE_EXHAUSTED" ? 1 : 0;
  }
  ASSERT_EQ(refused, 1) << over.out;
  EXPECT_THAT(over.out,
              ::testing::StartsWith(
                  "RESOURCE_EXHAUSTED uid=65534(nobody) is over its limit of 1 calls a second (3 "
                  "at once; limits.user_calls_per_second and limits.user_burst in "
                  "sovereignd.yaml): try again in "));
  for (int i = 0; i < 6; ++i) {  // more than the burst, at once
    RunResult r = daemon.Probe("PlacementService.Decide", kAliceJob, kService);
    ASSERT_EQ(StatusOf(r), "OK") << i << ": " << r.out;
  }
  RunResult status = daemon.Ctl({"status"});
  EXPECT_THAT(status.out, HasSubstr("decisions served: 9; calls over a user's limits refused: 1 "
                                    "(sovereignd.yaml limits)\n"));
}

// Mutual TLS: certificate common names map to roles; an unknown name may do nothing.
class DaemonTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<TestPki> pki = TestPki::Create(daemon_.dir() + "/pki");
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_.emplace(*std::move(pki));
    for (auto [name, cn] : {std::pair{"auditor", "auditor-1"}, std::pair{"stranger", "stranger"}}) {
      absl::StatusOr<TlsIdentity> made = pki_->Issue(name, cn);
      ASSERT_TRUE(made.ok()) << made.status();
      clients_[name] = *made;
    }
    daemon_.AddConfig(pki_->DaemonConfig());
    ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Log();
    port_ = daemon_.TcpPort();
    ASSERT_NE(port_, 0) << daemon_.Log();
  }

  RunResult Call(const std::string& who, const std::string& method, const std::string& body) {
    return ProbeOverTls(port_, *pki_, clients_.at(who), method, body);
  }

  DaemonProcess daemon_;
  std::optional<TestPki> pki_;
  std::map<std::string, TlsIdentity> clients_;
  int port_ = 0;
};

TEST_F(DaemonTlsTest, CommonNameMapsToRoles) {
  RunResult status = Call("auditor", "AdminService.GetStatus", "{}");
  ASSERT_EQ(StatusOf(status), "OK") << status.out << status.err;
  EXPECT_EQ(Body(status)["caller"], "cn=auditor-1 (mTLS)");
  EXPECT_EQ(Body(status)["caller_roles"], json::array({"auditor"}));
  EXPECT_EQ(StatusOf(Call("auditor", "AuditService.Verify", "{}")), "OK");
  EXPECT_EQ(Call("auditor", "RegisterService.Apply", R"({"yaml":"x"})").out,
            "PERMISSION_DENIED cn=auditor-1 (mTLS) may not apply a register: it needs the admin "
            "role\n");

  RunResult stranger = Call("stranger", "AuditService.ListDecisions", "{}");
  EXPECT_EQ(stranger.out,
            "PERMISSION_DENIED cn=stranger (mTLS) may not read the audit log: it needs the "
            "admin, auditor or service role\n");
  EXPECT_EQ(Call("stranger", "RegisterService.Get", "{}").out,
            "PERMISSION_DENIED cn=stranger (mTLS) may not read the register: it needs the "
            "admin, auditor or service role\n");
  EXPECT_EQ(Call("stranger", "PlacementService.Explain", R"({"job":{"user":"x"}})").out,
            "PERMISSION_DENIED cn=stranger (mTLS) may not ask for a placement: it needs the "
            "admin, auditor or service role\n");
  EXPECT_EQ(Call("stranger", "AdminService.GetStatus", "{}").out,
            "PERMISSION_DENIED cn=stranger (mTLS) may not ask for the daemon's status: it needs "
            "the admin, auditor or service role\n");
}

TEST_F(DaemonTlsTest, ClientWithoutACertificateFromTheCaIsRefusedAtTheHandshake) {
  // A certificate another CA signed: the handshake fails and no call reaches a service. The
  // client sees only its connection closed, which a daemon that died mid-handshake would give
  // too: the daemon's log must say it refused the certificate, and it must answer afterwards.
  absl::StatusOr<TlsIdentity> other = pki_->IssueByOtherCa("other", "auditor-1");
  ASSERT_TRUE(other.ok()) << other.status();
  clients_["other"] = *other;
  RunResult r = Call("other", "AdminService.GetStatus", "{}");
  EXPECT_EQ(r.out, RefusedCertificateOutput(port_)) << r.err;
  EXPECT_THAT(daemon_.Log(), HasSubstr(kRefusedCertificateLog));
  EXPECT_TRUE(daemon_.Alive()) << daemon_.Log();
  EXPECT_EQ(StatusOf(Call("auditor", "AdminService.GetStatus", "{}")), "OK");
}

}  // namespace
}  // namespace sovereign::testing
