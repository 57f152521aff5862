// scripts/minicluster itself: its error messages, idempotent `up`, `status` and `env`, and a
// `down` that still stops everything when one daemon has died.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "support/minicluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/temp_dir.h"

namespace sovereign::e2e {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

const std::string kScript = SOVEREIGN_SOURCE_DIR "/scripts/minicluster";
const std::string kUsage =
    "(usage: minicluster up|down|status|env|restart-slurmctld|stop-slurmctld|start-slurmctld "
    "[--dir DIR])";

// A scratch directory, removed at the end of the test.
using ScratchDir = testing::TempDir;

CommandResult Script(const std::vector<std::string>& args, const std::string& scratch,
                     const std::vector<std::string>& env = {}) {
  std::vector<std::string> argv = {kScript};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, CleanEnvironment(env), absl::Seconds(60), scratch);
}

// True while /proc shows the process and it is not a zombie.
bool Alive(pid_t pid) {
  absl::StatusOr<std::string> stat = ReadFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!stat.ok()) {
    return false;
  }
  const size_t paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] != 'Z';
}

TEST(MiniclusterScript, RefusesUnknownCommandsAndArguments) {
  ScratchDir scratch;
  CommandResult r = Script({"frobnicate"}, scratch.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "minicluster: error: unknown command \"frobnicate\" " + kUsage + "\n");
  r = Script({"up", "--bogus"}, scratch.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "minicluster: error: unknown argument \"--bogus\" " + kUsage + "\n");
  r = Script({"up", "--dir"}, scratch.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "minicluster: error: --dir needs a value\n");
  r = Script({"up", "--dir", "/tmp/with space"}, scratch.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "minicluster: error: state directory \"/tmp/with space\" contains white space; "
            "slurm.conf cannot hold it\n");
}

TEST(MiniclusterScript, RefusesBadSettings) {
  ScratchDir scratch;
  const std::string dir = scratch.path() + "/cluster";
  CommandResult r =
      Script({"up", "--dir", dir}, scratch.path(), {"SOVEREIGN_CLUSTER_PORT_BASE=80"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "minicluster: error: SOVEREIGN_CLUSTER_PORT_BASE \"80\" is not a port number in "
            "1024..65000\n");
  r = Script({"up", "--dir", dir}, scratch.path(), {"SOVEREIGN_CLUSTER_TIMEOUT=0"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            "minicluster: error: SOVEREIGN_CLUSTER_TIMEOUT \"0\" is not a positive number of "
            "seconds\n");
  r = Script({"up", "--dir", dir}, scratch.path(), {"SOVEREIGN_SPANK_SO=/nonexistent.so"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "minicluster: error: SOVEREIGN_SPANK_SO \"/nonexistent.so\" is not a file\n");
  r = Script({"up", "--dir", dir}, scratch.path(), {"SOVEREIGN_PLUGIN_DIR=" + scratch.path()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "minicluster: error: SOVEREIGN_PLUGIN_DIR \"" + scratch.path() +
                       "\" holds no job_submit_sovereign.so\n");
}

TEST(MiniclusterScript, CommandsOnAClusterThatNeverRan) {
  ScratchDir scratch;
  const std::string dir = scratch.path() + "/never";
  CommandResult r = Script({"env", "--dir", dir}, scratch.path());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "minicluster: error: no cluster configuration at " + dir +
                       "/etc/slurm.conf; run `minicluster up --dir " + dir + "` first\n");
  r = Script({"status", "--dir", dir}, scratch.path());
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "state directory: " + dir + "\nstopped\n");
  r = Script({"down", "--dir", dir}, scratch.path());
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "minicluster: nothing to stop: " + dir + " does not exist\n");
}

TEST(MiniclusterScript, NamesTheProgramHoldingAPort) {
  ScratchDir scratch;
  // Not close-on-exec on purpose: RunCommand must keep it from the script all the same, or ss
  // would name the script as a holder too.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 7), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const int port = ntohs(addr.sin_port);
  const std::string comm(
      absl::StripTrailingAsciiWhitespace(ReadFile("/proc/self/comm").value_or("?")));

  const std::string dir = scratch.path() + "/cluster";
  const CommandResult r = Script({"up", "--dir", dir}, scratch.path(),
                                 {absl::StrCat("SOVEREIGN_CLUSTER_PORT_BASE=", port)});
  close(fd);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err,
            absl::StrCat("minicluster: error: port ", port, " is in use by: LISTEN 0 7 ",
                         "127.0.0.1:", port, " 0.0.0.0:* users:((\"", comm, "\",pid=", getpid(),
                         ",fd=", fd, ")). Choose another SOVEREIGN_CLUSTER_PORT_BASE (now ", port,
                         "), or stop that program\n"));
  // Nothing was started.
  EXPECT_FALSE(std::filesystem::exists(dir + "/pids/munged"));
}

class MiniclusterLifecycle : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<MiniCluster>> c = MiniCluster::Start({});
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = *std::move(c);
  }
  void TearDown() override {
    if (cluster_ != nullptr) {
      cluster_->set_keep_dir(HasFailure());
      const absl::Status stopped = cluster_->Stop();
      EXPECT_TRUE(stopped.ok()) << stopped;
    }
  }

  CommandResult Script(const std::vector<std::string>& args) {
    std::vector<std::string> all = args;
    all.insert(all.end(), {"--dir", cluster_->dir()});
    return sovereign::e2e::Script(all, cluster_->dir() + "/cmd");
  }

  std::unique_ptr<MiniCluster> cluster_;
};

TEST_F(MiniclusterLifecycle, UpIsIdempotentAndStatusAndEnvDescribeTheCluster) {
  const std::string dir = cluster_->dir();
  CommandResult r = Script({"up"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "minicluster: already running in " + dir +
                       " (9 processes); nothing to do (`down` first to apply changed settings)\n");

  r = Script({"env"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_EQ(r.out, "export SLURM_CONF=" + dir +
                       "/etc/slurm.conf\nexport SOVEREIGN_CLUSTER_DIR=" + dir + "\n");

  r = Script({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("port base:       ", cluster_->port_base(), "\n")));
  for (const char* c :
       {"munged", "slurmctld", "slurmd.fr-a100-1", "slurmd.fr-a100-2", "slurmd.de-h100-1",
        "slurmd.de-h100-2", "slurmd.de-cloud-h100-1", "slurmd.us-h100-1", "slurmd.in-l40s-1"}) {
    EXPECT_THAT(r.out, MatchesRegex(absl::StrCat("(.|\n)*\n  ", c, " +pid [0-9]+ +alive\n(.|\n)*")))
        << c;
  }
  EXPECT_THAT(r.out, HasSubstr("us-h100-1 gpu-us-h100 idle gpu:h100:2"));
  EXPECT_THAT(r.out, ::testing::EndsWith("\nrunning\n"));
}

TEST_F(MiniclusterLifecycle, ADeadDaemonIsReportedAndDownStillStopsTheRest) {
  const std::string dir = cluster_->dir();
  std::vector<pid_t> pids;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/pids")) {
    int pid = 0;
    ASSERT_TRUE(absl::SimpleAtoi(
        absl::StripTrailingAsciiWhitespace(ReadFile(entry.path()).value_or("")), &pid));
    pids.push_back(pid);
  }
  ASSERT_EQ(pids.size(), 9u);

  int victim = 0;
  ASSERT_TRUE(absl::SimpleAtoi(
      absl::StripTrailingAsciiWhitespace(ReadFile(dir + "/pids/slurmd.us-h100-1").value_or("")),
      &victim));
  ASSERT_EQ(kill(victim, SIGKILL), 0);
  for (int i = 0; i < 200 && Alive(victim); ++i) {
    usleep(10000);
  }
  ASSERT_FALSE(Alive(victim));

  CommandResult r = Script({"status"});
  EXPECT_EQ(r.exit_code, 1) << r.Describe();
  EXPECT_THAT(r.out, MatchesRegex("(.|\n)*\n  slurmd.us-h100-1 +pid [0-9]+ +dead\n(.|\n)*"));
  EXPECT_THAT(r.out, ::testing::EndsWith("\ndegraded: not running: slurmd.us-h100-1\n"));

  r = Script({"up"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "minicluster: error: cluster in " + dir +
                       " is partly running (8 alive, 1 dead); run `minicluster down --dir " + dir +
                       "` first\n");

  ASSERT_TRUE(cluster_->Stop().ok());
  for (pid_t pid : pids) {
    EXPECT_FALSE(Alive(pid)) << "pid " << pid << " survived down";
  }
}

// In the AddressSanitizer tree the cluster's processes write their ASan and UBSan reports to
// log/sanitizer.<pid>: `status` names such a file, and Stop() fails with its text and keeps the
// directory, which makes the fixtures fail the test.
TEST_F(MiniclusterLifecycle, ASanitizerReportIsNamedAndFailsStop) {
  const std::string dir = cluster_->dir();
  const std::string report = cluster_->log_dir() + "/sanitizer.4242";
  const std::string text =
      "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010\n";
  std::ofstream(report) << text;

  CommandResult r = Script({"status"});
  EXPECT_EQ(r.exit_code, 0) << r.Describe();
  EXPECT_THAT(r.out, HasSubstr("\nsanitizer reports: " + report + "\n"));

  const absl::Status stopped = cluster_->Stop();
  EXPECT_FALSE(stopped.ok());
  EXPECT_EQ(stopped.message(), absl::StrCat("a process of the mini-cluster in ", dir,
                                            " wrote sanitizer reports:\n==> ", report, " <==\n",
                                            text, "\n"));
  EXPECT_TRUE(std::filesystem::exists(report)) << "the directory was not kept";
  EXPECT_NE(Script({"status"}).exit_code, 0) << "the cluster still runs";
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace sovereign::e2e
