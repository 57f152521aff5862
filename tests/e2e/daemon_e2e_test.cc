// sovereignd with a real Slurm cluster: it publishes the snapshot the plugin decides from,
// moves the plugin's spooled decisions into the audit log exactly once, and attests where each
// job ran. With the daemon stopped, jobs are still placed; after it restarts, their records
// reach the log exactly once and the chain verifies.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sovereign/audit_log.h"
#include "sovereign/spool.h"
#include "support/daemon_cluster.h"
#include "support/minicluster.h"

namespace sovereign::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class DaemonE2ETest : public DaemonClusterTest {};

TEST_F(DaemonE2ETest, DecisionsReachTheLogAndJobsAreAttested) {
  StartDaemon();
  // Root may use open datasets; the public one can go to any region.
  uint32_t id = Submit({"--dataset=imagenet-public", "--gres=gpu:1", "--wrap", "true"});
  ASSERT_GT(id, 0u);
  ASSERT_TRUE(cluster_->WaitForJobState(id, {"COMPLETED"}).ok());
  CommandResult refused = cluster_->Run({"sbatch", "--dataset=finance-in", "--wrap", "true"});
  EXPECT_NE(refused.exit_code, 0);
  std::vector<Row> rows = WaitForRows([&](const std::vector<Row>& r) {
    int attest = 0, outcome = 0;
    for (const Row& x : r) {
      attest += x.kind == 1 && x.job_id == id;
      outcome += x.kind == 2 && x.job_id == id;
    }
    return r.size() >= 4 && attest == 1 && outcome == 1;
  });
  ASSERT_GE(rows.size(), 3u) << ReadText(state_ + "/sovereignd.log");
  const Row& placed = rows[0];
  EXPECT_EQ(placed.kind, 0);
  EXPECT_EQ(placed.verdict, "place");
  EXPECT_THAT(placed.body, HasSubstr("\"source\":\"job_submit/sovereign\""));
  EXPECT_THAT(placed.body, HasSubstr("\"partition\":\"gpu-in-l40s\""));
  EXPECT_THAT(*cluster_->JobField(id, "AdminComment"), HasSubstr("id=" + placed.decision_id + ";"));
  const Row* attestation = nullptr;
  int refusals = 0;
  for (const Row& r : rows) {
    if (r.kind == 1 && r.job_id == id) {
      attestation = &r;
    }
    refusals += r.kind == 0 && r.verdict == "reject";
  }
  EXPECT_EQ(refusals, 1);
  ASSERT_NE(attestation, nullptr);
  EXPECT_EQ(attestation->decision_id, placed.decision_id);
  EXPECT_EQ(attestation->verdict, "ok");
  EXPECT_THAT(attestation->body, HasSubstr("\"node\":\"in-l40s-1\""));
  // What an auditor sees: the decision and where its job ran.
  CommandResult show = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", state_ + "/sovereignd.sock",
                                      "audit", "show", placed.decision_id});
  EXPECT_EQ(show.exit_code, 0) << show.Describe();
  EXPECT_THAT(show.out, HasSubstr("partition:  gpu-in-l40s\n"));
  EXPECT_THAT(show.out, HasSubstr(absl::StrCat("ran on:     in-l40s-1 (job ", id, ", ok, seq ",
                                               attestation->seq, ", ")));
  CommandResult listed =
      cluster_->Run({SOVEREIGNCTL_PATH, "--socket", state_ + "/sovereignd.sock", "audit", "list",
                     "--decision", placed.decision_id});
  EXPECT_EQ(listed.exit_code, 0) << listed.Describe();
  // The decision, its attestation and its outcome.
  EXPECT_THAT(listed.out, HasSubstr("in-l40s"));
  EXPECT_EQ(std::count(listed.out.begin(), listed.out.end(), '\n'), 4) << listed.out;
  audit::VerifyReport v = audit::VerifyDatabase(state_ + "/audit.db", PublicKey(state_ + "/audit.db"));
  EXPECT_TRUE(v.ok) << v.problem;
}

// The guards are fooled by admin acts outside job_modify (a node's site feature rewritten to
// an allowed site, the node put in the job's partition): the job runs there, and the
// attestation, which asks both the node's feature and its partitions, records a violation
// naming the node, its site, the rule and the register.
TEST_F(DaemonE2ETest, AJobThatReachesANodeOfAnExcludedSiteIsAttestedAViolation) {
  EnsureResearchers();
  StartDaemon();
  CommandResult held = cluster_->Run({"runuser", "-u", kAlice, "--", "sbatch", "--parsable",
                                      "--dataset=patients-eu", "--hold", "-o", "/dev/null",
                                      "--wrap", "true"});
  ASSERT_EQ(held.exit_code, 0) << held.Describe();
  uint32_t id = 0;
  ASSERT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(held.out), &id)) << held.Describe();
  ASSERT_EQ(*cluster_->JobField(id, "Partition"), "gpu-fr-a100");
  ASSERT_TRUE(PutUsNodeInParis(*cluster_).ok());
  ASSERT_EQ(cluster_->Run({"scontrol", "release", absl::StrCat(id)}).exit_code, 0);
  ASSERT_TRUE(cluster_->WaitForJobState(id, {"COMPLETED"}).ok());
  EXPECT_EQ(*cluster_->JobField(id, "NodeList"), "us-h100-1");
  std::vector<Row> rows = WaitForRows([&](const std::vector<Row>& r) {
    return std::any_of(r.begin(), r.end(),
                       [&](const Row& x) { return x.kind == 1 && x.job_id == id; });
  });
  const Row* attestation = nullptr;
  for (const Row& r : rows) {
    if (r.kind == 1 && r.job_id == id) {
      attestation = &r;
    }
  }
  ASSERT_NE(attestation, nullptr) << ReadText(state_ + "/sovereignd.log");
  EXPECT_EQ(attestation->verdict, "violation");
  const nlohmann::json body = nlohmann::json::parse(attestation->body);
  EXPECT_EQ(body.value("violation", ""),
            "node us-h100-1 has no known site: its feature says site paris-1 but it is in "
            "partition gpu-us-h100 of site sanjose-1");
  EXPECT_EQ(body["allowed_sites"], nlohmann::json::array({"paris-1", "munich-1"}));
  EXPECT_EQ(body.value("register_version", "").size(), 64u);
  EXPECT_THAT(ReadText(state_ + "/sovereignd.log"),
              HasSubstr(absl::StrCat("job ", id, " (decision ")));
  // Auditors find it by its verdict.
  CommandResult listed = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", state_ + "/sovereignd.sock",
                                        "audit", "list", "--verdict", "violation"});
  EXPECT_EQ(listed.exit_code, 0) << listed.Describe();
  EXPECT_THAT(listed.out, HasSubstr(attestation->decision_id));
  CommandResult status =
      cluster_->Run({SOVEREIGNCTL_PATH, "--socket", state_ + "/sovereignd.sock", "status"});
  EXPECT_THAT(status.out, HasSubstr("violations:       1 runs attested outside their allowed "
                                    "sites, 0 running jobs at risk after a register change "
                                    "(sovereignctl audit list --verdict violation | at_risk)\n"));
  // What the reconciler asks of slurmctld: its reads of the whole job table.
  EXPECT_THAT(status.out, ::testing::ContainsRegex(
                              "\nreconciler: +[0-9]+ rounds, 0 failed; [1-9][0-9]* reads of the "
                              "whole job table \\(the last: [1-9][0-9]* jobs in [0-9.]+[mu]?s\\)\n"))
      << status.out;
}

// A register applied under pending and running jobs: the pending job whose guard no longer
// complies is moved (with a new guard and tag) or, when nothing complies, held with a reason
// in its AdminComment; the running one is flagged at risk. --dry-run says so first.
TEST_F(DaemonE2ETest, ARegisterChangeMovesHoldsAndFlagsTheJobsItConcerns) {
  EnsureResearchers();
  StartDaemon();
  auto submit_as_alice = [&](const std::vector<std::string>& args) -> uint32_t {
    std::vector<std::string> argv = {"runuser", "-u", kAlice, "--", "sbatch", "--parsable",
                                     "-o", "/dev/null", "--dataset=patients-eu"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = cluster_->Run(argv);
    uint32_t id = 0;
    EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(r.out), &id)) << r.Describe();
    return id;
  };
  const uint32_t running = submit_as_alice({"--wrap", "sleep 300"});
  ASSERT_TRUE(cluster_->WaitForJobState(running, {"RUNNING"}).ok());
  const uint32_t pending = submit_as_alice({"--hold", "--wrap", "true"});
  ASSERT_EQ(*cluster_->JobField(pending, "Partition"), "gpu-fr-a100");
  ASSERT_THAT(*cluster_->JobField(running, "NodeList"), ::testing::StartsWith("fr-a100-"));

  // A takeover: paris-1's operator now answers to US law, which patients-eu does not accept.
  std::string yaml = ReadText(std::string(SOVEREIGN_SOURCE_DIR) + "/config/register.example.yaml");
  const std::string paris = "operator_jurisdiction: EU\n    pue: 1.3 ";
  ASSERT_NE(yaml.find(paris), std::string::npos);
  yaml.replace(yaml.find(paris), paris.size(), "operator_jurisdiction: US\n    pue: 1.3 ");
  std::ofstream(state_ + "/takeover.yaml") << yaml;
  const std::vector<std::string> apply = {SOVEREIGNCTL_PATH, "--socket", state_ + "/sovereignd.sock",
                                          "register", "apply", state_ + "/takeover.yaml"};
  std::vector<std::string> dry = apply;
  dry.push_back("--dry-run");
  CommandResult preview = cluster_->Run(dry);
  ASSERT_EQ(preview.exit_code, 0) << preview.Describe();
  EXPECT_THAT(preview.out, HasSubstr("would move 1 and hold 0 of 1 pending jobs; 1 running job "
                                     "at risk\n"));
  EXPECT_THAT(preview.out, HasSubstr(absl::StrCat(
                               "  job ", pending, ": moved to gpu-de-h100 (partition gpu-fr-a100 "
                               "(site paris-1): operator Example Calcul SAS is under US "
                               "jurisdiction, not accepted for patients-eu)\n")));
  EXPECT_EQ(*cluster_->JobField(pending, "Partition"), "gpu-fr-a100");  // nothing applied

  CommandResult applied = cluster_->Run(apply);
  ASSERT_EQ(applied.exit_code, 0) << applied.Describe();
  EXPECT_THAT(applied.out, HasSubstr("moved 1 and held 0 of 1 pending jobs; 1 running job at "
                                     "risk\n"));
  EXPECT_EQ(*cluster_->JobField(pending, "Partition"), "gpu-de-h100");
  EXPECT_EQ(*cluster_->JobField(pending, "Features"), "site_munich-1");
  EXPECT_THAT(*cluster_->JobField(pending, "AdminComment"),
              ::testing::MatchesRegex("sovereign:v1;id=[0-9a-f]+-[0-9a-f]+-r[0-9a-f]+;"
                                      "ds=patients-eu;region=eu;reg=[0-9a-f]{12}"));
  std::vector<Row> rows = WaitForRows([&](const std::vector<Row>& r) {
    return std::count_if(r.begin(), r.end(), [&](const Row& x) {
             return (x.job_id == pending && x.verdict == "place") ||
                    (x.job_id == running && x.verdict == "at_risk");
           }) == 2;
  });
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(),
                          [&](const Row& x) { return x.job_id == running && x.verdict == "at_risk"; }),
            1)
      << ReadText(state_ + "/sovereignd.log");

  // Narrowed again: patients-eu may now only be processed in the US, by EU operators: nowhere.
  const std::string regions = "regions: [eu]\n    jurisdictions: [EU]";
  ASSERT_NE(yaml.find(regions), std::string::npos);
  yaml.replace(yaml.find(regions), regions.size(), "regions: [us]\n    jurisdictions: [EU]");
  std::ofstream(state_ + "/nowhere.yaml") << yaml;
  CommandResult held = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", state_ + "/sovereignd.sock",
                                      "register", "apply", state_ + "/nowhere.yaml"});
  ASSERT_EQ(held.exit_code, 0) << held.Describe();
  EXPECT_THAT(held.out, HasSubstr("moved 0 and held 1 of 1 pending jobs"));
  EXPECT_THAT(*cluster_->JobField(pending, "AdminComment"), HasSubstr(";"));
  CommandResult show = cluster_->Run({"scontrol", "show", "job", absl::StrCat(pending)});
  EXPECT_THAT(show.out, HasSubstr("; held: register "));
  EXPECT_THAT(show.out, HasSubstr("Reason=JobHeldAdmin"));
  cluster_->Run({"scancel", absl::StrCat(running), absl::StrCat(pending)});
}

// PlacementService decides against the snapshot sovereignd publishes, as the plugin does: with
// the only node of gpu-in-l40s drained, both move the job elsewhere (against an every-partition-
// idle view, as before, Explain would still have answered gpu-in-l40s, where the test above
// sees the job go when the cluster is idle).
// The example register describes a big installation; the mini cluster has the same
// partitions and GPU types with fewer nodes and GPUs: counts are warnings, nothing is an error,
// whether the register is checked by sovereignd against slurmctld or against slurm.conf, by
// sovereignctl or by sovereignd --check-config. A partition Slurm lacks is an error.
TEST_F(DaemonE2ETest, TheRegisterIsCheckedAgainstTheLiveClusterAndItsSlurmConf) {
  EnsureResearchers();  // the example register's groups exist on this host
  StartDaemon();
  const std::string reg = std::string(SOVEREIGN_SOURCE_DIR) + "/config/register.example.yaml";
  const std::string socket = state_ + "/sovereignd.sock";
  const std::string fr_nodes = absl::StrCat(
      reg, ":92:5: warning: partition \"gpu-fr-a100\": field \"nodes\": the register says 16, "
      "Slurm has 2\n");
  const std::string fr_gpus = absl::StrCat(
      reg, ":92:5: warning: partition \"gpu-fr-a100\": field \"gpus_per_node\": the register says "
      "8, Slurm's nodes have 2 a100 GPUs\n");
  CommandResult live =
      cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket, "register", "validate", reg});
  EXPECT_EQ(live.exit_code, 0) << live.Describe();
  EXPECT_THAT(live.out, HasSubstr("  cluster    checked against slurmctld (through sovereignd): "
                                  "0 errors, 10 warnings\n"));
  EXPECT_THAT(live.out, HasSubstr(fr_nodes));
  EXPECT_THAT(live.out, HasSubstr(fr_gpus));

  CommandResult conf = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket, "register",
                                      "validate", "--slurm-conf", cluster_->slurm_conf(), reg});
  EXPECT_EQ(conf.exit_code, 0) << conf.Describe();
  EXPECT_THAT(conf.out, HasSubstr(absl::StrCat("  cluster    checked against slurm.conf ",
                                               cluster_->slurm_conf(),
                                               ": 0 errors, 10 warnings\n")));
  EXPECT_THAT(conf.out, HasSubstr(fr_nodes));

  CommandResult check = cluster_->Run(
      {SOVEREIGND_PATH, "--config", state_ + "/sovereignd.yaml", "--check-config"});
  EXPECT_EQ(check.exit_code, 0) << check.Describe();
  EXPECT_THAT(check.out, HasSubstr(absl::StrCat(
                             "sovereignd: register checked against slurm.conf ",
                             cluster_->slurm_conf(),
                             " and this host's Unix groups and users: 0 errors, 10 warnings\n")));
  EXPECT_THAT(check.err,
              HasSubstr(absl::StrCat("sovereignd: ", state_, "/register.yaml:92:5: warning: "
                                     "partition \"gpu-fr-a100\": field \"nodes\": the register "
                                     "says 16, Slurm has 2\n")));

  // A partition slurmctld does not have.
  const std::string renamed = state_ + "/renamed.yaml";
  std::string text = ReadText(reg);
  text.replace(text.find("name: gpu-in-l40s"), 17, "name: gpu-in-l4");
  std::ofstream(renamed) << text;
  CommandResult missing =
      cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket, "register", "validate", renamed});
  EXPECT_EQ(missing.exit_code, 1) << missing.Describe();
  EXPECT_THAT(missing.out,
              HasSubstr(absl::StrCat(renamed, ":128:5: error: partition \"gpu-in-l4\": Slurm has "
                                     "no partition gpu-in-l4 (slurmctld has: gpu-de-cloud-h100, "
                                     "gpu-de-h100, gpu-fr-a100, gpu-in-l40s, gpu-us-h100)\n")));
}

TEST_F(DaemonE2ETest, ExplainGivesThePluginsAnswerForTheSameSnapshot) {
  StartDaemon();
  CommandResult drain = cluster_->Run(
      {"scontrol", "update", "nodename=in-l40s-1", "state=drain", "reason=sovereign-e2e"});
  ASSERT_EQ(drain.exit_code, 0) << drain.Describe();
  const std::vector<std::string> explain = {
      SOVEREIGNCTL_PATH, "--socket", state_ + "/sovereignd.sock", "--json", "explain",
      "--user", "root", "--uid", "0", "--group", "root", "--dataset", "imagenet-public",
      "--gpus", "1"};
  // The daemon republishes every 2 s here; wait (bounded) until its answer reflects the drain.
  nlohmann::json explained;
  for (int i = 0; i < 100; ++i) {
    CommandResult answer = cluster_->Run(explain);
    ASSERT_EQ(answer.exit_code, 0) << answer.Describe();
    explained = nlohmann::json::parse(answer.out);
    if (explained.value("partition", "") != "gpu-in-l40s") {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // The file now holds that view, or a newer one; the plugin decides from it once it took it.
  ASSERT_NO_FATAL_FAILURE(WaitUntilThePluginTakesThePublishedSnapshot());
  uint32_t id = Submit({"--dataset=imagenet-public", "--gres=gpu:1", "--hold", "--wrap", "true"});
  ASSERT_GT(id, 0u);
  std::vector<Row> rows = WaitForRows([](const std::vector<Row>& r) { return !r.empty(); });
  ASSERT_FALSE(rows.empty()) << ReadText(state_ + "/sovereignd.log");
  const Row& plugin_row = rows.back();
  EXPECT_THAT(*cluster_->JobField(id, "AdminComment"), HasSubstr("id=" + plugin_row.decision_id));
  nlohmann::json plugin = nlohmann::json::parse(plugin_row.body);
  EXPECT_EQ(plugin.value("source", ""), "job_submit/sovereign");
  CommandResult again = cluster_->Run(explain);
  ASSERT_EQ(again.exit_code, 0) << again.Describe();
  explained = nlohmann::json::parse(again.out);
  // Where it goes, and every candidate's rank, free GPUs and energy, alike on both paths.
  EXPECT_EQ(plugin.value("partition", ""), "gpu-fr-a100");
  EXPECT_EQ(explained.value("partition", ""), plugin.value("partition", ""));
  EXPECT_EQ(explained.value("region", ""), plugin.value("region", ""));
  EXPECT_EQ(cluster_->JobField(id, "Partition").value_or(""), "gpu-fr-a100");
  using Scores = std::map<std::string, std::tuple<int, int, double>>;
  auto scores = [](const nlohmann::json& decision) {
    Scores out;
    for (const nlohmann::json& c : decision.value("candidates", nlohmann::json::array())) {
      out[c.value("partition", "")] = {c.value("rank", 0), c.value("free_gpus", 0),
                                       std::round(c.value("energy_kwh", 0.0) * 1e4) / 1e4};
    }
    return out;
  };
  Scores from_plugin = scores(plugin), from_daemon = scores(explained);
  EXPECT_EQ(from_plugin.size(), 5u);
  EXPECT_EQ(from_daemon, from_plugin) << again.out << "\n" << plugin_row.body;
  // The drained partition is no longer the choice on either path.
  EXPECT_NE(std::get<0>(from_daemon["gpu-in-l40s"]), 1);
  // Both sides are configured alike: sovereignd found nothing to warn about in the plugin's
  // sovereign-plugin.conf (same snapshot, spool and staleness).
  std::string log = ReadText(state_ + "/sovereignd.log");
  EXPECT_THAT(log, Not(HasSubstr("sovereign-plugin.conf has"))) << log;
  EXPECT_THAT(log, Not(HasSubstr("cannot compare with the job_submit plugin's config"))) << log;
  cluster_->Run({"scontrol", "update", "nodename=in-l40s-1", "state=resume"});
}

// Every placement is accounted for: a job that ran and ended (how, when), one cancelled before
// it ran, one slurmctld created and failed at once (more memory than any node has), and one it
// refused after the plugin had placed and spooled it (a node that does not exist), so that no
// job ever existed.
// The job id finds the placement, which was logged before Slurm numbered the job.
TEST_F(DaemonE2ETest, EveryPlacementGetsAnOutcome) {
  StartDaemon();
  const std::string socket = state_ + "/sovereignd.sock";
  uint32_t ran = Submit({"--dataset=imagenet-public", "--gres=gpu:1", "--wrap", "exit 3"});
  ASSERT_GT(ran, 0u);
  uint32_t held = Submit({"--dataset=imagenet-public", "--hold", "--wrap", "true"});
  ASSERT_GT(held, 0u);
  ASSERT_TRUE(cluster_->WaitForJobState(ran, {"FAILED"}).ok());
  ASSERT_EQ(cluster_->Run({"scancel", absl::StrCat(held)}).exit_code, 0);
  // Neither memory nor node names are in the register: the plugin places both jobs, then
  // slurmctld fails the first after creating it, and refuses the second before creating it.
  CommandResult failed = cluster_->Run({"sbatch", "--dataset=imagenet-public",
                                        "--mem=4000000", "--wrap", "true"});
  ASSERT_NE(failed.exit_code, 0);
  CommandResult refused = cluster_->Run({"sbatch", "--dataset=imagenet-public",
                                         "--nodelist=nosuchnode", "--wrap", "true"});
  ASSERT_NE(refused.exit_code, 0);
  EXPECT_THAT(refused.err, HasSubstr("Invalid node name specified"));
  auto outcome_of = [](const std::vector<Row>& rows, const std::string& verdict) {
    const Row* found = nullptr;
    for (const Row& r : rows) {
      if (r.kind == 2 && r.verdict == verdict) {
        found = &r;
      }
    }
    return found;
  };
  // not_created comes once 30 s (the reconciler's margin) have passed without such a job.
  std::vector<Row> rows = WaitForRows(
      [&](const std::vector<Row>& r) {
        return outcome_of(r, "ended") && outcome_of(r, "cancelled") &&
               outcome_of(r, "never_ran") && outcome_of(r, "not_created");
      },
      90);
  const Row* ended = outcome_of(rows, "ended");
  const Row* cancelled = outcome_of(rows, "cancelled");
  const Row* never_ran = outcome_of(rows, "never_ran");
  const Row* not_created = outcome_of(rows, "not_created");
  ASSERT_TRUE(ended && cancelled && never_ran && not_created)
      << ReadText(state_ + "/sovereignd.log");
  EXPECT_EQ(ended->job_id, ran);
  nlohmann::json body = nlohmann::json::parse(ended->body);
  EXPECT_EQ(body["state"], "FAILED");
  EXPECT_EQ(body["exit_code"], 3);
  EXPECT_EQ(body["nodes"], "in-l40s-1");
  EXPECT_EQ(cancelled->job_id, held);
  EXPECT_EQ(nlohmann::json::parse(cancelled->body)["state"], "CANCELLED");
  EXPECT_GT(never_ran->job_id, 0);
  EXPECT_EQ(nlohmann::json::parse(never_ran->body)["state"], "FAILED");
  EXPECT_EQ(not_created->job_id, 0);
  EXPECT_EQ(nlohmann::json::parse(not_created->body)["why"],
            "no job carrying this decision appeared in slurmctld's job table within 30s of the "
            "decision, while sovereignd read it: slurmctld refused the job after the plugin had "
            "placed it");
  // Every placement is explained: by an outcome, exactly one each.
  std::map<std::string, int> outcomes;
  for (const Row& r : rows) {
    if (r.kind == 2) {
      ++outcomes[r.decision_id];
    }
  }
  int placements = 0;
  for (const Row& r : rows) {
    if (r.kind == 0 && r.verdict == "place") {
      ++placements;
      EXPECT_EQ(outcomes[r.decision_id], 1) << r.decision_id;
    }
  }
  EXPECT_EQ(placements, 4);
  // What an auditor types.
  CommandResult by_job = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket, "--json", "audit",
                                        "list", "--job-id", absl::StrCat(ran)});
  ASSERT_EQ(by_job.exit_code, 0) << by_job.Describe();
  std::vector<std::string> kinds;
  const nlohmann::json listed_by_job = nlohmann::json::parse(by_job.out);
  for (const nlohmann::json& r : listed_by_job["records"]) {
    kinds.push_back(r["kind"].get<std::string>() + " " + r["verdict"].get<std::string>());
    EXPECT_EQ(r["decision_id"], ended->decision_id);
  }
  EXPECT_THAT(kinds, ::testing::ElementsAre("RECORD_KIND_OUTCOME ended",
                                            "RECORD_KIND_ATTESTATION ok",
                                            "RECORD_KIND_DECISION place"));
  CommandResult show = cluster_->Run(
      {SOVEREIGNCTL_PATH, "--socket", socket, "audit", "show", ended->decision_id});
  EXPECT_THAT(show.out, HasSubstr(absl::StrCat("outcome:    job ", ran,
                                               " ended FAILED, exit code 3, at ")));
  show = cluster_->Run(
      {SOVEREIGNCTL_PATH, "--socket", socket, "audit", "show", cancelled->decision_id});
  EXPECT_THAT(show.out, HasSubstr(absl::StrCat("outcome:    job ", held,
                                               " cancelled before it ran (CANCELLED) (seq ")));
  CommandResult listed = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket, "audit", "list",
                                        "--verdict", "not_created"});
  EXPECT_EQ(listed.exit_code, 0) << listed.Describe();
  EXPECT_THAT(listed.out, HasSubstr(not_created->decision_id));
  audit::VerifyReport v =
      audit::VerifyDatabase(state_ + "/audit.db", PublicKey(state_ + "/audit.db"));
  EXPECT_TRUE(v.ok) << v.problem;
}

TEST_F(DaemonE2ETest, JobsArePlacedWhileTheDaemonIsDownAndLoggedOnceAfter) {
  StartDaemon();
  uint32_t first = Submit({"--dataset=imagenet-public", "--hold", "--wrap", "true"});
  ASSERT_GT(first, 0u);
  WaitForRows([](const std::vector<Row>& r) { return r.size() >= 1; });
  StopDaemon();
  // The snapshot stays; the plugin keeps deciding and spooling.
  std::vector<uint32_t> while_down;
  for (int i = 0; i < 3; ++i) {
    while_down.push_back(Submit({"--dataset=imagenet-public", "--hold", "--wrap", "true"}));
    ASSERT_GT(while_down.back(), 0u);
    EXPECT_EQ(*cluster_->JobField(while_down.back(), "Partition"), "gpu-in-l40s");
  }
  EXPECT_EQ(Rows(state_ + "/audit.db").size(), 1u);
  StartDaemon();
  std::vector<Row> rows = WaitForRows([](const std::vector<Row>& r) { return r.size() >= 4; });
  std::set<std::string> ids;
  int decisions = 0;
  for (const Row& r : rows) {
    if (r.kind == 0) {
      ++decisions;
      ids.insert(r.decision_id);
    }
  }
  EXPECT_EQ(decisions, 4);
  EXPECT_EQ(ids.size(), 4u) << "each decision exactly once";
  for (uint32_t job : while_down) {
    std::string tag = *cluster_->JobField(job, "AdminComment");
    bool found = false;
    for (const std::string& d : ids) {
      found = found || tag.find("id=" + d + ";") != std::string::npos;
    }
    EXPECT_TRUE(found) << tag;
  }
  // A second restart writes nothing twice. sovereignd keeps no read position on disk: it reads
  // the records of the spool's unfinished segment again, once, and the log finds each of them
  // already logged. Once the restarted daemon has read the spool to its end (no backlog), the
  // records it read are those the spool holds, every one of them already logged.
  StopDaemon();
  StartDaemon();
  nlohmann::json status;
  for (int i = 0; i < 200; ++i) {
    status = Status();
    if (status.is_object() && Count(status, "spool_backlog_bytes") == 0) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(status.is_object());
  ASSERT_EQ(Count(status, "spool_backlog_bytes"), 0) << status.dump();
  auto reader = spool::SpoolReader::Open(cluster_->dir() + "/sovereign/spool");
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto in_spool = (*reader)->ReadNew(100000);
  ASSERT_TRUE(in_spool.ok()) << in_spool.status();
  const int64_t spooled = static_cast<int64_t>(in_spool->records.size());
  EXPECT_GE(spooled, 1);
  EXPECT_EQ(Count(status, "spool_ingested"), spooled) << status.dump();
  EXPECT_EQ(Count(status, "audit_already_logged"), spooled) << status.dump();
  int again = 0;
  for (const Row& r : Rows(state_ + "/audit.db")) {
    again += r.kind == 0;
  }
  EXPECT_EQ(again, 4);
  audit::VerifyReport v = audit::VerifyDatabase(state_ + "/audit.db", PublicKey(state_ + "/audit.db"));
  EXPECT_TRUE(v.ok) << v.problem;
  for (uint32_t job : while_down) {
    cluster_->Run({"scancel", absl::StrCat(job)});
  }
  cluster_->Run({"scancel", absl::StrCat(first)});
}

// The register promises nodes of 8 GPUs; the mini cluster's have 2, two to a partition at
// most. sovereignd publishes the real sizes, and the plugin refuses at submission a job that
// the compliant hardware cannot hold, with what it asked and what the largest partition has,
// instead of placing it where Slurm would never start it.
TEST_F(DaemonE2ETest, TheRealNodeSizesReachThePluginWhichRefusesAJobTooLargeForThem) {
  EnsureResearchers();
  LaunchDaemon();
  const std::string text = ReadText(cluster_->dir() + "/sovereign/snapshot");
  ASSERT_NE(text.find('\n'), std::string::npos) << text;
  const nlohmann::json body = nlohmann::json::parse(text.substr(text.find('\n') + 1));
  std::map<std::string, std::pair<int, int>> sizes;  // gpus_per_node, nodes_total
  for (const nlohmann::json& p : body["cluster"]["partitions"]) {
    sizes[p.value("name", "")] = {p.value("gpus_per_node", -1), p.value("nodes_total", -1)};
  }
  const std::map<std::string, std::pair<int, int>> real = {
      {"gpu-fr-a100", {2, 2}}, {"gpu-de-h100", {2, 2}}, {"gpu-de-cloud-h100", {2, 1}},
      {"gpu-us-h100", {2, 1}}, {"gpu-in-l40s", {2, 1}}};
  EXPECT_EQ(sizes, real) << body["cluster"].dump();

  // The plugin takes the snapshot within its 500 ms poll; until then it refuses every labelled
  // job as unplaceable. Submit until the answer is the plugin's decision (bounded).
  const std::vector<std::string> sbatch = {"runuser", "-u", kAlice, "--", "sbatch", "--parsable",
                                           "-o", "/dev/null", "--dataset=patients-eu",
                                           "--gpus=8", "--wrap", "true"};
  CommandResult r;
  for (int i = 0; i < 100; ++i) {
    r = cluster_->Run(sbatch);
    if (r.err.find("cannot place jobs yet") == std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_NE(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.err, ::testing::MatchesRegex(
                         "sbatch: error: sovereign: the job asks for 8 GPUs; the largest "
                         "compliant partition, gpu-fr-a100, has 2 nodes with 2 GPUs each \\(4 "
                         "GPUs\\); ask for at most 4 GPUs \\[decision [0-9a-f-]+\\]\n"
                         "sbatch: error: Batch job submission failed: Requested partition "
                         "configuration not available now\n"))
      << r.Describe();
  // Its refusal reaches the audit log; nothing was placed.
  auto refusal = [](const Row& x) {
    return x.verdict == "reject" && x.body.find("asks for 8 GPUs") != std::string::npos;
  };
  std::vector<Row> rows = WaitForRows([&](const std::vector<Row>& rows) {
    return std::any_of(rows.begin(), rows.end(), refusal);
  });
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(), refusal), 1)
      << ReadText(state_ + "/sovereignd.log");
  EXPECT_EQ(std::count_if(rows.begin(), rows.end(),
                          [](const Row& x) { return x.verdict == "place"; }),
            0);
  EXPECT_EQ(cluster_->Run({"squeue", "-h", "-o", "%i"}).out, "");
}

}  // namespace
}  // namespace sovereign::e2e
