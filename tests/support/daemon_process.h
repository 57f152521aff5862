// Test support: a real sovereignd process on a temporary socket and database, and running the
// real clients (sovereignctl, rpc_probe) as any Unix identity.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "nlohmann/json.hpp"
#include "support/temp_dir.h"

namespace sovereign::testing {

// Who a child process runs as. Applied with setgroups/setgid/setuid between fork and exec.
struct Identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

inline const Identity kRoot{0, 0, {}};
inline const Identity kNobody{65534, 65534, {}};
// Not in /etc/passwd: named "#4201" etc. by the daemon. Roles through the test config.
inline const Identity kAdmin{4201, 4201, {4210}};
inline const Identity kAuditor{4202, 4202, {4220}};
inline const Identity kService{4203, 4203, {}};

// Decide/Explain requests (rpc_probe JSON) whose outcome the example register fixes: alice is
// in group oncology and her job stays in the EU; a job of one's own on public data.
inline constexpr char kAliceJob[] =
    R"({"job":{"user":"alice","uid":2001,"groups":["oncology"],"account":"oncology",)"
    R"("datasets":["patients-eu"],"gpus":8}})";
inline constexpr char kOwnJob[] = R"({"job":{"datasets":["imagenet-public"],"gpus":1}})";

struct RunResult {
  int exit_code = -1;  // -1: killed by a signal or timed out
  std::string out;
  std::string err;
};

// Runs argv[0] (a path) with its arguments as `as`, capturing stdout and stderr. Killed after
// `timeout_seconds`.
RunResult RunProgram(const std::vector<std::string>& argv, const Identity& as = kRoot,
                     int timeout_seconds = 120);

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& text);

class DaemonProcess {
 public:
  // A fresh temporary directory (mode 0755, so that other uids reach the socket) with the
  // example register and a config whose roles use the identities above.
  DaemonProcess();
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  // Extra YAML appended to the config (top-level keys not otherwise set).
  void AddConfig(const std::string& yaml) { extra_config_ += yaml; }
  void SetAuditSync(const std::string& sync) { sync_ = sync; }
  // Runs sovereignd in a private mount namespace of its own, with a tmpfs of `size` ("2m") on
  // `dir` (a folder under dir(), e.g. dir() + "/lib": the audit database's), so that a disk
  // fills for real for the daemon alone; the host's namespace never sees the mount, which goes
  // away with the process (a restart starts on an empty one). The test reaches the files there
  // through InDaemonMounts(). Start() fails when the mount cannot be made (needs root).
  void MountTmpfsOn(const std::string& dir, const std::string& size) {
    tmpfs_dir_ = dir;
    tmpfs_options_ = "size=" + size;
  }
  // `path` as the running daemon sees it: through /proc/<pid>/root, inside its mounts.
  std::string InDaemonMounts(const std::string& path) const;
  // Writes the config and starts sovereignd; waits until it accepts connections.
  absl::Status Start();
  // Sends `sig` and, for SIGTERM/SIGINT/SIGKILL, waits for the exit. Returns the exit status
  // (as from waitpid) or -1.
  int Stop(int sig);
  void Signal(int sig);
  bool running() const { return pid_ > 0; }
  // Whether the process is still there: a daemon that died is reaped here, and running()
  // then says false too.
  bool Alive();
  // The TCP port of the mutual-TLS listener (tcp.listen with port 0), read from the log line
  // that says the daemon serves; 0 when it has none.
  int TcpPort() const;

  std::string dir() const { return dir_; }
  std::string socket() const { return dir_ + "/run/sovereignd.sock"; }
  std::string config_path() const { return dir_ + "/sovereignd.yaml"; }
  std::string register_path() const { return dir_ + "/register.yaml"; }
  std::string audit_db() const { return dir_ + "/lib/audit.db"; }
  std::string signing_key() const { return dir_ + "/lib/audit-signing.pem"; }
  std::string log_path() const { return dir_ + "/sovereignd.log"; }
  std::string Log() const { return ReadFile(log_path()); }
  std::string ConfigText() const;

  // sovereignctl --socket <socket> args...
  RunResult Ctl(const std::vector<std::string>& args, const Identity& as = kRoot) const;
  // rpc_probe --socket <socket> method json: first line is the status code name.
  RunResult Probe(const std::string& method, const std::string& json,
                  const Identity& as = kRoot) const;

 private:
  TempDir temp_dir_{"sovereignd-test"};
  std::string dir_ = temp_dir_.path();
  std::string extra_config_;
  std::string sync_ = "normal";
  std::string tmpfs_dir_;  // empty: the daemon shares the test's mounts
  std::string tmpfs_options_;
  pid_t pid_ = -1;
};

// Writes <dir>/slurm.conf, a slurm.conf libslurm reads, for a controller that is not there:
// every call to it fails (sovereignd publishes its snapshot without a cluster view). Returns
// its path.
std::string UnreachableSlurmConf(const std::string& dir);

// The first word of rpc_probe's output: "OK", "PERMISSION_DENIED", ...
std::string StatusOf(const RunResult& r);

// `sovereignctl --json status`, asked until `done` holds (at most 60 s); the last answer.
nlohmann::json WaitForStatus(const DaemonProcess& d,
                             const std::function<bool(const nlohmann::json&)>& done);

// A counter of the status JSON (int64 fields come as strings); 0 when absent.
int64_t StatusField(const nlohmann::json& status, const char* name);

}  // namespace sovereign::testing
