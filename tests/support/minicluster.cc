#include "support/minicluster.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

extern char** environ;

namespace sovereign::e2e {
namespace {

// Ports the cluster may use: slurmctld plus one per node, with room to grow.
constexpr int kPortBlock = 16;
constexpr int kLowestPort = 20000;
constexpr int kStartAttempts = 5;
constexpr absl::Duration kStopTimeout = absl::Seconds(90);

// States after which a job does not change any more.
constexpr const char* kTerminalStates[] = {"COMPLETED", "FAILED",    "CANCELLED",
                                           "TIMEOUT",   "NODE_FAIL", "PREEMPTED",
                                           "BOOT_FAIL", "DEADLINE",  "OUT_OF_MEMORY"};

std::string DefaultScript() { return SOVEREIGN_SOURCE_DIR "/scripts/minicluster"; }

// The AddressSanitizer runtime the plugins were built with, or empty (cmake/sanitizers.cmake).
std::string AsanRuntime() {
  return std::string(SOVEREIGN_SANITIZER) == "address" ? SOVEREIGN_SANITIZER_RUNTIME : "";
}

// Where sanitizer reports of the cluster's processes go: <prefix>.<pid>.
std::string SanitizerLogPrefix(const std::string& log_dir) { return log_dir + "/sanitizer"; }

// Of a sanitizer report this long at most, Stop()'s message quotes the start.
constexpr size_t kReportQuote = 8000;

// The lower end of the kernel's ephemeral port range: ports below it are not handed out to
// outgoing connections, so a block chosen there stays free until Slurm binds it.
int EphemeralLow() {
  std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
  int low = 32768;
  int high = 60999;
  if (!(in >> low >> high)) {
    return 32768;
  }
  return low;
}

// True when nothing listens on 127.0.0.1:port. Binds as Slurm does (SO_REUSEADDR), so that
// connections in TIME-WAIT do not count.
bool PortFree(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return false;
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

absl::StatusOr<int> PickPortBlock() {
  const int high = EphemeralLow() - kPortBlock;
  if (high <= kLowestPort) {
    return absl::FailedPreconditionError(
        absl::StrCat("no room for a port block between ", kLowestPort, " and the ephemeral range"));
  }
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> pick(kLowestPort / kPortBlock, high / kPortBlock - 1);
  for (int attempt = 0; attempt < 200; ++attempt) {
    const int base = pick(rng) * kPortBlock;
    bool free = true;
    for (int p = base; p < base + kPortBlock && free; ++p) {
      free = PortFree(p);
    }
    if (free) {
      return base;
    }
  }
  return absl::ResourceExhaustedError(
      absl::StrCat("no free block of ", kPortBlock, " ports found in ", kLowestPort, "..", high));
}

bool StartsWithAny(absl::string_view s, std::initializer_list<absl::string_view> prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](absl::string_view p) { return absl::StartsWith(s, p); });
}

std::string EnvName(absl::string_view assignment) {
  return std::string(assignment.substr(0, assignment.find('=')));
}

}  // namespace

std::string CommandResult::Describe() const {
  std::string what = timed_out ? "timed out" : absl::StrCat("exited ", exit_code);
  return absl::StrCat("`", command, "` ", what, " after ", absl::FormatDuration(elapsed),
                      "; stdout: ", out, "; stderr: ", err);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot open ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<std::string> CleanEnvironment(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const absl::string_view var = *e;
    // Nothing of an enclosing Slurm job or of a developer's cluster leaks in.
    if (StartsWithAny(
            var, {"SLURM_", "SOVEREIGN_CLUSTER_", "SOVEREIGN_PLUGIN_DIR=", "SOVEREIGN_SPANK_"})) {
      continue;
    }
    const std::string name = EnvName(var);
    const bool overridden = std::any_of(overrides.begin(), overrides.end(),
                                        [&](const auto& o) { return EnvName(o) == name; });
    if (!overridden) {
      env.emplace_back(var);
    }
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

CommandResult RunCommand(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                         absl::Duration timeout, const std::string& scratch_dir) {
  static std::atomic<int> counter{0};
  CommandResult result;
  result.command = absl::StrJoin(argv, " ");
  if (argv.empty()) {
    result.err = "empty command";
    return result;
  }
  const int n = counter.fetch_add(1);
  const std::string out_path = absl::StrCat(scratch_dir, "/", getpid(), "-", n, ".out");
  const std::string err_path = absl::StrCat(scratch_dir, "/", getpid(), "-", n, ".err");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0600);
  // No other descriptor of the test process reaches the command, nor the daemons it starts
  // (a test runner's output pipe held by slurmd would keep the runner waiting).
  posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (std::string& a : args) {
    cargv.push_back(a.data());
  }
  cargv.push_back(nullptr);
  std::vector<std::string> env_copy = env;
  std::vector<char*> cenv;
  for (std::string& e : env_copy) {
    cenv.push_back(e.data());
  }
  cenv.push_back(nullptr);

  const absl::Time start = absl::Now();
  pid_t pid = -1;
  const int rc = posix_spawnp(&pid, cargv[0], &actions, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    result.err = absl::StrCat("cannot start ", argv[0], ": ", std::strerror(rc));
    return result;
  }
  const absl::Time deadline = start + timeout;
  int status = 0;
  absl::Duration nap = absl::Milliseconds(1);
  while (true) {
    const pid_t done = waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      break;
    }
    if (done < 0 && errno != EINTR) {
      result.err = absl::StrCat("waitpid: ", std::strerror(errno));
      return result;
    }
    if (absl::Now() >= deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.timed_out = true;
      break;
    }
    absl::SleepFor(nap);
    nap = std::min(nap * 2, absl::Milliseconds(20));
  }
  result.elapsed = absl::Now() - start;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = ReadFile(out_path).value_or("");
  result.err = ReadFile(err_path).value_or("");
  unlink(out_path.c_str());
  unlink(err_path.c_str());
  return result;
}

MiniCluster::MiniCluster(MiniClusterOptions options, std::string dir, int port_base)
    : options_(std::move(options)), dir_(std::move(dir)), port_base_(port_base) {}

MiniCluster::~MiniCluster() {
  if (absl::Status s = Stop(); !s.ok()) {
    fprintf(stderr, "MiniCluster: stopping %s failed: %s\n", dir_.c_str(),
            std::string(s.message()).c_str());
  }
}

absl::StatusOr<std::unique_ptr<MiniCluster>> MiniCluster::Start(MiniClusterOptions options) {
  if (options.script.empty()) {
    options.script = DefaultScript();
  }
  std::string last_error;
  for (int attempt = 1; attempt <= kStartAttempts; ++attempt) {
    int port = options.port_base;
    if (port == 0) {
      absl::StatusOr<int> picked = PickPortBlock();
      if (!picked.ok()) {
        return picked.status();
      }
      port = *picked;
    }
    std::string templ = "/tmp/sovereign-e2e-XXXXXX";
    if (mkdtemp(templ.data()) == nullptr) {
      return absl::InternalError(absl::StrCat("mkdtemp ", templ, ": ", std::strerror(errno)));
    }
    std::unique_ptr<MiniCluster> cluster(new MiniCluster(options, templ, port));
    std::error_code ec;
    std::filesystem::create_directories(cluster->dir_ + "/cmd", ec);
    std::filesystem::create_directories(cluster->output_dir(), ec);
    if (ec) {
      return absl::InternalError(absl::StrCat("creating ", cluster->dir_, ": ", ec.message()));
    }
    if (absl::Status s = cluster->StartWatchdog(); !s.ok()) {
      return s;
    }
    std::vector<std::string> env = {
        absl::StrCat("SOVEREIGN_CLUSTER_PORT_BASE=", port),
        absl::StrCat("SOVEREIGN_CLUSTER_TIMEOUT=",
                     std::max<int64_t>(1, absl::ToInt64Seconds(options.up_timeout)))};
    if (!options.spank_so.empty()) {
      env.push_back("SOVEREIGN_SPANK_SO=" + options.spank_so);
    }
    if (!options.plugin_dir.empty()) {
      env.push_back("SOVEREIGN_PLUGIN_DIR=" + options.plugin_dir);
    }
    if (!options.prolog.empty()) {
      env.push_back("SOVEREIGN_PROLOG=" + options.prolog);
    }
    if (options.record_spank_env) {
      env.push_back("SOVEREIGN_CLUSTER_RECORD_SPANK_ENV=1");
    }
    if (!AsanRuntime().empty()) {
      env.push_back("SOVEREIGN_CLUSTER_PRELOAD=" + AsanRuntime());
    }
    const CommandResult up = cluster->RunWithEnv({options.script, "up", "--dir", cluster->dir_},
                                                 env, options.up_timeout + absl::Seconds(30));
    if (up.exit_code == 0 && !up.timed_out) {
      return cluster;
    }
    last_error = up.Describe();
    const bool port_taken = absl::StrContains(up.err, "is in use by");
    if (!port_taken || options.port_base != 0 || attempt == kStartAttempts) {
      cluster->set_keep_dir(true);
      return absl::UnavailableError(absl::StrCat("mini-cluster did not come up in ", cluster->dir_,
                                                 " (logs in ", cluster->log_dir(),
                                                 "): ", last_error));
    }
    // Someone took a port between our check and Slurm's bind: try another block.
  }
  return absl::UnavailableError(last_error);
}

absl::Status MiniCluster::StartWatchdog() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    return absl::InternalError(absl::StrCat("pipe2: ", std::strerror(errno)));
  }
  // Everything the child needs is prepared before fork(): it only calls async-signal-safe
  // functions until exec.
  const std::string log = dir_ + "/watchdog.log";
  std::vector<std::string> args = {options_.script, "down", "--dir", dir_};
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  std::vector<std::string> env_strings = Environment({});
  std::vector<char*> envp;
  for (std::string& e : env_strings) {
    envp.push_back(e.data());
  }
  envp.push_back(nullptr);

  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return absl::InternalError(absl::StrCat("fork: ", std::strerror(errno)));
  }
  if (pid == 0) {
    setsid();  // not in the test's process group: a kill of the test does not kill it
    const int null_fd = open("/dev/null", O_RDONLY);
    const int log_fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    dup2(fds[0], 3);
    close_range(4, ~0U, 0);  // in particular the test runner's output pipes
    char byte = 0;
    ssize_t n;
    do {
      n = read(3, &byte, 1);
    } while (n < 0 && errno == EINTR);
    if (n == 1) {
      _exit(0);  // the cluster was stopped normally
    }
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(fds[0]);
  watchdog_pid_ = pid;
  watchdog_fd_ = fds[1];
  return absl::OkStatus();
}

absl::Status MiniCluster::Stop() {
  if (stopped_) {
    return absl::OkStatus();
  }
  stopped_ = true;
  const CommandResult down = RunWithEnv({options_.script, "down", "--dir", dir_}, {}, kStopTimeout);
  if (watchdog_fd_ >= 0) {
    const char byte = 1;
    if (write(watchdog_fd_, &byte, 1) != 1) {
      fprintf(stderr, "MiniCluster: cannot tell the watchdog: %s\n", std::strerror(errno));
    }
    close(watchdog_fd_);
    watchdog_fd_ = -1;
  }
  if (watchdog_pid_ > 0) {
    // It exits as soon as it reads the byte; bounded all the same.
    for (int i = 0; i < 500; ++i) {
      if (waitpid(watchdog_pid_, nullptr, WNOHANG) != 0) {
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    watchdog_pid_ = -1;
  }
  if (down.exit_code != 0 || down.timed_out) {
    keep_dir_ = true;
    return absl::InternalError(
        absl::StrCat("stopping the mini-cluster in ", dir_, " failed: ", down.Describe()));
  }
  if (const std::string reports = SanitizerReports(); !reports.empty()) {
    keep_dir_ = true;
    return absl::InternalError(absl::StrCat("a process of the mini-cluster in ", dir_,
                                            " wrote sanitizer reports:\n", reports));
  }
  if (!keep_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  return absl::OkStatus();
}

absl::Status MiniCluster::ControlSlurmctld(const std::string& command) const {
  const CommandResult r = RunWithEnv({options_.script, command, "--dir", dir_}, {},
                                     options_.up_timeout + absl::Seconds(30));
  if (r.exit_code != 0 || r.timed_out) {
    return absl::UnavailableError(
        absl::StrCat("minicluster ", command, " in ", dir_, " failed: ", r.Describe()));
  }
  return absl::OkStatus();
}

absl::Status MiniCluster::RestartController() const {
  return ControlSlurmctld("restart-slurmctld");
}
absl::Status MiniCluster::StopController() const { return ControlSlurmctld("stop-slurmctld"); }
absl::Status MiniCluster::StartController() const { return ControlSlurmctld("start-slurmctld"); }

std::vector<std::string> MiniCluster::Environment(const std::vector<std::string>& extra) const {
  std::vector<std::string> overrides = options_.env;
  overrides.insert(overrides.end(), extra.begin(), extra.end());
  overrides.push_back("SLURM_CONF=" + slurm_conf());
  return CleanEnvironment(overrides);
}

std::vector<std::string> MiniCluster::SanitizerEnvironment() const {
  if (AsanRuntime().empty()) {
    return {};
  }
  // Options the test runner was given (suppressions, say) first; ours, last, win.
  auto with_inherited = [](const char* name, const std::string& ours) {
    const char* inherited = getenv(name);
    return absl::StrCat(name, "=", inherited != nullptr && *inherited != '\0' ? inherited : "",
                        inherited != nullptr && *inherited != '\0' ? ":" : "", ours);
  };
  const std::string log = SanitizerLogPrefix(log_dir());
  return {"LD_PRELOAD=" + AsanRuntime(),
          with_inherited("ASAN_OPTIONS",
                         "verify_asan_link_order=0:detect_leaks=0:log_path=" + log),
          with_inherited("UBSAN_OPTIONS", "print_stacktrace=1:log_path=" + log)};
}

std::string MiniCluster::SanitizerReports() const {
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(log_dir(), ec)) {
    if (absl::StartsWith(entry.path().filename().string(), "sanitizer.")) {
      paths.push_back(entry.path().string());
    }
  }
  std::sort(paths.begin(), paths.end());
  std::string out;
  for (const std::string& path : paths) {
    std::string text = ReadFile(path).value_or("(unreadable)");
    if (text.size() > kReportQuote) {
      text = absl::StrCat(text.substr(0, kReportQuote), "\n[... ", text.size() - kReportQuote,
                          " more bytes]");
    }
    absl::StrAppend(&out, "==> ", path, " <==\n", text, "\n");
  }
  return out;
}

CommandResult MiniCluster::Run(const std::vector<std::string>& argv, absl::Duration timeout) const {
  return RunWithEnv(argv, SanitizerEnvironment(),
                    timeout == absl::ZeroDuration() ? options_.command_timeout : timeout);
}

CommandResult MiniCluster::RunWithEnv(const std::vector<std::string>& argv,
                                      const std::vector<std::string>& extra_env,
                                      absl::Duration timeout) const {
  return RunCommand(argv, Environment(extra_env), timeout, dir_ + "/cmd");
}

absl::StatusOr<uint32_t> MiniCluster::Submit(const std::vector<std::string>& sbatch_args) const {
  std::vector<std::string> argv = {"sbatch", "--parsable"};
  argv.insert(argv.end(), sbatch_args.begin(), sbatch_args.end());
  const CommandResult r = Run(argv);
  if (r.exit_code != 0 || r.timed_out) {
    return absl::FailedPreconditionError(r.Describe());
  }
  // --parsable prints "<id>" or "<id>;<cluster>".
  const std::string first = std::string(absl::StripAsciiWhitespace(r.out));
  uint32_t id = 0;
  if (!absl::SimpleAtoi(first.substr(0, first.find(';')), &id)) {
    return absl::InternalError(absl::StrCat("no job id in sbatch's output: ", r.Describe()));
  }
  return id;
}

absl::StatusOr<std::string> MiniCluster::JobField(uint32_t job_id, const std::string& field) const {
  const CommandResult r = Run({"scontrol", "show", "job", "-o", absl::StrCat(job_id)});
  if (r.exit_code != 0 || r.timed_out) {
    return absl::NotFoundError(r.Describe());
  }
  for (absl::string_view token : absl::StrSplit(r.out, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&token, field + "=")) {
      return std::string(token);
    }
  }
  return absl::NotFoundError(absl::StrCat("job ", job_id, " has no field ", field, " in: ", r.out));
}

absl::Status MiniCluster::WaitForControllerLog(const std::string& text,
                                               absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  const std::string log = log_dir() + "/slurmctld.log";
  while (ReadFile(log).value_or("").find(text) == std::string::npos) {
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(log, " has no \"", text, "\" after ", absl::FormatDuration(timeout)));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> MiniCluster::WaitForPluginSnapshot(absl::Time published_at,
                                                               absl::Duration timeout) const {
  constexpr absl::string_view kTook = "job_submit/sovereign: took snapshot ";
  constexpr absl::string_view kPublished = " published ";
  const absl::Time deadline = absl::Now() + timeout;
  const std::string log = log_dir() + "/slurmctld.log";
  std::string newest = "none";
  while (true) {
    for (absl::string_view line : absl::StrSplit(ReadFile(log).value_or(""), '\n')) {
      size_t took = line.find(kTook);
      size_t at = took == absl::string_view::npos ? took : line.find(kPublished, took);
      if (at == absl::string_view::npos) {
        continue;
      }
      absl::string_view time = line.substr(at + kPublished.size());
      time = time.substr(0, time.find(' '));
      absl::Time t;
      std::string err;
      if (!absl::ParseTime(absl::RFC3339_full, time, &t, &err)) {
        return absl::InternalError(absl::StrCat("unreadable time in ", log, ": ", line));
      }
      newest = std::string(line);
      if (t >= published_at) {
        return newest;
      }
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("job_submit/sovereign did not take the snapshot published ",
                       absl::FormatTime(absl::RFC3339_full, published_at, absl::UTCTimeZone()),
                       " within ", absl::FormatDuration(timeout), "; the newest it took: ", newest,
                       "; logs in ", log_dir()));
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
}

absl::StatusOr<std::string> MiniCluster::WaitForJobState(uint32_t job_id,
                                                         const std::vector<std::string>& states,
                                                         absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  std::string last = "(unknown)";
  while (true) {
    absl::StatusOr<std::string> state = JobField(job_id, "JobState");
    if (state.ok()) {
      last = *state;
      if (std::find(states.begin(), states.end(), last) != states.end()) {
        return last;
      }
      if (std::find(std::begin(kTerminalStates), std::end(kTerminalStates), last) !=
          std::end(kTerminalStates)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "job ", job_id, " ended ", last, " (Reason=", JobField(job_id, "Reason").value_or("?"),
            " ExitCode=", JobField(job_id, "ExitCode").value_or("?"), ") while waiting for ",
            absl::StrJoin(states, "|"), "; logs in ", log_dir()));
      }
    } else {
      last = std::string(state.status().message());
    }
    if (absl::Now() >= deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("job ", job_id, " not ", absl::StrJoin(states, "|"), " after ",
                       absl::FormatDuration(timeout), "; last: ", last, "; logs in ", log_dir()));
    }
    absl::SleepFor(absl::Milliseconds(100));
  }
}

std::string MiniCluster::ControllerSpankEnvPath(uint32_t job_id) const {
  return absl::StrCat(log_dir(), "/spank-env/", job_id, ".env");
}

void EnsureResearchers() {
  auto run = [](const std::vector<std::string>& argv) {
    return RunCommand(argv, CleanEnvironment({}), absl::Seconds(30), "/tmp");
  };
  for (const char* group : {"oncology", "fintech", "genomics"}) {
    if (run({"getent", "group", group}).exit_code != 0) {
      run({"groupadd", group});
    }
  }
  if (run({"id", kAlice}).exit_code != 0) {
    run({"useradd", "--no-create-home", "--shell", "/bin/sh", "-G", "oncology", kAlice});
  }
  if (run({"id", kPriya}).exit_code != 0) {
    run({"useradd", "--no-create-home", "--shell", "/bin/sh", "-G", "fintech", kPriya});
  }
  if (run({"id", kBob}).exit_code != 0) {
    run({"useradd", "--no-create-home", "--shell", "/bin/sh", kBob});
  }
}

namespace {

absl::Status RunEach(const MiniCluster& cluster,
                     const std::vector<std::vector<std::string>>& commands) {
  for (const std::vector<std::string>& argv : commands) {
    CommandResult r = cluster.Run(argv);
    if (r.exit_code != 0) {
      return absl::InternalError(r.Describe());
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status PutUsNodeInParis(const MiniCluster& cluster) {
  return RunEach(cluster, {{"scontrol", "update", "nodename=us-h100-1",
                            "availablefeatures=region_eu,site_paris-1,gpu_h100",
                            "activefeatures=region_eu,site_paris-1,gpu_h100"},
                           {"scontrol", "update", "partitionname=gpu-fr-a100", "nodes=us-h100-1"}});
}

absl::Status UndoUsNodeInParis(const MiniCluster& cluster) {
  return RunEach(cluster,
                 {{"scontrol", "update", "partitionname=gpu-fr-a100", "nodes=fr-a100-[1-2]"},
                  {"scontrol", "update", "nodename=us-h100-1",
                   "availablefeatures=region_us,site_sanjose-1,gpu_h100",
                   "activefeatures=region_us,site_sanjose-1,gpu_h100"}});
}

}  // namespace sovereign::e2e
