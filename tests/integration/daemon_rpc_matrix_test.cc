// Every RPC sovereignd serves, called by every kind of caller, against docs/daemon.md's table
// "Who may call what". The RPCs are not listed by hand: the services are those sovereignd
// serves (its reflection service says which) and those of proto/sovereign/v1/, and their
// methods come from the generated descriptors, so a new RPC without a row here fails the test.
//
// Callers on the unix socket are real processes of other uids (rpc_probe, run by RunProgram
// with setuid): slurmctld's user (the service role), an admin, an auditor, a researcher
// (sov-alice, a Unix user) and a uid no account has. Over TCP they are client certificates
// made with openssl: an auditor's, one whose common name has no role, one that expired and one
// from another CA.
//
// A denial must be the denial the table says, code and message, never UNAVAILABLE: after each
// one the daemon must still be running and answer a call that must succeed. A certificate
// refused at the TLS handshake reaches no service, so its client sees only a closed
// connection (UNAVAILABLE); there the daemon's log must show that it refused that certificate.
#include <grp.h>
#include <pwd.h>

#include <google/protobuf/descriptor.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "support/daemon_process.h"
#include "support/minicluster.h"
#include "support/test_pki.h"

namespace sovereign::testing {
namespace {

using nlohmann::json;

// The callers, the table's columns.
enum Column {
  kServiceUser,   // slurmctld's user: roles.service (uid 4203)
  kAdminUser,     // roles.admins through its group (uid 4201, group 4210)
  kAuditorUser,   // roles.auditors through its group (uid 4202, group 4220)
  kResearcher,    // sov-alice: a Unix user without a role
  kUnknownUid,    // uid 4299: no account, no role
  kTlsAuditor,    // certificate of the CA, common name auditor-1 (roles.auditors)
  kTlsNoRole,     // certificate of the CA, common name stranger (no role)
  kTlsExpired,    // certificate of the CA for auditor-1, expired
  kTlsOtherCa,    // certificate for auditor-1 from another CA
  kColumns,
};

constexpr std::array<const char*, kColumns> kColumnNames = {
    "slurmctld's user (service)", "admin",          "auditor",
    "researcher (sov-alice)",     "unknown uid",    "mTLS auditor-1",
    "mTLS unknown name",          "mTLS expired",   "mTLS other CA"};

// What a cell expects: the status code and, unless OK, the whole message. In messages and
// requests, {caller} is the column's caller as the daemon names it, and {alice_id},
// {researcher_id}, {version} and {register} the fixture's values.
struct Expect {
  std::string code;
  std::string message;
};

Expect Ok() { return {"OK", ""}; }
Expect Denied(const std::string& message) { return {"PERMISSION_DENIED", message}; }
// RequireRole's refusal (service_context.cc).
Expect NeedsRole(const std::string& action, const std::string& roles) {
  return Denied(absl::StrCat("{caller} may not ", action, ": it needs the ", roles, " role"));
}
const std::string kAnyRole = "admin, auditor or service";
const std::string kReaders = "admin or auditor";
const std::string kAdmins = "admin";

// One call of one RPC by every caller. The two certificates refused at the handshake are the
// same for every row (CheckRefusedCertificate), so a row gives the first seven columns.
struct Row {
  std::string method;  // full name: "sovereign.v1.PlacementService/Decide"
  std::string what;    // the case, when an RPC has more than one
  std::string request; // JSON
  std::array<Expect, kTlsExpired> cells;
};

std::vector<Row> Table() {
  const Expect not_recording = Denied(
      "{caller} may not record a placement: Decide is for the service role; Explain "
      "(sovereignctl explain) says where a job would go and why, and records nothing");
  const Expect no_unix_identity =
      Denied("{caller} has no Unix identity: only the service role may decide over TCP");
  const Expect not_alices_job = Denied(
      "{caller} may ask only for its own jobs, not for user \"alice\" (service role needed)");
  const Expect not_alices_list = Denied(
      "{caller} may read only its own decisions, not those of user \"alice\" (auditor role "
      "needed)");
  const Expect read_log = NeedsRole("read the audit log", kAnyRole);
  const Expect ok = Ok();
  auto not_own = [](const std::string& id) {
    return Denied(absl::StrCat("{caller} may read only its own decisions; decision {", id,
                               "} is not one of them (auditor role needed)"));
  };
  auto readers_only = [&](const std::string& action) {
    const Expect no = NeedsRole(action, kReaders);
    return std::array<Expect, kTlsExpired>{no, ok, ok, no, no, ok, no};
  };
  auto admins_only = [&](const std::string& action) {
    const Expect no = NeedsRole(action, kAdmins);
    return std::array<Expect, kTlsExpired>{no, ok, no, no, no, no, no};
  };
  auto anyone = [&](const std::string& action) {
    return std::array<Expect, kTlsExpired>{ok, ok, ok, ok, ok, ok, NeedsRole(action, kAnyRole)};
  };
  //           service         admin            auditor          researcher
  //           unknown uid     mTLS auditor-1   mTLS no role
  return {
      {"sovereign.v1.PlacementService/Decide", "", kAliceJob,
       {ok, not_recording, not_recording, not_recording, not_recording, not_recording,
        NeedsRole("ask for a placement", kAnyRole)}},
      {"sovereign.v1.PlacementService/Explain", "the caller's own job", kOwnJob,
       {Expect{"INVALID_ARGUMENT",
               "job field \"user\" is empty: a service caller must name the job's user"},
        ok, ok, ok, ok, no_unix_identity, NeedsRole("ask for a placement", kAnyRole)}},
      {"sovereign.v1.PlacementService/Explain", "alice's job", kAliceJob,
       {ok, not_alices_job, not_alices_job, not_alices_job, not_alices_job, no_unix_identity,
        NeedsRole("ask for a placement", kAnyRole)}},
      {"sovereign.v1.PlacementService/ListDatasets", "", "{}",
       {ok, ok, ok, ok, ok,
        Denied("{caller} has no Unix identity: datasets are listed for the Unix user who asks"),
        NeedsRole("list datasets", kAnyRole)}},
      {"sovereign.v1.AuditService/ListDecisions", "the caller's own", "{}",
       {ok, ok, ok, ok, ok, ok, read_log}},
      {"sovereign.v1.AuditService/ListDecisions", "alice's", R"({"filter":{"user":"alice"}})",
       {not_alices_list, ok, ok, not_alices_list, not_alices_list, ok, read_log}},
      {"sovereign.v1.AuditService/GetDecision", "alice's", R"({"decision_id":"{alice_id}"})",
       {not_own("alice_id"), ok, ok, not_own("alice_id"), not_own("alice_id"), ok, read_log}},
      {"sovereign.v1.AuditService/GetDecision", "sov-alice's",
       R"({"decision_id":"{researcher_id}"})",
       {not_own("researcher_id"), ok, ok, ok, not_own("researcher_id"), ok, read_log}},
      // Every unix caller has a decision after the first: the stream's first record is its own.
      {"sovereign.v1.AuditService/WatchDecisions", "the caller's own", R"({"after_seq":"1"})",
       {ok, ok, ok, ok, ok, ok, read_log}},
      {"sovereign.v1.AuditService/WatchDecisions", "alice's",
       R"({"filter":{"user":"alice"},"after_seq":"1"})",
       {not_alices_list, ok, ok, not_alices_list, not_alices_list, ok, read_log}},
      {"sovereign.v1.AuditService/GetCheckpoint", "", "{}",
       readers_only("read the audit checkpoint")},
      {"sovereign.v1.AuditService/Export", "", "{}", readers_only("export the audit log")},
      {"sovereign.v1.AuditService/Verify", "", "{}", readers_only("verify the audit log")},
      {"sovereign.v1.AuditService/EnergyReport", "", R"({"by":"account"})",
       readers_only("read the energy report")},
      {"sovereign.v1.RegisterService/Get", "", "{}", anyone("read the register")},
      {"sovereign.v1.RegisterService/Validate", "", R"({"yaml":{register}})",
       anyone("validate a register")},
      // A dry run: the admin's call is checked and answered, the register stays.
      {"sovereign.v1.RegisterService/Apply", "",
       R"({"yaml":{register},"filename":"register.yaml","dry_run":true})",
       admins_only("apply a register")},
      {"sovereign.v1.RegisterService/History", "", "{}",
       readers_only("read the register history")},
      {"sovereign.v1.RegisterService/Diff", "", R"({"from_version":"{version}"})",
       readers_only("diff register versions")},
      // Back to the version in force: a new revision of the same register.
      {"sovereign.v1.RegisterService/Rollback", "", R"({"version":"{version}"})",
       admins_only("roll the register back")},
      {"sovereign.v1.AdminService/GetStatus", "", "{}", anyone("ask for the daemon's status")},
      // grpc's services, for grpcurl: no role is checked, on either transport.
      {"grpc.health.v1.Health/Check", "", "", {ok, ok, ok, ok, ok, ok, ok}},
      {"grpc.health.v1.Health/Watch", "", "", {ok, ok, ok, ok, ok, ok, ok}},
      {"grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", "", "",
       {ok, ok, ok, ok, ok, ok, ok}},
  };
}

// grpc's services have no descriptors in this repository: their methods, and how rpc_probe
// names a call of each.
const std::map<std::string, std::map<std::string, std::string>>& GrpcServices() {
  static const auto* services = new std::map<std::string, std::map<std::string, std::string>>{
      {"grpc.health.v1.Health", {{"Check", "Health.Check"}, {"Watch", "Health.Watch"}}},
      {"grpc.reflection.v1alpha.ServerReflection",
       {{"ServerReflectionInfo", "Reflection.ListServices"}}},
  };
  return *services;
}

constexpr char kPackage[] = "sovereign.v1.";

// rpc_probe's name of a method: "PlacementService.Decide", "Health.Check".
std::string ProbeName(const std::string& method) {
  const size_t slash = method.find('/');
  const std::string service = method.substr(0, slash);
  if (absl::StartsWith(service, kPackage)) {
    return absl::StrCat(service.substr(sizeof(kPackage) - 1), ".", method.substr(slash + 1));
  }
  return GrpcServices().at(service).at(method.substr(slash + 1));
}

class DaemonRpcMatrixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The researcher is a real account (the e2e tests' sov-alice), with her groups.
    e2e::EnsureResearchers();
    const passwd* alice = getpwnam(e2e::kAlice);
    ASSERT_NE(alice, nullptr) << e2e::kAlice << " could not be created";
    int count = 64;
    std::vector<gid_t> groups(count);
    ASSERT_GE(getgrouplist(e2e::kAlice, alice->pw_gid, groups.data(), &count), 0);
    groups.resize(count);
    researcher_ = Identity{alice->pw_uid, alice->pw_gid, groups};
    researcher_name_ = absl::StrCat("uid=", alice->pw_uid, "(", e2e::kAlice, ")");

    absl::StatusOr<TestPki> pki = TestPki::Create(daemon_.dir() + "/pki");
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_.emplace(*std::move(pki));
    for (auto [column, made] :
         {std::pair{kTlsAuditor, pki_->Issue("auditor", "auditor-1")},
          std::pair{kTlsNoRole, pki_->Issue("stranger", "stranger")},
          std::pair{kTlsExpired, pki_->IssueExpired("expired", "auditor-1")},
          std::pair{kTlsOtherCa, pki_->IssueByOtherCa("other-ca-auditor", "auditor-1")}}) {
      ASSERT_TRUE(made.ok()) << made.status();
      certificates_[column] = *made;
    }
    daemon_.AddConfig(pki_->DaemonConfig());
    // Callers without a role are not to run out of calls here (daemon_roles_test checks the
    // limits).
    daemon_.AddConfig("limits:\n  user_calls_per_second: 10000\n  user_burst: 10000\n");
    ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Log();
    port_ = daemon_.TcpPort();
    ASSERT_NE(port_, 0) << daemon_.Log();

    // Decisions, by the service role: nobody's first, then one of each unix caller without
    // the right to read everything, so that every caller's watch from seq 1 has a record.
    Decide(R"({"user":"nobody","uid":65534})");
    researcher_id_ = Decide(absl::StrCat(R"({"user":")", e2e::kAlice, R"(","uid":)",
                                         researcher_.uid, "}"));
    alice_id_ = Decide(R"({"user":"alice","uid":2001,"groups":["oncology"],)"
                       R"("account":"oncology","datasets":["patients-eu"],"gpus":8})");
    Decide(R"({"user":"#4203","uid":4203})");
    Decide(R"({"user":"#4299","uid":4299})");
    RunResult status = daemon_.Probe("AdminService.GetStatus", "{}");
    ASSERT_EQ(StatusOf(status), "OK") << status.out;
    version_ = Body(status)["register_version"];
  }

  // rpc_probe's output, cut to what a failure needs to show (an answer can be the whole log).
  static std::string Shown(const RunResult& r) { return r.out.substr(0, 1000); }

  static json Body(const RunResult& r) {
    return json::parse(r.out.substr(r.out.find('\n') + 1), nullptr, false);
  }

  // Decides, as root (service role), a job on public data of `user_fields` ({"user":...}),
  // and returns the decision id.
  std::string Decide(const std::string& user_fields) {
    std::string job = user_fields;
    if (!absl::StrContains(job, "datasets")) {
      job.insert(job.size() - 1, R"(,"datasets":["imagenet-public"],"gpus":1)");
    }
    RunResult r = daemon_.Probe("PlacementService.Decide", absl::StrCat(R"({"job":)", job, "}"));
    EXPECT_EQ(StatusOf(r), "OK") << job << ": " << r.out;
    return Body(r)["decision"].value("decision_id", "");
  }

  // How the daemon names the caller of `column` in its messages.
  std::string CallerName(Column column) const {
    switch (column) {
      case kServiceUser:
        return "uid=4203(#4203)";
      case kAdminUser:
        return "uid=4201(#4201)";
      case kAuditorUser:
        return "uid=4202(#4202)";
      case kResearcher:
        return researcher_name_;
      case kUnknownUid:
        return "uid=4299(#4299)";
      case kTlsNoRole:
        return "cn=stranger (mTLS)";
      default:
        return "cn=auditor-1 (mTLS)";
    }
  }

  std::string Fill(const std::string& text, Column column) const {
    return absl::StrReplaceAll(
        text, {{"{caller}", CallerName(column)},
               {"{alice_id}", alice_id_},
               {"{researcher_id}", researcher_id_},
               {"{version}", version_},
               {"{register}", json(ReadFile(daemon_.register_path())).dump()}});
  }

  RunResult Call(Column column, const std::string& probe_name, const std::string& request) {
    switch (column) {
      case kServiceUser:
        return daemon_.Probe(probe_name, request, kService);
      case kAdminUser:
        return daemon_.Probe(probe_name, request, kAdmin);
      case kAuditorUser:
        return daemon_.Probe(probe_name, request, kAuditor);
      case kResearcher:
        return daemon_.Probe(probe_name, request, researcher_);
      case kUnknownUid:
        return daemon_.Probe(probe_name, request, Identity{4299, 4299, {}});
      default:
        return ProbeOverTls(port_, *pki_, certificates_.at(column), probe_name, request);
    }
  }

  // The daemon still runs and answers, on the socket and, after a TLS caller, on its TCP port.
  void ExpectAlive(const std::string& after, Column column) {
    ASSERT_TRUE(daemon_.Alive()) << "sovereignd died after " << after << "\n" << daemon_.Log();
    RunResult r = daemon_.Probe("AdminService.GetStatus", "{}");
    ASSERT_EQ(StatusOf(r), "OK") << "sovereignd does not answer after " << after << ": " << r.out;
    if (column >= kTlsAuditor) {
      RunResult tls = ProbeOverTls(port_, *pki_, certificates_.at(kTlsAuditor),
                                   "AdminService.GetStatus", "{}");
      ASSERT_EQ(StatusOf(tls), "OK") << "sovereignd does not answer over TLS after " << after
                                     << ": " << tls.out << tls.err;
    }
  }

  // Every RPC as one of the certificates the handshake refuses: the client sees the connection
  // closed, and the daemon's log says it refused the certificate, once more than before.
  void CheckRefusedCertificate(const std::string& method, Column column) {
    const std::string cell = absl::StrCat(method, " as ", kColumnNames[column]);
    const size_t refusals_before = Refusals();
    RunResult r = Call(column, ProbeName(method), "{}");
    EXPECT_EQ(Shown(r), RefusedCertificateOutput(port_)) << cell << "\n" << r.err;
    // The server writes its line before it closes the connection the client saw closed.
    EXPECT_GT(Refusals(), refusals_before) << cell << ": the daemon's log does not say it "
                                           << "refused the certificate\n" << daemon_.Log();
    ExpectAlive(cell, column);
  }

  size_t Refusals() const {
    const std::string log = daemon_.Log();
    size_t n = 0;
    for (size_t at = log.find(kRefusedCertificateLog); at != std::string::npos;
         at = log.find(kRefusedCertificateLog, at + 1)) {
      ++n;
    }
    return n;
  }

  // Every method of every service sovereignd serves and of every service in proto/.
  std::set<std::string> ServedMethods() {
    std::set<std::string> methods;
    RunResult listed = daemon_.Probe("Reflection.ListServices", "");
    EXPECT_EQ(StatusOf(listed), "OK") << listed.out;
    std::set<std::string> services;
    const json body = Body(listed);
    for (const json& name : body["services"]) {
      services.insert(name.get<std::string>());
    }
    const auto* pool = google::protobuf::DescriptorPool::generated_pool();
    for (const auto& entry :
         std::filesystem::directory_iterator(SOVEREIGN_SOURCE_DIR "/proto/sovereign/v1")) {
      if (entry.path().extension() != ".proto") {
        continue;
      }
      const std::string file = "sovereign/v1/" + entry.path().filename().string();
      const google::protobuf::FileDescriptor* descriptor = pool->FindFileByName(file);
      EXPECT_NE(descriptor, nullptr) << file << " is not compiled into this test";
      for (int i = 0; descriptor != nullptr && i < descriptor->service_count(); ++i) {
        EXPECT_TRUE(services.count(descriptor->service(i)->full_name()))
            << descriptor->service(i)->full_name() << " (" << file
            << ") is not served by sovereignd";
        services.insert(descriptor->service(i)->full_name());
      }
    }
    EXPECT_GE(services.size(), 6u) << listed.out;
    for (const std::string& service : services) {
      if (const auto* d = pool->FindServiceByName(service)) {
        for (int i = 0; i < d->method_count(); ++i) {
          methods.insert(absl::StrCat(service, "/", d->method(i)->name()));
        }
      } else if (auto grpc = GrpcServices().find(service); grpc != GrpcServices().end()) {
        for (const auto& [method, probe_name] : grpc->second) {
          methods.insert(absl::StrCat(service, "/", method));
        }
      } else {
        ADD_FAILURE() << "sovereignd serves " << service
                      << ", whose methods this test cannot list: give it rows";
      }
    }
    return methods;
  }

  DaemonProcess daemon_;
  std::optional<TestPki> pki_;
  std::map<Column, TlsIdentity> certificates_;
  int port_ = 0;
  Identity researcher_;
  std::string researcher_name_;
  std::string alice_id_, researcher_id_, version_;
};

TEST_F(DaemonRpcMatrixTest, EveryRpcAsEveryCallerIsAllowedOrDeniedAsDocumented) {
  const std::vector<Row> table = Table();
  // Every RPC has a row, and every row is an RPC.
  const std::set<std::string> served = ServedMethods();
  std::set<std::string> rows;
  for (const Row& row : table) {
    rows.insert(row.method);
  }
  for (const std::string& method : served) {
    EXPECT_TRUE(rows.count(method)) << method << " has no row in the table: say who may call it "
                                    << "(here and in docs/daemon.md, \"Who may call what\")";
  }
  for (const std::string& method : rows) {
    EXPECT_TRUE(served.count(method)) << "the table's " << method << " is not served";
  }
  if (HasFailure()) {
    return;
  }

  int cells = 0;
  for (const Row& row : table) {
    for (int c = 0; c < kTlsExpired; ++c) {
      const auto column = static_cast<Column>(c);
      const std::string cell = absl::StrCat(row.method, row.what.empty() ? "" : " (",
                                            row.what, row.what.empty() ? "" : ")", " as ",
                                            kColumnNames[column]);
      const Expect& expect = row.cells[c];
      RunResult r = Call(column, ProbeName(row.method), Fill(row.request, column));
      ++cells;
      if (expect.code == "OK" && absl::StartsWith(row.method, "grpc.health.")) {
        EXPECT_EQ(r.out, "OK \nSERVING\n") << cell << "\n" << r.err;
      } else if (expect.code == "OK") {
        EXPECT_EQ(StatusOf(r), "OK") << cell << ": " << Shown(r) << r.err;
        EXPECT_TRUE(Body(r).is_object()) << cell << ": " << Shown(r);
      } else {
        EXPECT_EQ(Shown(r), absl::StrCat(expect.code, " ", Fill(expect.message, column), "\n"))
            << cell << "\n" << r.err;
      }
      // A daemon that died fails every later cell: the first is the one to read.
      if (expect.code != "OK" || StatusOf(r) != "OK") {
        ASSERT_NO_FATAL_FAILURE(ExpectAlive(cell, column));
      }
    }
    for (Column column : {kTlsExpired, kTlsOtherCa}) {
      ASSERT_NO_FATAL_FAILURE(CheckRefusedCertificate(row.method, column));
      ++cells;
    }
  }
  EXPECT_EQ(cells, static_cast<int>(table.size()) * kColumns);
  ExpectAlive("the whole table", kTlsAuditor);
}

}  // namespace
}  // namespace sovereign::testing
