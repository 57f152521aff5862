// A real Slurm cluster for end-to-end tests: scripts/minicluster brought up in a fresh
// temporary directory on a block of free loopback ports, with munged, slurmctld and one slurmd
// per node of config/slurm.conf.in (partitions gpu-fr-a100, gpu-de-h100, gpu-de-cloud-h100,
// gpu-us-h100, gpu-in-l40s). Commands (sbatch, squeue, scontrol, ...) run with SLURM_CONF
// pointing at it; every command and every wait is bounded in time.
//
//   absl::StatusOr<std::unique_ptr<MiniCluster>> c = MiniCluster::Start({.spank_so = ...});
//   absl::StatusOr<uint32_t> id = (*c)->Submit({"-p", "gpu-us-h100", "--wrap", "true"});
//   absl::StatusOr<std::string> state = (*c)->WaitForJobState(*id, {"COMPLETED"});
//
// Ownership: the object owns the cluster's processes and its directory. The destructor stops
// the cluster (scontrol shutdown, then munged, all by recorded PID) and removes the directory
// unless keep_dir() is set. A watchdog process runs `minicluster down` if this process dies
// without stopping the cluster (a crash, an abort): no daemon outlives the test.
//
// Sanitized builds (`make test-asan`): our plugins are then built with AddressSanitizer, which
// an uninstrumented slurmctld, slurmd or sbatch can only load with its runtime preloaded. The
// cluster's daemons and every command Run() starts preload it, without leak checking (Slurm's
// own allocations), and write any ASan or UBSan report to log_dir()/sanitizer.<pid>. Stop()
// fails when such a report exists, so that an error inside slurmctld fails the test.
//
// Thread-safety: Run() and the job helpers may be called from several threads at once;
// Stop() must not race with them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sovereign::e2e {

struct MiniClusterOptions {
  // sovereign_spank.so to list in plugstack.conf (adds --dataset); empty: none.
  std::string spank_so;
  // Folder holding job_submit_sovereign.so: enables JobSubmitPlugins=sovereign; empty: none.
  std::string plugin_dir;
  // A PrologSlurmctld records each job's SPANK_* variables, as slurmctld holds them, in
  // ControllerSpankEnvPath(job_id).
  bool record_spank_env = false;
  // sovereign-prolog to run as PrologSlurmctld (after the recording above, if any); empty: none.
  std::string prolog;
  // First of the cluster's TCP ports (slurmctld; node i listens on base+i). 0 picks a free
  // block of 16 ports below the kernel's ephemeral range.
  int port_base = 0;
  // How long `up` may take until every node is idle.
  absl::Duration up_timeout = absl::Seconds(60);
  // Default time limit of Run().
  absl::Duration command_timeout = absl::Seconds(30);
  // Extra environment for `minicluster up` and every command ("NAME=value").
  std::vector<std::string> env;
  // Path of the script; empty: scripts/minicluster of the source tree this was built from.
  std::string script;
};

// What a command did. exit_code is the exit status, 128+N when killed by signal N, -1 when it
// could not be started (err then says why).
struct CommandResult {
  std::string command;  // argv joined by spaces
  int exit_code = -1;
  bool timed_out = false;
  absl::Duration elapsed;
  std::string out;
  std::string err;
  // "`sbatch -p x` exited 1 after 0.1s; stdout: ...; stderr: ..." for failure messages.
  std::string Describe() const;
};

class MiniCluster {
 public:
  // Brings a cluster up; on failure returns the script's stderr and the log directory (kept).
  // Retries with another port block when a chosen port was taken meanwhile.
  static absl::StatusOr<std::unique_ptr<MiniCluster>> Start(MiniClusterOptions options);

  MiniCluster(const MiniCluster&) = delete;
  MiniCluster& operator=(const MiniCluster&) = delete;
  ~MiniCluster();

  // Stops every process of the cluster (bounded) and removes the directory unless kept.
  // Fails, keeping the directory, when stopping failed or a sanitizer wrote a report (its text
  // is in the message). Idempotent: a second call returns OK.
  absl::Status Stop();

  // Restarts slurmctld (`minicluster restart-slurmctld`): SIGTERM by its recorded PID, so that
  // it saves its state, then a new slurmctld on the same state directory, which keeps every
  // job; returns once it answers `scontrol ping`, or the script's failure.
  absl::Status RestartController() const;
  // The two halves of a restart (`minicluster stop-slurmctld` / `start-slurmctld`), for a test
  // that changes something while slurmctld is down; the slurmds and munged keep running.
  absl::Status StopController() const;
  absl::Status StartController() const;

  const std::string& dir() const { return dir_; }
  std::string slurm_conf() const { return dir_ + "/etc/slurm.conf"; }
  std::string log_dir() const { return dir_ + "/log"; }
  // A folder for job output files (-o), created by Start().
  std::string output_dir() const { return dir_ + "/out"; }
  int port_base() const { return port_base_; }
  // The scripts/minicluster this cluster was started with.
  const std::string& script() const { return options_.script; }
  // Keep the directory (logs) after Stop(), e.g. when a test failed.
  void set_keep_dir(bool keep) { keep_dir_ = keep; }

  // Runs argv[0] (looked up in PATH) with SLURM_CONF set (and, in a sanitized build, the
  // sanitizer's runtime preloaded), stdin from /dev/null, capturing stdout and stderr. Kills it
  // (SIGKILL, by PID) after `timeout` (default: command_timeout).
  CommandResult Run(const std::vector<std::string>& argv,
                    absl::Duration timeout = absl::ZeroDuration()) const;

  // `sbatch --parsable <args>`: the job id, or the command's failure.
  absl::StatusOr<uint32_t> Submit(const std::vector<std::string>& sbatch_args) const;
  // A field of `scontrol show job -o <id>` ("JobState", "NodeList", "Reason", ...).
  absl::StatusOr<std::string> JobField(uint32_t job_id, const std::string& field) const;
  // Polls the job's state until it is one of `states` and returns it. FAILED_PRECONDITION when
  // the job ends in another state, DEADLINE_EXCEEDED (with the last state) after `timeout`.
  absl::StatusOr<std::string> WaitForJobState(uint32_t job_id,
                                              const std::vector<std::string>& states,
                                              absl::Duration timeout = absl::Seconds(30)) const;
  // Polls slurmctld's log (bounded) until it holds `text`. DEADLINE_EXCEEDED after `timeout`.
  absl::Status WaitForControllerLog(const std::string& text,
                                    absl::Duration timeout = absl::Seconds(30)) const;
  // Polls slurmctld's log (bounded) until job_submit/sovereign says it took a snapshot published
  // at `published_at` or later ("took snapshot <path> published <time> (register ...)", once per
  // snapshot it takes), and returns that line: from then on the plugin decides from it, or from
  // a newer one. DEADLINE_EXCEEDED, with the newest such line, after `timeout`.
  absl::StatusOr<std::string> WaitForPluginSnapshot(
      absl::Time published_at, absl::Duration timeout = absl::Seconds(30)) const;
  // Where record_spank_env puts the job's SPANK_* variables as slurmctld holds them.
  std::string ControllerSpankEnvPath(uint32_t job_id) const;

 private:
  MiniCluster(MiniClusterOptions options, std::string dir, int port_base);
  std::vector<std::string> Environment(const std::vector<std::string>& extra) const;
  // LD_PRELOAD, ASAN_OPTIONS and UBSAN_OPTIONS for a Slurm command in a sanitized build; empty
  // otherwise.
  std::vector<std::string> SanitizerEnvironment() const;
  // The text of every report under log_dir()/sanitizer.*, each headed by its path; empty when
  // there is none.
  std::string SanitizerReports() const;
  CommandResult RunWithEnv(const std::vector<std::string>& argv,
                           const std::vector<std::string>& extra_env, absl::Duration timeout) const;
  absl::Status StartWatchdog();
  // Runs `minicluster <command>` (restart-, stop-, start-slurmctld) on this cluster.
  absl::Status ControlSlurmctld(const std::string& command) const;

  MiniClusterOptions options_;
  std::string dir_;
  int port_base_;
  bool keep_dir_ = false;
  bool stopped_ = false;
  pid_t watchdog_pid_ = -1;
  int watchdog_fd_ = -1;  // write end: closing it without a byte makes the watchdog clean up
};

// This process's environment without SLURM_* and the mini-cluster's own settings
// (SOVEREIGN_CLUSTER_*, SOVEREIGN_PLUGIN_DIR, SOVEREIGN_SPANK_*), plus `overrides`
// ("NAME=value", replacing any inherited NAME).
std::vector<std::string> CleanEnvironment(const std::vector<std::string>& overrides);

// Runs argv[0] (looked up in PATH) with exactly `env`, stdin from /dev/null, stdout and stderr
// captured through files in `scratch_dir` (removed afterwards). SIGKILL, by PID, after
// `timeout`. Thread-safe.
CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         absl::Duration timeout, const std::string& scratch_dir);

// Contents of a file, or NOT_FOUND / an error naming the path.
absl::StatusOr<std::string> ReadFile(const std::string& path);

// Researchers of the example register, as real Unix users: sov-alice works on the oncology
// project (group oncology, dataset patients-eu), sov-priya on payments (group fintech, dataset
// finance-in), sov-bob on neither. Created when missing (the names scripts/demo-cluster.sh uses),
// with the group genomics that the example register's genomics-eu-us dataset names.
constexpr char kAlice[] = "sov-alice";
constexpr char kBob[] = "sov-bob";
constexpr char kPriya[] = "sov-priya";
void EnsureResearchers();

// Admin acts outside job_modify that fool the plugin's site guard: us-h100-1 (site sanjose-1)
// is given the features of a paris-1 node and made the only node of gpu-fr-a100.
// UndoUsNodeInParis() puts both back. Errors describe the scontrol command that failed.
absl::Status PutUsNodeInParis(const MiniCluster& cluster);
absl::Status UndoUsNodeInParis(const MiniCluster& cluster);

}  // namespace sovereign::e2e
