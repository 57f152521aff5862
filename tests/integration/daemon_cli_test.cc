// sovereignd as a process, driven by sovereignctl: decisions recorded and listed with every
// filter, watch, register apply/history/diff/rollback/show, verify, status, reload on SIGHUP,
// start-up refusals, and the messages a user sees.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "integration/daemon_process.h"

namespace sovereign::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

// Jobs whose outcome the example register fixes.
constexpr char kBobJob[] =
    R"({"job":{"user":"bob","uid":2002,"groups":["fintech"],"account":"fintech-in",)"
    R"("datasets":["finance-in"],"gpus":4}})";
constexpr char kCarolJob[] =  // not in group oncology: refused
    R"({"job":{"user":"carol","uid":2003,"groups":["users"],"datasets":["patients-eu"],"gpus":1}})";

class DaemonCliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Log(); }

  json Decide(const std::string& request, const Identity& as = kRoot) {
    RunResult r = daemon_.Probe("PlacementService.Decide", request, as);
    EXPECT_EQ(StatusOf(r), "OK") << r.out << r.err;
    std::string body = r.out.substr(r.out.find('\n') + 1);
    return json::parse(body, nullptr, false)["decision"];
  }

  json List(std::vector<std::string> args) {
    args.insert(args.begin(), {"--json", "audit", "list"});
    RunResult r = daemon_.Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    json j = json::parse(r.out, nullptr, false);
    return j.contains("records") ? j["records"] : json::array();
  }

  std::string ChangedRegister() {
    return absl::StrReplaceAll(ReadFile(daemon_.register_path()), {{"pue: 1.3 ", "pue: 1.25"}});
  }

  DaemonProcess daemon_;
};

TEST_F(DaemonCliTest, DecideIsRecordedBeforeTheAnswerAndCarriesTheJobTag) {
  json d = Decide(kAliceJob);
  EXPECT_EQ(d["verdict"], "VERDICT_PLACE");
  EXPECT_EQ(d["region"], "eu");
  EXPECT_EQ(d["recorded"], true);
  std::string id = d["decision_id"];
  std::string reg = d["register_version"];
  // The plugin's admin_comment format (no spaces: `scontrol show job -o` keeps it one field).
  EXPECT_EQ(d["job_tag"], absl::StrCat("sovereign:v1;id=", id,
                                       ";ds=patients-eu;region=eu;reg=", reg.substr(0, 12)));
  RunResult show = daemon_.Ctl({"--json", "audit", "show", id});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  json rec = json::parse(show.out)["record"];
  EXPECT_EQ(rec["user"], "alice");
  EXPECT_EQ(rec["verdict"], "place");
  EXPECT_EQ(rec["region"], "eu");
  EXPECT_EQ(rec["caller"], "uid=0(root)");
  EXPECT_EQ(rec["seq"], d["audit_seq"]);
}

TEST_F(DaemonCliTest, ExplainAnswersWithoutRecording) {
  RunResult r = daemon_.Probe("PlacementService.Explain", kAliceJob);
  ASSERT_EQ(StatusOf(r), "OK") << r.out;
  EXPECT_THAT(r.out, HasSubstr("\"verdict\":\"VERDICT_PLACE\""));
  EXPECT_THAT(r.out, Not(HasSubstr("\"recorded\":true")));
  EXPECT_EQ(List({}).size(), 0u);
}

TEST_F(DaemonCliTest, ListFiltersByEveryField) {
  Decide(kAliceJob);
  Decide(kBobJob);
  json carol = Decide(kCarolJob);
  EXPECT_EQ(carol["verdict"], "VERDICT_REJECT");
  EXPECT_EQ(List({}).size(), 3u);
  auto users = [](const json& records) {
    std::vector<std::string> out;
    for (const json& r : records) {
      out.push_back(r["user"]);
    }
    return out;
  };
  EXPECT_THAT(users(List({})), ::testing::ElementsAre("carol", "bob", "alice"));  // newest first
  EXPECT_THAT(users(List({"--user", "bob"})), ::testing::ElementsAre("bob"));
  EXPECT_THAT(users(List({"--account", "oncology"})), ::testing::ElementsAre("alice"));
  EXPECT_THAT(users(List({"--dataset", "finance-in"})), ::testing::ElementsAre("bob"));
  EXPECT_THAT(users(List({"--region", "in"})), ::testing::ElementsAre("bob"));
  EXPECT_THAT(users(List({"--partition", "gpu-in-l40s"})), ::testing::ElementsAre("bob"));
  EXPECT_THAT(users(List({"--verdict", "reject"})), ::testing::ElementsAre("carol"));
  EXPECT_THAT(users(List({"--job-id", "0"})), ::testing::ElementsAre("carol", "bob", "alice"));
  EXPECT_THAT(users(List({"--job-id", "7"})), ::testing::IsEmpty());
  std::string tomorrow =
      absl::FormatTime("%Y-%m-%d", absl::Now() + absl::Hours(24), absl::UTCTimeZone());
  std::string yesterday =
      absl::FormatTime("%Y-%m-%d", absl::Now() - absl::Hours(24), absl::UTCTimeZone());
  EXPECT_THAT(users(List({"--since", tomorrow})), ::testing::IsEmpty());
  EXPECT_EQ(List({"--since", yesterday, "--until", tomorrow}).size(), 3u);
  EXPECT_THAT(users(List({"--until", yesterday})), ::testing::IsEmpty());
  // Paging: two pages of one and two.
  RunResult page = daemon_.Ctl({"--json", "audit", "list", "--limit", "1"});
  json first = json::parse(page.out);
  ASSERT_EQ(first["records"].size(), 1u);
  std::string token = first["next_page_token"];
  json rest = List({"--page-token", token});
  EXPECT_THAT(users(rest), ::testing::ElementsAre("bob", "alice"));
}

TEST_F(DaemonCliTest, ListTableForPeople) {
  json d = Decide(kBobJob);
  RunResult r = daemon_.Ctl({"audit", "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("SEQ  TIME"));
  EXPECT_THAT(r.out, HasSubstr(d["decision_id"].get<std::string>()));
  EXPECT_THAT(r.out, HasSubstr("gpu-in-l40s"));
  // The register each decision was made under, in its short form.
  EXPECT_THAT(r.out, HasSubstr("  JOB  REGISTER\n"));
  EXPECT_THAT(r.out, HasSubstr(d["register_version"].get<std::string>().substr(0, 12) + "\n"));
}

// What an auditor types: ages instead of times, and filters whose typos are told apart from an
// empty answer.
TEST_F(DaemonCliTest, ListTakesAgesAndRefusesWhatNoRecordCanMatch) {
  json d = Decide(kAliceJob);
  EXPECT_EQ(List({"--since", "1h"}).size(), 1u);
  EXPECT_EQ(List({"--since", "7d", "--until", "1d"}).size(), 0u);
  EXPECT_EQ(List({"--until", "0s"}).size(), 1u);
  RunResult bad_time = daemon_.Ctl({"audit", "list", "--since", "yesterday"});
  EXPECT_EQ(bad_time.exit_code, 2);
  EXPECT_EQ(bad_time.err,
            "sovereignctl: --since \"yesterday\" is not a time like 2026-11-22T10:00:00Z, a date "
            "like 2026-11-22, or an age like 1h or 7d (s, m, h, d, w)\n");
  EXPECT_EQ(daemon_.Ctl({"audit", "list", "--until", "-1h"}).exit_code, 2);
  RunResult verdict = daemon_.Ctl({"audit", "list", "--verdict", "placed"});
  EXPECT_EQ(verdict.exit_code, 2);
  EXPECT_EQ(verdict.out, "");
  EXPECT_EQ(verdict.err,
            "sovereignctl: verdict \"placed\" is not one a record can have (known: place, reject, "
            "at_risk, ok, violation, ended, cancelled, never_ran, not_created, unknown)\n");
  RunResult region = daemon_.Ctl({"audit", "list", "--region", "eu-west"});
  EXPECT_EQ(region.exit_code, 2);
  EXPECT_EQ(region.err,
            "sovereignctl: region \"eu-west\" is neither in the register in force nor in any "
            "record (known: eu, us, in)\n");
  // A region of the register with no record yet is a fair question with an empty answer.
  RunResult us = daemon_.Ctl({"audit", "list", "--region", "us"});
  EXPECT_EQ(us.exit_code, 0) << us.err;
  // The same checks guard watch.
  RunResult watch = daemon_.Ctl({"audit", "watch", "--verdict", "placed"});
  EXPECT_EQ(watch.exit_code, 2);
  EXPECT_THAT(watch.err, HasSubstr("verdict \"placed\" is not one a record can have"));
}

TEST_F(DaemonCliTest, ListFiltersByRegisterVersion) {
  json d = Decide(kAliceJob);
  std::string version = d["register_version"];
  EXPECT_EQ(List({"--register", version}).size(), 1u);
  EXPECT_EQ(List({"--register", version.substr(0, 12)}).size(), 1u);
  EXPECT_EQ(List({"--register", version[0] == '0' ? "1111" : "0000"}).size(), 0u);
  RunResult bad = daemon_.Ctl({"audit", "list", "--register", "v1"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err,
            "sovereignctl: register version \"v1\" is not a SHA-256 in lowercase hex or a prefix "
            "of at least 4 digits\n");
}

TEST_F(DaemonCliTest, WatchPrintsNewRecordsAsTheyAreAppended) {
  // The watcher runs as a child process; its first line (the table header) is written once
  // the daemon has set up the stream, so decisions made after it must reach it.
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    execl(SOVEREIGNCTL_PATH, SOVEREIGNCTL_PATH, "--socket", daemon_.socket().c_str(), "audit",
          "watch", "--count", "2", "--user", "bob", nullptr);
    _exit(127);
  }
  close(out[1]);
  std::string text;
  char buf[4096];
  while (text.find('\n') == std::string::npos) {
    ssize_t n = read(out[0], buf, sizeof(buf));
    ASSERT_GT(n, 0);
    text.append(buf, static_cast<size_t>(n));
  }
  EXPECT_THAT(text, HasSubstr("SEQ"));
  Decide(kAliceJob);  // filtered out
  json b1 = Decide(kBobJob);
  json b2 = Decide(kBobJob);
  ssize_t n;
  while ((n = read(out[0], buf, sizeof(buf))) > 0) {
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_THAT(text, HasSubstr(b1["decision_id"].get<std::string>()));
  EXPECT_THAT(text, HasSubstr(b2["decision_id"].get<std::string>()));
  EXPECT_THAT(text, Not(HasSubstr("alice")));
}

TEST_F(DaemonCliTest, ApplyGoodRegisterThenRefuseBadOneAndKeepTheGood) {
  std::string changed = ChangedRegister();
  WriteFile(daemon_.dir() + "/new.yaml", changed);
  RunResult ok =
      daemon_.Ctl({"register", "apply", daemon_.dir() + "/new.yaml", "--comment", "PUE measured"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("applied register "));
  RunResult status = daemon_.Ctl({"--json", "status"});
  std::string applied = json::parse(status.out)["register_version"];

  WriteFile(daemon_.dir() + "/bad.yaml",
            absl::StrReplaceAll(changed, {{"regions: [in]", "regions: [mars]"}}));
  RunResult bad = daemon_.Ctl({"register", "apply", daemon_.dir() + "/bad.yaml"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("mars"));
  EXPECT_THAT(bad.err, HasSubstr("bad.yaml:"));
  status = daemon_.Ctl({"--json", "status"});
  EXPECT_EQ(json::parse(status.out)["register_version"], applied);
  // Decisions are made with the register in force, and the file holds it for a restart.
  EXPECT_EQ(Decide(kAliceJob)["register_version"], applied);
  EXPECT_EQ(ReadFile(daemon_.register_path()), changed);
}

TEST_F(DaemonCliTest, HistoryDiffAndRollback) {
  RunResult before = daemon_.Ctl({"--json", "status"});
  std::string original = json::parse(before.out)["register_version"];
  WriteFile(daemon_.dir() + "/new.yaml", ChangedRegister());
  ASSERT_EQ(daemon_.Ctl({"register", "apply", daemon_.dir() + "/new.yaml"}).exit_code, 0);
  std::string changed = json::parse(daemon_.Ctl({"--json", "status"}).out)["register_version"];
  ASSERT_NE(changed, original);

  RunResult diff = daemon_.Ctl({"register", "diff", original.substr(0, 12)});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  EXPECT_EQ(diff.out,
            absl::StrCat("register ", original.substr(0, 12), " -> ", changed.substr(0, 12),
                         ": 1 change\n", "  changed site paris-1\n", "      pue: 1.3 -> 1.25\n"));

  RunResult rb = daemon_.Ctl({"register", "rollback", original.substr(0, 8), "--comment", "back"});
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  EXPECT_EQ(json::parse(daemon_.Ctl({"--json", "status"}).out)["register_version"], original);

  json history = json::parse(daemon_.Ctl({"--json", "register", "history"}).out)["revisions"];
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0]["action"], "rollback");
  EXPECT_EQ(history[0]["version"], original);
  EXPECT_EQ(history[0]["applied_by"], "uid=0(root)");
  EXPECT_EQ(history[0]["comment"], "back");
  EXPECT_EQ(history[1]["action"], "apply");
  EXPECT_EQ(history[1]["version"], changed);
  EXPECT_EQ(history[2]["action"], "startup");

  RunResult show = daemon_.Ctl({"register", "show", "--yaml"});
  EXPECT_EQ(show.out, ReadFile(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml"));
  RunResult unknown = daemon_.Ctl({"register", "rollback", "abcdef123456"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_EQ(unknown.err,
            "sovereignctl: register version \"abcdef123456\" was never applied here\n");
}

TEST_F(DaemonCliTest, VerifyAndExport) {
  for (int i = 0; i < 4; ++i) {
    Decide(kAliceJob);
  }
  json refused = Decide(kCarolJob);
  RunResult v = daemon_.Ctl({"audit", "verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_THAT(v.out, HasSubstr("audit log verified: 5 records"));
  RunResult e = daemon_.Ctl({"audit", "export", "--first", "2", "--last", "5"});
  ASSERT_EQ(e.exit_code, 0) << e.err;
  std::vector<int64_t> seqs;
  std::stringstream lines(e.out);
  std::string line;
  std::string last;
  while (std::getline(lines, line)) {
    seqs.push_back(std::stoll(json::parse(line)["seq"].get<std::string>()));
    last = line;
  }
  EXPECT_THAT(seqs, ::testing::ElementsAre(2, 3, 4, 5));
  // Every field, zeros and empty strings included; the body as JSON, byte for byte as hashed.
  json rec = json::parse(last);
  std::vector<std::string> keys;
  for (const auto& [key, value] : rec.items()) {
    keys.push_back(key);
  }
  EXPECT_THAT(keys, ::testing::UnorderedElementsAre(
                        "seq", "kind", "decision_id", "time", "caller", "user", "account",
                        "datasets", "region", "partition", "verdict", "job_id",
                        "register_version", "body", "prev_hash", "hash"));
  EXPECT_EQ(rec["decision_id"], refused["decision_id"]);
  EXPECT_EQ(rec["verdict"], "reject");
  EXPECT_EQ(rec["region"], "");
  EXPECT_EQ(rec["job_id"], "0");
  EXPECT_EQ(rec["kind"], "RECORD_KIND_DECISION");
  ASSERT_TRUE(rec["body"].is_object());
  EXPECT_EQ(rec["body"]["verdict"], "reject");
  json shown = json::parse(
      daemon_.Ctl({"--json", "audit", "show", rec["decision_id"].get<std::string>()}).out);
  EXPECT_EQ(last.substr(last.find(",\"body\":") + 8),
            shown["record"]["body_json"].get<std::string>() + "}");
}

// docs/audit-log.md, "Taking a copy for offline verification", step by step.
TEST_F(DaemonCliTest, ABackupCopyVerifiesOfflineWithTheSeparatelyObtainedKey) {
  for (int i = 0; i < 3; ++i) {
    Decide(kAliceJob);
  }
  ASSERT_EQ(StatusOf(daemon_.Probe("AuditService.GetCheckpoint", R"({"fresh":true})")), "OK");
  const std::string copy = daemon_.dir() + "/evidence/audit-copy.db";
  const std::string key = daemon_.dir() + "/evidence/audit-public.pem";
  ASSERT_EQ(RunProgram({"/bin/mkdir", daemon_.dir() + "/evidence"}).exit_code, 0);
  RunResult backup = RunProgram({"/usr/bin/sqlite3", daemon_.audit_db(), ".backup " + copy});
  ASSERT_EQ(backup.exit_code, 0) << backup.err;
  RunResult pub = RunProgram(
      {"/usr/bin/openssl", "pkey", "-in", daemon_.signing_key(), "-pubout", "-out", key});
  ASSERT_EQ(pub.exit_code, 0) << pub.err;
  RunResult v = daemon_.Ctl({"audit", "verify", "--db", copy, "--public-key", key});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_EQ(v.out, copy + " verified: 3 records, 1 signed checkpoints, chain intact\n");
  // Nothing was written beside the evidence.
  RunResult ls = RunProgram({"/bin/ls", daemon_.dir() + "/evidence"});
  EXPECT_EQ(ls.out, "audit-copy.db\naudit-public.pem\n");
  // A copy that is not there is a mistake in the command, not a failed verification.
  RunResult missing =
      daemon_.Ctl({"audit", "verify", "--db", copy + ".missing", "--public-key", key});
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_EQ(missing.out, "");
  EXPECT_EQ(missing.err, "sovereignctl: audit log " + copy + ".missing: no such file\n");
}

TEST_F(DaemonCliTest, SighupReloadsAValidRegisterAndKeepsTheOldOnAnInvalidOne) {
  std::string original = json::parse(daemon_.Ctl({"--json", "status"}).out)["register_version"];
  WriteFile(daemon_.register_path(), ChangedRegister());
  daemon_.Signal(SIGHUP);
  std::string now;
  for (int i = 0; i < 500; ++i) {
    now = json::parse(daemon_.Ctl({"--json", "status"}).out)["register_version"];
    if (now != original) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(now, original);

  WriteFile(daemon_.register_path(), "regions: [\n");
  daemon_.Signal(SIGHUP);
  json status;
  for (int i = 0; i < 500; ++i) {
    status = json::parse(daemon_.Ctl({"--json", "status"}).out);
    if (status.value("reload_failures", "0") != "0") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(status["reload_failures"], "1");
  EXPECT_EQ(status["register_version"], now);
  EXPECT_THAT(daemon_.Log(), HasSubstr("register reload refused, the register in force stays"));
}

TEST_F(DaemonCliTest, StatusCountsRecordsAndTheCommitsTheyWentInto) {
  RunResult before = daemon_.Ctl({"--json", "status"});
  ASSERT_EQ(before.exit_code, 0) << before.err;
  int64_t records = std::stoll(json::parse(before.out).value("audit_records_appended", "0"));
  Decide(kAliceJob);
  Decide(kAliceJob);
  json after = json::parse(daemon_.Ctl({"--json", "status"}).out);
  EXPECT_EQ(std::stoll(after.value("audit_records_appended", "0")), records + 2);
  int64_t commits = std::stoll(after.value("audit_transactions", "0"));
  EXPECT_GE(commits, 1);
  EXPECT_LE(commits, records + 2);
  RunResult text = daemon_.Ctl({"status"});
  EXPECT_THAT(text.out, HasSubstr(absl::StrCat("since start:      ", records + 2, " records in ",
                                               commits, " commits (")));
}

TEST_F(DaemonCliTest, StatusNamesTheCallerAndItsRoles) {
  RunResult r = daemon_.Ctl({"status"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("you:              uid=0(root) (admin, auditor, service)\n"));
  RunResult nobody = daemon_.Ctl({"status"}, kNobody);
  EXPECT_THAT(nobody.out, HasSubstr("you:              uid=65534(nobody) (user)\n"));
}

TEST_F(DaemonCliTest, SigtermStopsCleanlyAndRemovesTheSocket) {
  Decide(kAliceJob);
  int status = daemon_.Stop(SIGTERM);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << daemon_.Log();
  EXPECT_THAT(daemon_.Log(), HasSubstr("sovereignd stopped"));
  RunResult r = daemon_.Ctl({"status"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err, absl::StrCat("sovereignctl: cannot reach sovereignd at ", daemon_.socket(),
                                ": no such socket (is sovereignd running?)\n"));
}

TEST_F(DaemonCliTest, HealthAndReflectionForGrpcurl) {
  RunResult health = daemon_.Probe("Health.Check", "", kNobody);
  EXPECT_EQ(health.out, "OK \nSERVING\n");
  RunResult services = daemon_.Probe("Reflection.ListServices", "", kNobody);
  ASSERT_EQ(StatusOf(services), "OK") << services.out;
  for (const char* name :
       {"sovereign.v1.PlacementService", "sovereign.v1.AuditService",
        "sovereign.v1.RegisterService", "sovereign.v1.AdminService", "grpc.health.v1.Health"}) {
    EXPECT_THAT(services.out, HasSubstr(name));
  }
}

TEST(SovereignctlTest, SaysClearlyWhenTheDaemonIsNotRunning) {
  RunResult r = RunProgram({SOVEREIGNCTL_PATH, "status"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err,
            "sovereignctl: cannot reach sovereignd at /run/sovereign/sovereignd.sock: no such "
            "socket (is sovereignd running?)\n");
}

TEST(SovereigndStartTest, RefusesAnInvalidRegisterAndPrintsEveryError) {
  DaemonProcess d;
  WriteFile(d.register_path(), absl::StrReplaceAll(ReadFile(d.register_path()),
                                                   {{"regions: [in]", "regions: [mars]"},
                                                    {"site: munich-1", "site: atlantis"}}));
  absl::Status s = d.Start();
  ASSERT_FALSE(s.ok());
  std::string log = d.Log();
  EXPECT_THAT(log, HasSubstr("sovereignd: cannot start: "));
  EXPECT_THAT(log, HasSubstr("mars"));
  EXPECT_THAT(log, HasSubstr("atlantis"));
}

TEST(SovereigndStartTest, CheckConfig) {
  DaemonProcess d;
  WriteFile(d.config_path(), d.ConfigText());
  RunResult ok = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("is valid; register"));

  WriteFile(d.config_path(), d.ConfigText() + "audti:\n  sync: full\n");
  RunResult typo = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_THAT(typo.err, HasSubstr("audti: unknown key (known: audit, cluster, log, register, "
                                  "roles, server, slurm, socket, tcp)"));
  WriteFile(d.register_path(), "policy: [\n");
  WriteFile(d.config_path(), d.ConfigText());
  RunResult reg = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(reg.exit_code, 1);
  EXPECT_THAT(reg.err, HasSubstr(absl::StrCat("sovereignd: register ", d.register_path(),
                                              " is invalid:\n")));
}

TEST(SovereigndStartTest, CheckConfigComparesWithThePluginConfig) {
  DaemonProcess d;
  d.AddConfig(absl::StrCat("slurm:\n  slurm_conf: ", d.dir(), "/slurm.conf\n  snapshot: ", d.dir(),
                           "/snapshot\n  spool: ", d.dir(), "/spool\n"));
  const std::string plugin_conf = d.dir() + "/sovereign-plugin.conf";
  WriteFile(d.config_path(), d.ConfigText());
  RunResult missing = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(missing.exit_code, 0) << missing.err;
  EXPECT_EQ(missing.err, absl::StrCat("sovereignd: warning: cannot compare with the job_submit "
                                      "plugin's config: cannot read ",
                                      plugin_conf, ": No such file or directory\n"));

  WriteFile(plugin_conf, absl::StrCat("snapshot = ", d.dir(), "/snapshot\nspool = ", d.dir(),
                                      "/spool/\n"));
  RunResult same = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(same.exit_code, 0) << same.err;
  EXPECT_EQ(same.err, "");
  EXPECT_THAT(same.out, HasSubstr(absl::StrCat("sovereignd: ", plugin_conf,
                                               " names the same snapshot, spool and "
                                               "max_cluster_age\n")));

  WriteFile(plugin_conf, absl::StrCat("snapshot = /srv/other-snapshot\nspool = ", d.dir(),
                                      "/spool\nmax_cluster_age = 2m\n"));
  RunResult differ = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(differ.exit_code, 0) << differ.err;
  EXPECT_EQ(differ.err,
            absl::StrCat("sovereignd: warning: ", plugin_conf,
                         " has snapshot = /srv/other-snapshot but sovereignd publishes to ",
                         d.dir(), "/snapshot (slurm.snapshot): the plugin does not see this "
                         "daemon's register and refuses labelled jobs\n"
                         "sovereignd: warning: ", plugin_conf,
                         " has max_cluster_age = 2m but sovereignd's slurm.max_cluster_age_s is "
                         "300: Decide and explain may score a job differently from the plugin\n"));
}

TEST(SovereigndStartTest, SecondDaemonOnTheSameSocketIsRefused) {
  DaemonProcess a;
  ASSERT_TRUE(a.Start().ok()) << a.Log();
  RunResult b = RunProgram({SOVEREIGND_PATH, "--config", a.config_path()}, kRoot, 30);
  EXPECT_EQ(b.exit_code, 1);
  EXPECT_THAT(b.err, HasSubstr(absl::StrCat("another sovereignd is listening on ", a.socket())));
}

}  // namespace
}  // namespace sovereign::testing
