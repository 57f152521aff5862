// sovereignctl's offline commands, run as a user would run them: every message a user can
// meet is pinned here with its exit code (0 yes, 1 no or invalid input, 2 usage or I/O).
#include <pwd.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "commands.h"
#include "support/minicluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sovereign/register.h"
#include "support/temp_dir.h"

namespace sovereign {
namespace {

using e2e::CleanEnvironment;
using e2e::CommandResult;
using e2e::RunCommand;
using ::testing::ElementsAre;
using ::testing::IsEmpty;

const std::string kSource = SOVEREIGN_SOURCE_DIR;
const std::string kRegister = kSource + "/config/register.example.yaml";
const std::string kCluster = kSource + "/config/cluster.example.json";

class SovereignctlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir_.path();
  }

  CommandResult Run(std::vector<std::string> args) const {
    args.insert(args.begin(), SOVEREIGNCTL);
    CommandResult r = RunCommand(args, CleanEnvironment({}), absl::Seconds(30), dir_.string());
    EXPECT_FALSE(r.timed_out) << r.Describe();
    return r;
  }

  // `explain --json` with the example register; the JSON it printed.
  nlohmann::json ExplainJson(std::vector<std::string> args, int expected_exit) const {
    args.insert(args.begin(), {"explain", "--json", "--register", kRegister});
    CommandResult r = Run(args);
    EXPECT_EQ(r.exit_code, expected_exit) << r.Describe();
    EXPECT_THAT(r.err, IsEmpty());
    nlohmann::json doc = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(doc.is_discarded()) << r.Describe();
    return doc;
  }

  std::string Write(const std::string& name, const std::string& text) const {
    return temp_dir_.Write(name, text);
  }

  // Two problems: an undeclared region and a PUE below 1.
  std::string InvalidRegister() const {
    return Write("bad.yaml",
                 "regions:\n"
                 "  - name: eu\n"
                 "sites:\n"
                 "  - name: paris-1\n"
                 "    region: eu-west\n"
                 "    country: FR\n"
                 "    operator: Example Calcul SAS\n"
                 "    operator_jurisdiction: EU\n"
                 "    pue: 0.5\n"
                 "    carbon_intensity: 31\n"
                 "partitions: []\n");
  }

  testing::TempDir temp_dir_;
  std::filesystem::path dir_;
};

// --- register validate ---------------------------------------------------------------------

TEST_F(SovereignctlTest, ValidatePrintsTheSummaryOfAValidRegister) {
  absl::StatusOr<std::shared_ptr<const Register>> reg = Register::Load(kRegister);
  ASSERT_TRUE(reg.ok()) << reg.status();
  CommandResult r = Run({"register", "validate", kRegister});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, absl::StrCat(kRegister, ": valid\n", "  version    ", (*reg)->version(), "\n",
                                "  contents   3 regions, 5 sites, 5 partitions, 4 datasets, "
                                "4 accounts\n",
                                "  objective  energy\n",
                                "  unlabelled jobs run in any region; jobs without --time are "
                                "estimated at 1h\n",
                                "  cluster    not checked: no --slurm-conf given, and cannot reach "
                                "sovereignd at /run/sovereign/sovereignd.sock: no such socket (is "
                                "sovereignd running?)\n"));
  EXPECT_THAT(r.err, IsEmpty());
}

TEST_F(SovereignctlTest, ValidateJsonGivesCountsObjectiveAndVersion) {
  const std::string carbon = kSource + "/tests/golden/register-carbon.yaml";
  absl::StatusOr<std::shared_ptr<const Register>> reg = Register::Load(carbon);
  ASSERT_TRUE(reg.ok()) << reg.status();
  CommandResult r = Run({"register", "validate", "--json", carbon});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  const nlohmann::json cluster = {
      {"checked", false},
      {"not_checked",
       "no --slurm-conf given, and cannot reach sovereignd at /run/sovereign/sovereignd.sock: no "
       "such socket (is sovereignd running?)"},
      {"errors", nlohmann::json::array()},
      {"warnings", nlohmann::json::array()}};
  EXPECT_EQ(nlohmann::json::parse(r.out), (nlohmann::json{{"file", carbon},
                                                          {"valid", true},
                                                          {"version", (*reg)->version()},
                                                          {"objective", "carbon"},
                                                          {"regions", 3},
                                                          {"sites", 5},
                                                          {"partitions", 5},
                                                          {"datasets", 4},
                                                          {"accounts", 4},
                                                          {"cluster", cluster}}));
  // --json may come before the subcommand too.
  EXPECT_EQ(Run({"--json", "register", "validate", carbon}).out, r.out);
}

TEST_F(SovereignctlTest, ValidateReportsEveryErrorWithItsLocation) {
  const std::string bad = InvalidRegister();
  CommandResult r = Run({"register", "validate", bad});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.out, IsEmpty());
  EXPECT_EQ(r.err,
            absl::StrCat(bad,
                         ":5:13: site \"paris-1\": field \"region\": region \"eu-west\" is "
                         "not declared (known: eu)\n",
                         bad, ":9:10: site \"paris-1\": field \"pue\": must be >= 1.0, got 0.5\n",
                         bad, ":11:13: section \"partitions\": lists no partition, so no job "
                         "could be placed anywhere (an empty register is not a policy)\n",
                         bad, ": invalid (3 errors)\n"));
}

TEST_F(SovereignctlTest, ValidateJsonListsEveryError) {
  const std::string bad = InvalidRegister();
  CommandResult r = Run({"register", "validate", "--json", bad});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  nlohmann::json doc = nlohmann::json::parse(r.out);
  EXPECT_EQ(doc["valid"], false);
  EXPECT_EQ(doc["file"], bad);
  ASSERT_EQ(doc["errors"].size(), 3u);
  EXPECT_EQ(doc["errors"][1], (nlohmann::json{{"file", bad},
                                              {"line", 9},
                                              {"column", 10},
                                              {"message",
                                               "site \"paris-1\": field \"pue\": must "
                                               "be >= 1.0, got 0.5"}}));
}

TEST_F(SovereignctlTest, ValidateSaysWhyAFileCannotBeRead) {
  const std::string missing = (dir_ / "missing.yaml").string();
  CommandResult r = Run({"register", "validate", missing});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err, absl::StrCat("sovereignctl register validate: cannot read register \"", missing,
                                "\": No such file or directory\n"));
  r = Run({"register", "validate", dir_.string()});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err, absl::StrCat("sovereignctl register validate: cannot read register \"",
                                dir_.string(), "\": it is a directory\n"));
}

// --- register validate --slurm-conf ----------------------------------------------------------

// The example register with every dataset group set to `group`, and a slurm.conf with its five
// partitions as it describes them.
class ValidateAgainstSlurmTest : public SovereignctlTest {
 protected:
  void SetUp() override {
    SovereignctlTest::SetUp();
    std::ifstream in(kRegister);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    register_ = Write("register.yaml",
                      std::regex_replace(text, std::regex("groups: \\[[a-z]+\\]"), "groups: [root]"));
  }
  // tests/fixtures/slurm-register-example.conf, gpu-in-l40s on `l40s_nodes`.
  std::string SlurmConf(const std::string& l40s_nodes) {
    std::ifstream in(kSource + "/tests/fixtures/slurm-register-example.conf");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return Write("slurm.conf", absl::StrReplaceAll(text, {{"gpu-in-l40s Nodes=in[1-12]",
                                                           "gpu-in-l40s Nodes=" + l40s_nodes}}));
  }
  std::string register_;
};

TEST_F(ValidateAgainstSlurmTest, AMatchingClusterHasNothingToSay) {
  const std::string conf = SlurmConf("in[1-12]");
  CommandResult r = Run({"register", "validate", "--slurm-conf", conf, register_});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, ::testing::EndsWith(absl::StrCat(
                         "  cluster    checked against slurm.conf ", conf,
                         ": 0 errors, 0 warnings\n")));
}

TEST_F(ValidateAgainstSlurmTest, ErrorsFailTheCheckAndWarningsDoNot) {
  const std::string fewer = SlurmConf("in[1-10]");
  CommandResult warned = Run({"register", "validate", "--slurm-conf", fewer, register_});
  EXPECT_EQ(warned.exit_code, 0) << warned.Describe();
  EXPECT_THAT(warned.out, ::testing::EndsWith(absl::StrCat(
                              "  cluster    checked against slurm.conf ", fewer,
                              ": 0 errors, 1 warning\n", register_,
                              ":128:5: warning: partition \"gpu-in-l40s\": field \"nodes\": the "
                              "register says 12, Slurm has 10\n")));
  const std::string missing = Write("slurm.conf", "NodeName=in[1-12] Gres=gpu:l40s:8\n"
                                                  "PartitionName=gpu-in-l40s Nodes=in[1-12]\n");
  CommandResult failed = Run({"register", "validate", "--slurm-conf", missing, register_});
  EXPECT_EQ(failed.exit_code, 1) << failed.Describe();
  EXPECT_THAT(failed.out,
              ::testing::HasSubstr(absl::StrCat(
                  "  cluster    checked against slurm.conf ", missing, ": 4 errors, 0 warnings\n",
                  register_, ":92:5: error: partition \"gpu-fr-a100\": Slurm has no partition "
                  "gpu-fr-a100 (slurm.conf ", missing, " has: gpu-in-l40s)\n")));
  nlohmann::json doc =
      nlohmann::json::parse(Run({"--json", "register", "validate", "--slurm-conf", missing,
                                 register_}).out);
  EXPECT_EQ(doc["cluster"]["checked"], true);
  EXPECT_EQ(doc["cluster"]["errors"].size(), 4u);
  EXPECT_EQ(doc["cluster"]["errors"][0]["line"], 92);
}

TEST_F(ValidateAgainstSlurmTest, UnknownGroupsAreErrors) {
  std::ifstream in(register_);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Write("register.yaml", std::regex_replace(text, std::regex("groups: \\[root\\]"),
                                            "groups: [no-such-group-sov]"));
  CommandResult r = Run({"register", "validate", "--slurm-conf", SlurmConf("in[1-12]"), register_});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.out, ::testing::HasSubstr(absl::StrCat(
                         register_, ":141:5: error: dataset \"patients-eu\": field \"groups\": "
                         "Unix group \"no-such-group-sov\" does not exist on this host\n")));
}

TEST_F(ValidateAgainstSlurmTest, ASlurmConfThatCannotBeReadIsAUsageError) {
  const std::string none = (dir_ / "none.conf").string();
  CommandResult r = Run({"register", "validate", "--slurm-conf", none, register_});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err, absl::StrCat("sovereignctl register validate: cannot read ", none, "\n"));
}

TEST_F(SovereignctlTest, ValidateNeedsAFile) {
  CommandResult r = Run({"register", "validate"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err, "file is required\nRun with --help for more information.\n");
}

// --- explain -------------------------------------------------------------------------------

// Built without the online commands, explain has nobody to ask but the register.
TEST(ExplainCommandTest, WithoutRegisterNeedsDaemonSupport) {
  CLI::App app;
  cli::GlobalOptions global;
  int exit_code = -1;
  cli::AddExplainCommand(app, global, &exit_code, /*online=*/nullptr);
  ::testing::internal::CaptureStderr();
  app.parse("explain --dataset patients-eu --gpus 1", /*program_name_included=*/false);
  EXPECT_EQ(::testing::internal::GetCapturedStderr(),
            "sovereignctl explain: --register is required when sovereignd support is not built "
            "in\n");
  EXPECT_EQ(exit_code, 2);
}

TEST_F(SovereignctlTest, ExplainWithoutRegisterAsksTheDaemon) {
  const std::string socket = (dir_ / "sovereignd.sock").string();
  CommandResult r = Run({"--socket", socket, "explain", "--gpus", "1", "--dataset", "patients-eu"});
  EXPECT_EQ(r.exit_code, 3) << r.Describe();
  EXPECT_EQ(r.err, absl::StrCat("sovereignctl: cannot reach sovereignd at ", socket,
                                ": no such socket (is sovereignd running?)\n"));
  EXPECT_THAT(r.out, IsEmpty());
}

TEST_F(SovereignctlTest, ExplainAgainstTheDaemonTakesNoClusterNorClock) {
  CommandResult r = Run({"explain", "--gpus", "1", "--cluster", kCluster});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err,
            "sovereignctl explain: --cluster needs --register (sovereignd uses its own cluster "
            "view and clock)\n");
  r = Run({"explain", "--gpus", "1", "--now", "2026-11-22T10:00:00Z"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err,
            "sovereignctl explain: --now needs --register (sovereignd uses its own cluster "
            "view and clock)\n");
}

TEST_F(SovereignctlTest, ExplainRefusesAMalformedTimeLimit) {
  CommandResult r = Run({"explain", "--register", kRegister, "--gpus", "1", "--time", "2x"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err,
            "sovereignctl explain: invalid --time \"2x\": expected a time limit as sbatch takes "
            "it (minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM or D-HH:MM:SS) or a duration such as "
            "30m, 2h or 1h30m\n");
  r = Run({"explain", "--register", kRegister, "--gpus", "1", "-t", "1:2:3:4"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  r = Run({"explain", "--register", kRegister, "--gpus", "1", "--time", "0m"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err,
            "sovereignctl explain: invalid --time \"0m\": the time limit must be longer "
            "than 0\n");
}

TEST_F(SovereignctlTest, ExplainRefusesAMalformedNow) {
  CommandResult r = Run({"explain", "--register", kRegister, "--gpus", "1", "--now", "yesterday"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err,
            "sovereignctl explain: invalid --now \"yesterday\": expected an RFC 3339 time such as "
            "2026-11-22T10:00:00Z\n");
}

TEST_F(SovereignctlTest, ExplainSaysWhyTheRegisterCannotBeUsed) {
  const std::string missing = (dir_ / "missing.yaml").string();
  CommandResult r = Run({"explain", "--register", missing, "--gpus", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err, absl::StrCat("sovereignctl explain: cannot read register \"", missing,
                                "\": No such file or directory\n"));

  const std::string bad = InvalidRegister();
  r = Run({"explain", "--register", bad, "--gpus", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_EQ(r.err,
            absl::StrCat("sovereignctl explain: invalid register (3 errors):\n", bad,
                         ":5:13: site \"paris-1\": field \"region\": region \"eu-west\" is "
                         "not declared (known: eu)\n",
                         bad, ":9:10: site \"paris-1\": field \"pue\": must be >= 1.0, got 0.5\n",
                         bad, ":11:13: section \"partitions\": lists no partition, so no job "
                         "could be placed anywhere (an empty register is not a policy)\n"));
  EXPECT_THAT(r.out, IsEmpty());
}

TEST_F(SovereignctlTest, ExplainSaysWhyTheClusterSnapshotCannotBeUsed) {
  const std::string missing = (dir_ / "missing.json").string();
  CommandResult r = Run({"explain", "--register", kRegister, "--cluster", missing, "--gpus", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err,
            absl::StrCat("sovereignctl explain: cluster snapshot ", missing, ": cannot be read\n"));

  const std::string broken = Write("broken.json", "{\"partitions\": [");
  r = Run({"explain", "--register", kRegister, "--cluster", broken, "--gpus", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_EQ(r.err,
            absl::StrCat("sovereignctl explain: cluster snapshot ", broken, ": not valid JSON\n"));

  const std::string wrong = Write("wrong.json",
                                  R"({"partitions": [{"name": "gpu-fr-a100", "nodes_up": 2,
                                      "gpus_total": 8, "gpus_free": 9}]})");
  r = Run({"explain", "--register", kRegister, "--cluster", wrong, "--gpus", "1"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_EQ(r.err, absl::StrCat("sovereignctl explain: cluster snapshot ", wrong,
                                ": partition \"gpu-fr-a100\": gpus_free (9) is larger than "
                                "gpus_total (8)\n"));
}

TEST_F(SovereignctlTest, ExplainNeedsTheGroupsOfAUserThisMachineDoesNotKnow) {
  const std::string user = "sovereign-no-such-user";
  ASSERT_EQ(getpwnam(user.c_str()), nullptr);
  CommandResult r = Run({"explain", "--register", kRegister, "--user", user, "--gpus", "1"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err,
            "sovereignctl explain: user \"sovereign-no-such-user\" is not known on this "
            "machine: give their --uid and --group\n");
  // With both, the machine is not asked.
  nlohmann::json doc = ExplainJson({"--user", user, "--uid", "4242", "--group", "oncology",
                                    "--account", "oncology", "--gpus", "1"},
                                   0);
  EXPECT_EQ(doc["request"]["uid"], 4242);
  EXPECT_EQ(doc["request"]["groups"], nlohmann::json::array({"oncology"}));
}

TEST_F(SovereignctlTest, ExplainTakesTheTimeFormsSbatchTakes) {
  const std::vector<std::pair<std::string, int>> forms = {
      {"120", 7200},      {"2:00:00", 7200},   {"90:30", 5430},   {"1-00:00:00", 86400},
      {"1-2", 93600},     {"1-2:30", 95400},   {"0-0:0:45", 45},  {"1h30m", 5400}};
  for (const auto& [text, seconds] : forms) {
    nlohmann::json doc = ExplainJson({"--user", "root", "--gpus", "1", "-t", text}, 0);
    EXPECT_EQ(doc["request"]["time_limit_seconds"], seconds) << text;
  }
}

TEST_F(SovereignctlTest, ExplainWithoutGpusIsACpuOnlyJob) {
  nlohmann::json doc = ExplainJson({"--user", "root", "--dataset", "imagenet-public"}, 0);
  EXPECT_EQ(doc["request"]["gpus"], 0);
  EXPECT_EQ(doc["verdict"], "place");
}

TEST_F(SovereignctlTest, ExplainReadsTheCommentAsSbatchDoes) {
  nlohmann::json doc = ExplainJson(
      {"--user", "root", "--group", "oncology", "--comment", "run 4 dataset:patients-eu"}, 0);
  EXPECT_EQ(doc["request"]["datasets"], nlohmann::json::array({"patients-eu"}));
  CommandResult r = Run({"explain", "--register", kRegister, "--user", "root",
                         "--comment=dataset: patients-eu"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err,
            "sovereignctl explain: cannot read the dataset declaration \"dataset: patients-eu\" "
            "in --comment; write \"dataset:\" and the names as one word, without spaces, e.g. "
            "--comment=dataset:patients-eu or --comment=dataset:patients-eu,imagenet-public\n");
}

TEST_F(SovereignctlTest, DatasetsOfflineListsWhatTheUserMayUse) {
  CommandResult r = Run({"datasets", "--register", kRegister, "--cluster", kCluster, "--user",
                         "alice", "--group", "oncology"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  auto reg = Register::Load(kRegister);
  ASSERT_TRUE(reg.ok());
  EXPECT_EQ(r.out,
            absl::StrCat(
                "user:     alice (groups oncology)\nregister: ", std::string((*reg)->short_version()),
                "\n\n"
                "DATASET          CLASS      REGIONS   OPERATORS  ACCESS          IMPLIED BY   "
                "PARTITIONS\n"
                "patients-eu      sovereign  eu        EU         group oncology  -A oncology  "
                "gpu-fr-a100, gpu-de-h100\n"
                "imagenet-public  public     eu,us,in  any        everyone        -            "
                "gpu-fr-a100, gpu-de-h100, gpu-de-cloud-h100, gpu-us-h100 (drain), gpu-in-l40s\n"
                "\nDeclare them with sbatch --dataset=NAME; `sovereignctl explain --dataset NAME` "
                "shows where a job would run.\n"));
  r = Run({"--json", "datasets", "--register", kRegister, "--user", "bob", "--group", "vision"});
  ASSERT_EQ(r.exit_code, 0) << r.Describe();
  nlohmann::json doc = nlohmann::json::parse(r.out);
  ASSERT_EQ(doc["datasets"].size(), 1u);
  EXPECT_EQ(doc["datasets"][0]["name"], "imagenet-public");
  EXPECT_EQ(doc["datasets"][0]["partitions"][0],
            nlohmann::json::parse(R"({"name":"gpu-fr-a100","site":"paris-1","region":"eu"})"));

  const std::string user = "sovereign-no-such-user";
  r = Run({"datasets", "--register", kRegister, "--user", user});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err,
            "sovereignctl datasets: user \"sovereign-no-such-user\" is not known on this "
            "machine: give their --group\n");
}

TEST_F(SovereignctlTest, ExplainChecksItsOptions) {
  CommandResult r = Run({"explain", "--register", kRegister, "--gpus", "1", "--uid=-5"});
  EXPECT_EQ(r.exit_code, 2) << r.Describe();
  EXPECT_EQ(r.err,
            "--uid: Value -5 not in range 0 to 4294967295\nRun with --help for more "
            "information.\n");
}

TEST_F(SovereignctlTest, ExplainLooksUpTheUserOnThisMachine) {
  // root exists on every Linux machine, with uid 0 and group root among its groups.
  nlohmann::json doc = ExplainJson({"--user", "root", "--gpus", "1"}, 0);
  EXPECT_EQ(doc["request"]["user"], "root");
  EXPECT_EQ(doc["request"]["uid"], 0);
  EXPECT_THAT(doc["request"]["groups"].get<std::vector<std::string>>(),
              ::testing::Contains("root"));
  // --group replaces the machine's groups; the uid still comes from the machine.
  doc = ExplainJson(
      {"--user", "root", "--group", "fintech,genomics", "--group", "vision", "--gpus", "1"}, 0);
  EXPECT_EQ(doc["request"]["uid"], 0);
  EXPECT_EQ(doc["request"]["groups"], nlohmann::json::array({"fintech", "genomics", "vision"}));
}

TEST_F(SovereignctlTest, ExplainDefaultsToTheUserRunningIt) {
  const struct passwd* me = getpwuid(geteuid());
  ASSERT_NE(me, nullptr);
  nlohmann::json doc = ExplainJson({"--gpus", "1"}, 0);
  EXPECT_EQ(doc["request"]["user"], me->pw_name);
  EXPECT_EQ(doc["request"]["uid"], me->pw_uid);
}

TEST_F(SovereignctlTest, ExplainTakesListsRepeatedOrCommaSeparated) {
  nlohmann::json doc = ExplainJson(
      {"--user", "u", "--uid", "1", "--group", "g", "--dataset", "imagenet-public", "--dataset",
       "d1,d2", "-p", "gpu-fr-a100,gpu-in-l40s", "--gpus", "1", "--now=2026-11-22T10:00:00Z"},
      1);
  EXPECT_EQ(doc["request"]["datasets"], nlohmann::json::array({"imagenet-public", "d1", "d2"}));
  EXPECT_EQ(doc["request"]["partitions"], nlohmann::json::array({"gpu-fr-a100", "gpu-in-l40s"}));
  EXPECT_EQ(doc["request"]["submit_time"], "2026-11-22T10:00:00Z");
  EXPECT_EQ(doc["code"], "unknown_dataset");
}

TEST_F(SovereignctlTest, ExplainExitCodeIsTheVerdictInBothForms) {
  const std::vector<std::string> place = {
      "explain", "--register", kRegister,  "--cluster", kCluster,   "--user", "alice", "--uid",
      "1001",    "--group",    "oncology", "--account", "oncology", "--gpus", "4"};
  std::vector<std::string> reject = place;
  reject.insert(reject.end(), {"-p", "gpu-us-h100"});
  for (bool json : {false, true}) {
    std::vector<std::string> a = place, b = reject;
    if (json) {
      a.push_back("--json");
      b.push_back("--json");
    }
    CommandResult r = Run(a);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    r = Run(b);
    EXPECT_EQ(r.exit_code, 1) << r.Describe();
    EXPECT_THAT(r.err, IsEmpty());
  }
  CommandResult table = Run(place);
  EXPECT_THAT(table.out, ::testing::StartsWith("verdict:  place on gpu-fr-a100 (region eu)\n"));
}

}  // namespace
}  // namespace sovereign
