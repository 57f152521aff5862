// The fixture of the tests that run sovereignd beside a real Slurm cluster: a fresh mini cluster
// per test with job_submit/sovereign and the SPANK option loaded, and a real sovereignd as a
// process (the example register, its audit log, snapshot and spool in the cluster's directory),
// which a test starts, stops, kills and starts again; helpers to read the audit database
// directly, ask `sovereignctl --json status`, and submit with sbatch.
//
// Used by daemon_e2e_test.cc and faults_e2e_test.cc. The test target defines
// SOVEREIGN_SPANK_SO, SOVEREIGN_PLUGIN_DIR, SOVEREIGND_PATH and SOVEREIGNCTL_PATH, and links
// SQLite and nlohmann_json.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "support/minicluster.h"
#include "support/temp_dir.h"

namespace sovereign::e2e {

using sovereign::testing::ReadText;

// Rows of the audit database, read with SQLite directly (WAL lets us read beside the daemon).
struct Row {
  int64_t seq;
  int kind;
  std::string decision_id;
  int64_t job_id;
  std::string verdict;
  std::string body;
};

inline std::vector<Row> Rows(const std::string& db_path) {
  std::vector<Row> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db,
                         "SELECT seq, kind, decision_id, job_id, verdict, body FROM records "
                         "ORDER BY seq",
                         -1, &st, nullptr) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW) {
      out.push_back({sqlite3_column_int64(st, 0), sqlite3_column_int(st, 1),
                     reinterpret_cast<const char*>(sqlite3_column_text(st, 2)),
                     sqlite3_column_int64(st, 3),
                     reinterpret_cast<const char*>(sqlite3_column_text(st, 4)),
                     reinterpret_cast<const char*>(sqlite3_column_text(st, 5))});
    }
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return out;
}

inline std::string PublicKey(const std::string& db_path) {
  std::string key;
  sqlite3* db = nullptr;
  sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'public_key'", -1, &st, nullptr) ==
          SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    key = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return key;
}

// Whether something accepts connections on the unix socket at `path`: a socket file left by a
// killed daemon refuses them.
inline bool SocketAnswers(const std::string& path) {
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

class DaemonClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    MiniClusterOptions options;
    options.spank_so = SOVEREIGN_SPANK_SO;
    options.plugin_dir = SOVEREIGN_PLUGIN_DIR;
    if (!spool_dir_.empty()) {
      options.env.push_back("SOVEREIGN_SPOOL=" + spool_dir_);
    }
    auto c = MiniCluster::Start(std::move(options));
    ASSERT_TRUE(c.ok()) << c.status();
    cluster_ = *std::move(c);
    chmod(cluster_->output_dir().c_str(), 01777);
    if (spool_dir_.empty()) {
      spool_dir_ = cluster_->dir() + "/sovereign/spool";
    }
    state_ = cluster_->dir() + "/sovereignd";
    mkdir(state_.c_str(), 0755);
    std::ofstream(state_ + "/register.yaml")
        << ReadText(std::string(SOVEREIGN_SOURCE_DIR) + "/config/register.example.yaml");
    std::ofstream(state_ + "/sovereignd.yaml") << absl::StrCat(
        "socket:\n  path: ", state_, "/sovereignd.sock\n", "register:\n  path: ", state_,
        "/register.yaml\n  history_database: ", state_, "/registers.db\n",
        "audit:\n  database: ", state_, "/audit.db\n  signing_key: ", state_,
        "/signing.pem\n  checkpoint_interval: 5\n",
        "slurm:\n  slurm_conf: ", cluster_->slurm_conf(), "\n  snapshot: ", cluster_->dir(),
        "/sovereign/snapshot\n  spool: ", spool_dir_,
        "\n  publish_interval_ms: 2000\n  reconcile_interval_ms: 500\n",
        // The minicluster's sovereign-plugin.conf says max_cluster_age = 2m.
        "  max_cluster_age: 2m\n", "log:\n  level: info\n");
  }

  void TearDown() override {
    StopDaemon();
    if (cluster_ != nullptr) {
      const bool failed = HasFailure();
      cluster_->set_keep_dir(failed);
      // A sanitizer report from inside slurmctld (the plugin) fails the test here.
      const absl::Status stopped = cluster_->Stop();
      EXPECT_TRUE(stopped.ok()) << stopped;
      if (failed || !stopped.ok()) {
        fprintf(stderr, "state and logs kept in %s\n", cluster_->dir().c_str());
      }
    }
  }

  std::string socket() const { return state_ + "/sovereignd.sock"; }
  std::string snapshot_path() const { return cluster_->dir() + "/sovereign/snapshot"; }
  std::string audit_db() const { return state_ + "/audit.db"; }

  // Starts sovereignd and waits (bounded) until the plugin has taken a snapshot this sovereignd
  // published (after a restart, the file still holds the previous one for a moment).
  void StartDaemon() {
    const absl::Time launched = absl::Now();
    ASSERT_NO_FATAL_FAILURE(LaunchDaemon());
    const absl::Status published = WaitForAPublicationAfter(launched);
    ASSERT_TRUE(published.ok()) << published;
    ASSERT_NO_FATAL_FAILURE(WaitUntilTheReconcilerHasReadTheJobTable());
  }

  // Waits (bounded) until the plugin holds a snapshot sovereignd published after `after`.
  absl::Status WaitForAPublicationAfter(absl::Time after) {
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      absl::StatusOr<absl::Time> published = SnapshotPublishedAt();
      if (published.ok() && *published > after) {
        return cluster_->WaitForPluginSnapshot(*published).status();
      }
      absl::SleepFor(absl::Milliseconds(50));
    }
    return absl::DeadlineExceededError("sovereignd published no snapshot");
  }

  // Waits (bounded) until the reconciler has read slurmctld's job table once: from then on it
  // watches, and a placement no job carries is "not_created" rather than "unknown".
  void WaitUntilTheReconcilerHasReadTheJobTable() {
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    nlohmann::json status = Status();
    while (Count(status, "reconcile_full_reads") < 1 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(50));
      status = Status();
    }
    ASSERT_GE(Count(status, "reconcile_full_reads"), 1) << status.dump();
  }

  // Waits (bounded) until the plugin has taken the snapshot now in the file, or a newer one:
  // slurmctld's log names the publication time of each snapshot the plugin takes.
  void WaitUntilThePluginTakesThePublishedSnapshot() {
    absl::StatusOr<absl::Time> published_at = SnapshotPublishedAt();
    ASSERT_TRUE(published_at.ok()) << published_at.status();
    absl::StatusOr<std::string> took = cluster_->WaitForPluginSnapshot(*published_at);
    ASSERT_TRUE(took.ok()) << took.status();
  }

  // When the snapshot now in the file was published (its published_at).
  absl::StatusOr<absl::Time> SnapshotPublishedAt() {
    const std::string text = ReadText(cluster_->dir() + "/sovereign/snapshot");
    const nlohmann::json body =
        text.find('\n') == std::string::npos
            ? nlohmann::json()
            : nlohmann::json::parse(text.substr(text.find('\n') + 1), nullptr, false);
    absl::Time published_at;
    std::string err;
    if (!body.is_object() ||
        !absl::ParseTime(absl::RFC3339_full, body.value("published_at", ""), &published_at, &err)) {
      return absl::DataLossError(
          absl::StrCat("no publication time in the snapshot: ", err, ": ", text));
    }
    return published_at;
  }

  // `sovereignctl --json status`: protobuf's JSON, where an int64 is a string and a zero is left
  // out; Count() reads such a field.
  nlohmann::json Status() {
    CommandResult r = cluster_->Run({SOVEREIGNCTL_PATH, "--socket", socket(), "--json", "status"});
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    return nlohmann::json::parse(r.out, nullptr, false);
  }
  static int64_t Count(const nlohmann::json& status, const std::string& field) {
    if (!status.is_object() || !status.contains(field)) {
      return 0;
    }
    int64_t n = -1;
    const nlohmann::json& v = status[field];
    if (v.is_string()) {
      EXPECT_TRUE(absl::SimpleAtoi(v.get<std::string>(), &n)) << field << ": " << v;
    } else if (v.is_number_integer()) {
      n = v.get<int64_t>();
    }
    return n;
  }

  // Starts sovereignd and returns once the snapshot file is there and the daemon answers on its
  // socket (a socket file left by a killed daemon refuses connections). Safe while other threads of
  // the test run: the child only redirects its output and execs.
  void LaunchDaemon() {
    const std::string log = state_ + "/sovereignd.log";
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    ASSERT_GE(log_fd, 0) << log << ": " << std::strerror(errno);
    std::vector<std::string> args = {SOVEREIGND_PATH, "--config", state_ + "/sovereignd.yaml"};
    std::vector<std::string> env = CleanEnvironment({"SLURM_CONF=" + cluster_->slurm_conf()});
    std::vector<char*> argv, envp;
    for (std::string& a : args) {
      argv.push_back(a.data());
    }
    argv.push_back(nullptr);
    for (std::string& e : env) {
      envp.push_back(e.data());
    }
    envp.push_back(nullptr);
    pid_ = fork();
    ASSERT_GE(pid_, 0);
    if (pid_ == 0) {
      dup2(log_fd, 1);
      dup2(log_fd, 2);
      close_range(3, ~0U, 0);  // the test runner's pipes, libslurm's and SQLite's descriptors
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    close(log_fd);
    const std::string snapshot = cluster_->dir() + "/sovereign/snapshot";
    auto up = [&] { return access(snapshot.c_str(), F_OK) == 0 && SocketAnswers(socket()); };
    const absl::Time deadline = absl::Now() + absl::Seconds(20);
    while (!up() && absl::Now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        FAIL() << "sovereignd exited at start (status " << status << "): " << ReadText(log);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(up()) << "sovereignd has not published a snapshot and answered after 20 s: "
                      << ReadText(log);
  }

  // SIGTERM: sovereignd stops cleanly and exits 0 (under a sanitizer, also without a report at
  // exit, leaks included).
  void StopDaemon() {
    if (pid_ <= 0) {
      return;
    }
    const int status = SignalDaemon(SIGTERM);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "sovereignd, stopped by SIGTERM, ended with wait status " << status << ": "
        << ReadText(state_ + "/sovereignd.log");
  }
  // The daemon dies at once, whatever it was doing: no clean shutdown, nothing flushed.
  void KillDaemon() { SignalDaemon(SIGKILL); }

  // Sends `sig` to sovereignd and reaps it (continuing it first, should a test have stopped
  // it); returns its wait status (0 when none ran).
  int SignalDaemon(int sig) {
    int status = 0;
    if (pid_ > 0) {
      kill(pid_, sig);
      kill(pid_, SIGCONT);
      waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    return status;
  }

  uint32_t Submit(const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"sbatch", "--parsable", "-o",
                                     cluster_->output_dir() + "/%j.out"};
    argv.insert(argv.end(), args.begin(), args.end());
    CommandResult r = cluster_->Run(argv);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    uint32_t id = 0;
    EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(r.out), &id)) << r.Describe();
    return id;
  }

  // Polls until `pred(rows)` holds (bounded).
  template <typename Pred>
  std::vector<Row> WaitForRows(Pred pred, int seconds = 20) {
    std::vector<Row> rows;
    for (int i = 0; i < seconds * 10; ++i) {
      rows = Rows(audit_db());
      if (pred(rows)) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return rows;
  }

  std::unique_ptr<MiniCluster> cluster_;
  // The plugin's spool folder, which sovereignd ingests: set before SetUp() to put it elsewhere
  // (default: <cluster dir>/sovereign/spool).
  std::string spool_dir_;
  std::string state_;
  pid_t pid_ = -1;
};

}  // namespace sovereign::e2e
