#include "support/daemon_process.h"

#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "support/child_process.h"
#include "support/temp_dir.h"

namespace sovereign::testing {

RunResult RunProgram(const std::vector<std::string>& argv, const Identity& as,
                     int timeout_seconds) {
  RunResult result;
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) {
    result.err = "pipe failed";
    return result;
  }
  std::vector<char*> args;
  for (const std::string& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_t pid = fork();
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    dup2(out[1], 1);
    dup2(err[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    if (as.uid != 0 || as.gid != 0 || !as.groups.empty()) {
      if (setgroups(as.groups.size(), as.groups.data()) != 0 || setgid(as.gid) != 0 ||
          setuid(as.uid) != 0) {
        _exit(126);
      }
    }
    execv(args[0], args.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  bool timed_out = false;
  while (open_fds > 0) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now())
                                    .count());
    if (left <= 0) {
      timed_out = true;
      break;
    }
    if (poll(fds, 2, left) < 0) {
      continue;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd >= 0 && (fds[i].revents & (POLLIN | POLLHUP)) != 0) {
        char buf[8192];
        ssize_t n = read(fds[i].fd, buf, sizeof(buf));
        if (n <= 0) {
          close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
        } else {
          (i == 0 ? result.out : result.err).append(buf, static_cast<size_t>(n));
        }
      }
    }
  }
  if (timed_out) {
    kill(pid, SIGKILL);
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) {
      close(p.fd);
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = (!timed_out && WIFEXITED(status)) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string ReadFile(const std::string& path) { return ReadText(path); }

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

std::string UnreachableSlurmConf(const std::string& dir) {
  const std::string path = dir + "/slurm.conf";
  WriteFile(path,
            "ClusterName=sovtest\nSlurmctldHost=localhost(127.0.0.1)\nSlurmctldPort=1\n"
            "AuthType=auth/none\nCredType=cred/none\nMessageTimeout=1\n"
            "NodeName=n1 Gres=gpu:a100:8\nPartitionName=gpu-fr-a100 Nodes=n1\n");
  return path;
}

std::string StatusOf(const RunResult& r) { return r.out.substr(0, r.out.find_first_of(" \n")); }

nlohmann::json WaitForStatus(const DaemonProcess& d,
                             const std::function<bool(const nlohmann::json&)>& done) {
  nlohmann::json status;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    status = nlohmann::json::parse(d.Ctl({"--json", "status"}).out, nullptr, false);
    if (!status.is_discarded() && done(status)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return status;
}

int64_t StatusField(const nlohmann::json& status, const char* name) {
  return status.is_object() ? std::stoll(status.value(name, "0")) : 0;
}

DaemonProcess::DaemonProcess() {
  chmod(dir_.c_str(), 0755);
  std::filesystem::create_directories(dir_ + "/run");
  std::filesystem::create_directories(dir_ + "/lib");
  chmod((dir_ + "/run").c_str(), 0755);
  WriteFile(register_path(), ExampleRegisterYaml());
}

DaemonProcess::~DaemonProcess() {
  if (pid_ > 0) {
    Stop(SIGKILL);
  }
}

std::string DaemonProcess::ConfigText() const {
  return absl::StrCat("socket:\n  path: ", socket(), "\n", "register:\n  path: ", register_path(),
                      "\n", "  history_database: ", dir_, "/lib/registers.db\n",
                      "audit:\n  database: ", audit_db(), "\n", "  signing_key: ", signing_key(),
                      "\n", "  sync: ", sync_, "\n", "  checkpoint_interval: 100\n", "roles:\n",
                      "  admins: {users: [0], groups: [4210], common_names: [admin-1]}\n",
                      "  auditors: {users: [0], groups: [4220], common_names: [auditor-1]}\n",
                      "  service: {users: [0, 4203]}\n", "log:\n  level: info\n", extra_config_);
}

absl::Status DaemonProcess::Start() {
  WriteFile(config_path(), ConfigText());
  const size_t log_before = Log().size();  // a restart appends to the same log
  // Everything the child uses is made before fork: it may only make system calls.
  const std::string log_file = log_path();
  const std::string config = config_path();
  static constexpr char kCannotMount[] =
      "test: cannot mount a tmpfs in a private mount namespace (the test must run as root)\n";
  pid_ = fork();
  if (pid_ == 0) {
    int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(log, 1);
    dup2(log, 2);
    if (!tmpfs_dir_.empty() &&
        !MountTmpfsInNewNamespace(tmpfs_dir_.c_str(), tmpfs_options_.c_str())) {
      (void)!write(2, kCannotMount, sizeof(kCannotMount) - 1);
      _exit(kChildCannotSetUp);
    }
    execl(SOVEREIGND_PATH, SOVEREIGND_PATH, "--config", config.c_str(), nullptr);
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return absl::InternalError(absl::StrCat("sovereignd exited at start-up:\n", Log()));
    }
    // The socket accepts into its backlog as soon as it is bound; the daemon serves once it
    // has said so.
    if (Log().find("sovereignd serving on", log_before) != std::string::npos) {
      return absl::OkStatus();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("sovereignd did not come up:\n", Log()));
}

std::string DaemonProcess::InDaemonMounts(const std::string& path) const {
  return absl::StrCat("/proc/", pid_, "/root", path);
}

bool DaemonProcess::Alive() {
  int status = 0;
  if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
  }
  return pid_ > 0;
}

int DaemonProcess::TcpPort() const {
  const std::string log = Log();
  const size_t at = log.rfind("(TCP port ");
  return at == std::string::npos ? 0 : std::atoi(log.c_str() + at + 10);
}

void DaemonProcess::Signal(int sig) {
  if (pid_ > 0) {
    kill(pid_, sig);
  }
}

int DaemonProcess::Stop(int sig) {
  if (pid_ <= 0) {
    return -1;
  }
  kill(pid_, sig);
  int status = 0;
  for (int i = 0; i < 3000; ++i) {  // at most 30 s
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return status;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

RunResult DaemonProcess::Ctl(const std::vector<std::string>& args, const Identity& as) const {
  std::vector<std::string> argv = {SOVEREIGNCTL_PATH, "--socket", socket()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProgram(argv, as);
}

RunResult DaemonProcess::Probe(const std::string& method, const std::string& json,
                               const Identity& as) const {
  return RunProgram({RPC_PROBE_PATH, "--socket", socket(), method, json}, as);
}

}  // namespace sovereign::testing
