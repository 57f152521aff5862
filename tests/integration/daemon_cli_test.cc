// sovereignd as a process, driven by sovereignctl: decisions recorded and listed with every
// filter, watch, register apply/history/diff/rollback/show, verify, status, reload on SIGHUP,
// start-up refusals, and the messages a user sees.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "support/daemon_process.h"
#include "support/synthetic_exporter.h"

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
            "at_risk, ok, violation, ended, cancelled, never_ran, not_created, unknown, set, "
            "changed, reapplied)\n");
  RunResult region = daemon_.Ctl({"audit", "list", "--region", "eu-west"});
  EXPECT_EQ(region.exit_code, 2);
  EXPECT_EQ(region.err,
            "sovereignctl: region \"eu-west\" is neither in the register in force nor in any "
            "record (known: eu, us, in)\n");
  // A region of the register with no record yet is a fair question with an empty answer.
  RunResult us = daemon_.Ctl({"audit", "list", "--region", "us"});
  EXPECT_EQ(us.exit_code, 0) << us.err;
  // Kinds by name: a decision is one, there are no node weights without Slurm, a typo is an
  // error.
  EXPECT_EQ(List({"--kind", "decision"}).size(), 1u);
  EXPECT_EQ(List({"--kind", "node_weight"}).size(), 0u);
  EXPECT_EQ(List({"--kind", "outcome"}).size(), 0u);
  RunResult kind = daemon_.Ctl({"audit", "list", "--kind", "weight"});
  EXPECT_EQ(kind.exit_code, 2);
  EXPECT_EQ(kind.out, "");
  EXPECT_EQ(kind.err,
            "sovereignctl: --kind \"weight\" is not a kind of record (known: decision, "
            "attestation, outcome, node_weight)\n");
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
  // To a file: every user's decisions, so readable by the auditor alone whatever the umask.
  const std::string file = daemon_.dir() + "/export.jsonl";
  const mode_t umask_before = umask(0);
  RunResult to_file =
      daemon_.Ctl({"audit", "export", "--first", "2", "--last", "5", "--output", file});
  umask(umask_before);
  ASSERT_EQ(to_file.exit_code, 0) << to_file.err;
  EXPECT_EQ(ReadFile(file), e.out);
  struct stat st;
  ASSERT_EQ(stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
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
  EXPECT_THAT(text.out, HasSubstr(absl::StrCat("since start:      ", records + 2,
                                               " records written in ", commits, " commits (")));
  EXPECT_THAT(text.out, Not(HasSubstr("already in the log")));
}

// A Decide repeated with the same decision id is answered from the log: no record, no commit,
// and status says so (this is how an unfinished spool segment read again after a restart
// once made the commits outnumber the records).
TEST_F(DaemonCliTest, StatusCountsDecisionsAlreadyInTheLogApart) {
  const std::string again =
      absl::StrReplaceAll(kAliceJob, {{"{\"job\":", "{\"decision_id\":\"d-again\",\"job\":"}});
  Decide(again);
  json first = json::parse(daemon_.Ctl({"--json", "status"}).out);
  RunResult repeated = daemon_.Probe("PlacementService.Decide", again);
  // The stored decision comes back (OK), or ALREADY_EXISTS when it differs from this one.
  EXPECT_THAT(StatusOf(repeated), ::testing::AnyOf("OK", "ALREADY_EXISTS")) << repeated.err;
  json second = json::parse(daemon_.Ctl({"--json", "status"}).out);
  EXPECT_EQ(second["audit_records_appended"], first["audit_records_appended"]);
  EXPECT_EQ(second["audit_transactions"], first["audit_transactions"]);
  EXPECT_EQ(second.value("audit_already_logged", "0"), "1");
  EXPECT_THAT(daemon_.Ctl({"status"}).out,
              ::testing::ContainsRegex(
                  "\nsince start:      [0-9]+ records written in [0-9]+ commits \\([0-9.]+ per "
                  "commit\\); 1 decision was already in the log and not written again \\(the "
                  "spool read again after a restart, or a Decide repeated\\)\n"));
}

TEST_F(DaemonCliTest, StatusWithoutSlurmSaysSo) {
  EXPECT_THAT(daemon_.Ctl({"status"}).out,
              HasSubstr("\nslurm:            not served (slurm.slurm_conf is empty)\n"));
}

TEST_F(DaemonCliTest, DiffAgainstAFileSaysWhatApplyingItWouldChange) {
  const std::string original = json::parse(daemon_.Ctl({"--json", "status"}).out)["register_version"];
  const std::string file = daemon_.dir() + "/new.yaml";
  WriteFile(file, ChangedRegister());
  RunResult diff = daemon_.Ctl({"register", "diff", file});
  ASSERT_EQ(diff.exit_code, 0) << diff.err;
  const std::string changed = diff.out.substr(25, 12);
  EXPECT_EQ(diff.out,
            absl::StrCat("register ", original.substr(0, 12), " -> ", changed,
                         ": 1 change\n", "  changed site paris-1\n", "      pue: 1.3 -> 1.25\n"));
  // From a version to a file; the register in force is unchanged by either.
  RunResult from = daemon_.Ctl({"register", "diff", original.substr(0, 8), file});
  EXPECT_EQ(from.out, diff.out);
  EXPECT_EQ(json::parse(daemon_.Ctl({"--json", "status"}).out)["register_version"], original);
  WriteFile(file, absl::StrReplaceAll(ChangedRegister(), {{"regions: [in]", "regions: [mars]"}}));
  RunResult bad = daemon_.Ctl({"register", "diff", file});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, absl::StrCat("sovereignctl: invalid register (1 error):\n", file,
                                  ":151:15: dataset \"finance-in\": field \"regions\": region "
                                  "\"mars\" is not declared (known: eu, in, us)\n"));
}

TEST_F(DaemonCliTest, ShowPrintsSitesPartitionsAndDatasetsAsTables) {
  RunResult sites = daemon_.Ctl({"register", "show", "--sites"});
  ASSERT_EQ(sites.exit_code, 0) << sites.err;
  EXPECT_EQ(sites.out,
            "SITE         REGION  COUNTRY  OPERATOR                               JURISDICTION  PUE  "
            " GCO2/KWH\n"
            "paris-1      eu      FR       Example Calcul SAS                     EU            1.3  "
            " 31\n"
            "munich-1     eu      DE       Beispiel Rechenzentrum GmbH            EU            1.12 "
            " 342\n"
            "fra-cloud-1  eu      DE       Example Cloud Inc. (Frankfurt region)  US            1.15 "
            " 342\n"
            "sanjose-1    us      US       Example Compute Inc.                   US            1.35 "
            " 208\n"
            "mumbai-1     in      IN       Example Compute India Pvt Ltd          IN            1.5  "
            " 593\n");
  RunResult parts = daemon_.Ctl({"register", "show", "--partitions"});
  EXPECT_EQ(parts.out,
            "PARTITION          SITE         REGION  GPU   NODES  GPUS/NODE  GPU W  IDLE W  NODE W\n"
            "gpu-fr-a100        paris-1      eu      a100  16     8          400    50      1100\n"
            "gpu-de-h100        munich-1     eu      h100  32     8          700    75      1600\n"
            "gpu-de-cloud-h100  fra-cloud-1  eu      h100  8      8          700    75      1600\n"
            "gpu-us-h100        sanjose-1    us      h100  24     8          700    75      1600\n"
            "gpu-in-l40s        mumbai-1     in      l40s  12     8          350    35      800\n");
  RunResult data = daemon_.Ctl({"register", "show", "--datasets"});
  EXPECT_EQ(data.out,
            "DATASET          CLASS       REGIONS   JURISDICTIONS  GROUPS    USERS\n"
            "patients-eu      sovereign   eu        EU             oncology  -\n"
            "finance-in       sovereign   in        any            fintech   -\n"
            "genomics-eu-us   restricted  eu,us     any            genomics  -\n"
            "imagenet-public  public      eu,us,in  any            everyone  -\n");
  RunResult all = daemon_.Ctl({"register", "show", "--sites", "--datasets"});
  EXPECT_EQ(all.out, sites.out + "\n" + data.out);
}

// Without --slurm-conf, validate asks sovereignd: here it has no Slurm side, so the cluster is
// not checked, but the Unix groups and users are, on the daemon's host.
TEST_F(DaemonCliTest, ValidateAsksTheDaemonToCheckTheCluster) {
  const std::string file = daemon_.dir() + "/groups.yaml";
  WriteFile(file, std::regex_replace(ReadFile(daemon_.register_path()),
                                     std::regex("groups: \\[[a-z]+\\]"), "groups: [root]"));
  RunResult ok = daemon_.Ctl({"register", "validate", file});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, ::testing::EndsWith(
                          "  cluster    not checked: sovereignd has no Slurm side "
                          "(slurm.slurm_conf is empty)\n"));
  WriteFile(file, absl::StrReplaceAll(ReadFile(file),
                                      {{"groups: [root]\n    legal_basis: >-\n      GDPR Art. 9",
                                        "groups: [no-such-group-sov]\n    legal_basis: >-\n      GDPR Art. 9"}}));
  RunResult bad = daemon_.Ctl({"register", "validate", file});
  EXPECT_EQ(bad.exit_code, 1) << bad.err;
  EXPECT_THAT(bad.out, ::testing::EndsWith(absl::StrCat(
                           "  cluster    not checked: sovereignd has no Slurm side "
                           "(slurm.slurm_conf is empty)\n"
                           "  accounts   Unix groups and users: 1 error, 0 warnings\n",
                           file, ":141:5: error: dataset \"patients-eu\": field \"groups\": Unix "
                           "group \"no-such-group-sov\" does not exist on this host\n")));
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

// The example register's partitions as it describes them, and its datasets' groups set to one
// every host has: nothing for --check-config to say about the cluster.
void WriteMatchingCluster(const DaemonProcess& d) {
  WriteFile(d.register_path(),
            std::regex_replace(ReadFile(d.register_path()), std::regex("groups: \\[[a-z]+\\]"),
                               "groups: [root]"));
  WriteFile(d.dir() + "/slurm.conf",
            ReadFile(SOVEREIGN_SOURCE_DIR "/tests/fixtures/slurm-register-example.conf"));
}

TEST(SovereigndStartTest, CheckConfig) {
  DaemonProcess d;
  WriteFile(d.config_path(), d.ConfigText());
  WriteMatchingCluster(d);  // the datasets' groups exist on every host
  RunResult ok = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("is valid; register"));

  WriteFile(d.config_path(), d.ConfigText() + "audti:\n  sync: full\n");
  RunResult typo = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(typo.exit_code, 1);
  EXPECT_THAT(typo.err, HasSubstr("audti: unknown key (known: audit, carbon, cluster, limits, "
                                  "log, power, register, roles, server, slurm, socket, tcp, "
                                  "weights)"));
  WriteFile(d.register_path(), "policy: [\n");
  WriteFile(d.config_path(), d.ConfigText());
  RunResult reg = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(reg.exit_code, 1);
  EXPECT_THAT(reg.err, HasSubstr(absl::StrCat("sovereignd: register ", d.register_path(),
                                              " is invalid:\n")));
}

TEST(SovereigndStartTest, CheckConfigChecksTheRegisterAgainstSlurmConf) {
  DaemonProcess d;
  d.AddConfig(absl::StrCat("slurm:\n  slurm_conf: ", d.dir(), "/slurm.conf\n"));
  WriteFile(d.config_path(), d.ConfigText());
  RunResult none = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_THAT(none.err, HasSubstr(absl::StrCat("sovereignd: cannot check the register against "
                                               "the cluster: cannot read ", d.dir(),
                                               "/slurm.conf\n")));
  WriteMatchingCluster(d);
  RunResult ok = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_THAT(ok.out, HasSubstr(absl::StrCat("sovereignd: register checked against slurm.conf ",
                                             d.dir(), "/slurm.conf and this host's Unix groups "
                                             "and users: 0 errors, 0 warnings\n")));
  WriteFile(d.dir() + "/slurm.conf", absl::StrReplaceAll(ReadFile(d.dir() + "/slurm.conf"),
                                                         {{"gpu:l40s:8", "gpu:l40s:4"},
                                                          {"Nodes=us[1-24]", "Nodes=us[1-20]"},
                                                          {"gpu-fr-a100", "gpu-fr"}}));
  RunResult bad = RunProgram({SOVEREIGND_PATH, "--config", d.config_path(), "--check-config"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.out, HasSubstr("and this host's Unix groups and users: 1 error, 2 warnings\n"));
  EXPECT_THAT(bad.err, HasSubstr(absl::StrCat(
                           "sovereignd: ", d.register_path(), ":92:5: error: partition "
                           "\"gpu-fr-a100\": Slurm has no partition gpu-fr-a100 (slurm.conf ",
                           d.dir(), "/slurm.conf has: gpu-de-cloud-h100, gpu-de-h100, gpu-fr, "
                           "gpu-in-l40s, gpu-us-h100)\n")));
  EXPECT_THAT(bad.err, HasSubstr(absl::StrCat(
                           "sovereignd: ", d.register_path(), ":119:5: warning: partition "
                           "\"gpu-us-h100\": field \"nodes\": the register says 24, Slurm has "
                           "20\n")));
}

TEST(SovereigndStartTest, CheckConfigComparesWithThePluginConfig) {
  DaemonProcess d;
  d.AddConfig(absl::StrCat("slurm:\n  slurm_conf: ", d.dir(), "/slurm.conf\n  snapshot: ", d.dir(),
                           "/snapshot\n  spool: ", d.dir(), "/spool\n"));
  const std::string plugin_conf = d.dir() + "/sovereign-plugin.conf";
  WriteFile(d.config_path(), d.ConfigText());
  WriteMatchingCluster(d);
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
                         " has max_cluster_age = 2m but sovereignd's slurm.max_cluster_age is "
                         "5m: Decide and explain may score a job differently from the plugin\n"));
}

// What only sovereignd's log used to say ("reconciler: cannot load jobs"), status says now:
// the reconciler and the cluster view failing, the snapshot's age and failed writes, and what
// waits in the spool.
TEST(SovereigndSlurmStatusTest, StatusShowsWhatFailsOnTheSlurmSide) {
  DaemonProcess d;
  d.AddConfig(absl::StrCat("slurm:\n  slurm_conf: ", UnreachableSlurmConf(d.dir()),
                           "\n  snapshot: ", d.dir(), "/snapshot\n  spool: ", d.dir(),
                           "/spool\n  publish_interval_ms: 200\n  reconcile_interval_ms: 100\n"
                           "  ingest_interval_ms: 60000\n"));
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  json status = WaitForStatus(d, [](const json& s) {
    return StatusField(s, "reconcile_failures") >= 1 &&
           StatusField(s, "cluster_read_failures") >= 1;
  });
  EXPECT_EQ(status["slurm_enabled"], true);
  EXPECT_GE(StatusField(status, "reconcile_rounds"), StatusField(status, "reconcile_failures"));
  RunResult text = d.Ctl({"status"});
  EXPECT_THAT(text.out, ::testing::ContainsRegex(
                            "\nsnapshot:         published [0-9]+s ago \\([0-9: -]+Z\\)\n"));
  const std::string unreachable =
      "Unable to contact slurm controller \\(connect failure\\) \\(is slurmctld running and "
      "SLURM_CONF set\\?\\)";
  EXPECT_THAT(text.out, ::testing::ContainsRegex(absl::StrCat(
                            "\ncluster view:     slurmctld does not answer: slurm: cannot load "
                            "partitions: ", unreachable, " \\(the snapshot keeps the last view; "
                            "[0-9]+ failed reads since start\\)\n")));
  EXPECT_THAT(text.out, ::testing::ContainsRegex(absl::StrCat(
                            "\nreconciler:       [0-9]+ rounds, [0-9]+ failed, failing now: slurm: "
                            "cannot load jobs: ", unreachable, "\n")));
  EXPECT_THAT(text.out, HasSubstr("\nspool:            0 bytes waiting for the audit log; 0 "
                                  "records ingested since start\n"));
  EXPECT_THAT(text.out,
              HasSubstr("\nnode weights:     left to slurm.conf (weights.enabled: false)\n"));
  EXPECT_THAT(text.out, Not(HasSubstr("\npower:  ")));

  // Spooled bytes the ingester has not read yet (it reads once a minute here).
  std::filesystem::create_directories(d.dir() + "/spool");
  WriteFile(d.dir() + "/spool/0000000000000001.spool", std::string(100, 'x'));
  EXPECT_THAT(d.Ctl({"status"}).out,
              HasSubstr("\nspool:            100 bytes waiting for the audit log; "));

  // The snapshot cannot be replaced: a directory with something in it stands in its way.
  std::filesystem::remove(d.dir() + "/snapshot");
  std::filesystem::create_directories(d.dir() + "/snapshot/in-the-way");
  status = WaitForStatus(
      d, [](const json& s) { return StatusField(s, "snapshot_write_failures") >= 1; });
  EXPECT_GE(StatusField(status, "snapshot_write_failures"), 1);
  EXPECT_THAT(d.Ctl({"status"}).out, ::testing::ContainsRegex(" writes failed, last: [^\n]*snapshot"));
}

// Node weights that cannot be read from slurmctld, and a power source that serves garbage and
// then figures (the synthetic exporter on loopback): each failure is shown by status while it
// lasts and logged once, not every round; the recovery is logged once too.
TEST(SovereigndSlurmStatusTest, StatusShowsWeightsAndPowerFailing) {
  absl::StatusOr<std::unique_ptr<SyntheticExporter>> exporter = SyntheticExporter::Start();
  ASSERT_TRUE(exporter.ok()) << exporter.status();
  SyntheticExporter& e = **exporter;
  e.Override(200, "<html>\n");
  DaemonProcess d;
  d.AddConfig(absl::StrCat("slurm:\n  slurm_conf: ", UnreachableSlurmConf(d.dir()),
                           "\n  snapshot: ", d.dir(), "/snapshot\n  spool: ", d.dir(),
                           "/spool\n  publish_interval_ms: 200\n  ingest_interval_ms: 60000\n"
                           "power:\n  prometheus_url: ",
                           e.url(),
                           "\n  interval: 100ms\n"
                           "weights:\n  enabled: true\n  interval: 100ms\n"));
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  json status = WaitForStatus(d, [](const json& s) {
    return StatusField(s, "power_failures") >= 3 && !s.value("weight_error", "").empty();
  });
  EXPECT_EQ(status["weights_enabled"], true);
  const std::string unreachable =
      "slurm: cannot load partitions: Unable to contact slurm controller (connect failure) (is "
      "slurmctld running and SLURM_CONF set?)";
  const std::string garbage =
      absl::StrCat(e.url(), ":1: a sample must start with a metric name: \"<html>\"");
  RunResult text = d.Ctl({"status"});
  EXPECT_THAT(text.out, HasSubstr(absl::StrCat(
                            "\nnode weights:     set from facility watts per GPU: 0 changes, 0 set "
                            "again after slurmctld reset them, failing now: ",
                            unreachable, "\n")));
  EXPECT_THAT(text.out, ::testing::ContainsRegex(
                            absl::StrCat("\npower:            ", e.url(),
                                         ": 0 hosts with a fresh reading; "
                                         "[0-9]+ scrapes, [0-9]+ failed; failing now: ")));
  EXPECT_THAT(text.out, HasSubstr(absl::StrCat("failing now: ", garbage, "\n")));
  const std::string log = d.Log();
  auto count = [](const std::string& text, const std::string& what) {
    int n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
      ++n;
    }
    return n;
  };
  EXPECT_EQ(count(log, absl::StrCat("power source: ", garbage,
                                    "; each node's readings are used "
                                    "until they are 2m old, then the register's figures")),
            1)
      << log;
  EXPECT_EQ(count(log, absl::StrCat("node weights: ", unreachable,
                                    "; weights are checked again every 100 ms")),
            1)
      << log;

  // The exporter serves figures again.
  e.ClearOverride();
  e.SetNode("node1", {100, 200});
  status = WaitForStatus(d, [](const json& s) { return StatusField(s, "power_hosts") == 1; });
  EXPECT_EQ(status.value("power_error", ""), "");
  EXPECT_THAT(d.Ctl({"status"}).out, HasSubstr(absl::StrCat("\npower:            ", e.url(),
                                                            ": 1 hosts with a fresh reading; ")));
  EXPECT_EQ(count(d.Log(), absl::StrCat("power source ", e.url(),
                                        " answers again: 1 hosts "
                                        "with DCGM_FI_DEV_POWER_USAGE")),
            1)
      << d.Log();
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
