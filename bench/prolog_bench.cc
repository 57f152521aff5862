// What sovereign-prolog costs slurmctld per job start, against what any PrologSlurmctld costs.
//
// slurmctld forks and execs its PrologSlurmctld once per job start and waits for it before the
// job may start. This benchmark does the same, from one process, on a real mini cluster
// (scripts/minicluster with job_submit/sovereign and the SPANK option, the example register
// published as sovereignd publishes it, no PrologSlurmctld configured):
//
//   BM_PrologBaseline          fork+exec of /bin/true: the floor of any PrologSlurmctld
//   BM_PrologScript            fork+exec of a one-line /bin/sh script (`exit 0`): what a shell
//                              wrapper, like the mini cluster's, costs by itself
//   BM_SovereignProlog         fork+exec of sovereign-prolog: config, the job (slurm_load_job),
//                              the snapshot file, every node and partition, the check
//   BM_SovereignPrologWrapped  sovereign-prolog exec'd by a /bin/sh wrapper, as the mini
//                              cluster runs it
//   BM_ScontrolShowJob         fork+exec of `scontrol show job -o <id>`: a stock libslurm
//                              client asking slurmctld for the job, for comparison
//   BM_InProcess/ReadJob, /ReadNodes
//                              the two libslurm round trips sovereign-prolog makes, timed
//                              inside this process: where its time goes
//
// Every start runs on a held patients-eu job of sov-alice (placed on gpu-fr-a100, tagged in
// admin_comment) with SLURM_JOB_NODELIST=fr-a100-1, an allowed node: the full check, ending in
// "allowed". Every start must exit 0; anything else (a refusal would also hold the job) fails
// the benchmark and the process exits 1. Before measuring, one start of another held job on
// us-h100-1 must be refused: otherwise the prolog is not checking and its time means nothing.
//
// The environment is the same for every variant. Repetitions are interleaved in random order
// (so the variants alternate over the run) and each runs a fixed number of starts
// (--prolog_starts). The summary pools every repetition's starts: p50 and mean wall time per
// start, the child's CPU time (user+system, from wait4), and the ratios to the baseline.
//
//   prolog_bench [--prolog_starts=N] [benchmark flags]
// Defaults: 100 starts, --benchmark_repetitions=5 --benchmark_enable_random_interleaving=true.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cluster_reader.h"
#include "support/minicluster.h"
#include "slurm_loops/snapshot_publisher.h"
#include "sovereign/register.h"

namespace sovereign {
namespace {

using Clock = std::chrono::steady_clock;

// Time limit of one start; slurmctld's own PrologSlurmctld timeout is much longer.
constexpr int kStartTimeoutMs = 10000;

struct Started {
  int exit_code = -1;  // exit status; 128+N when killed by signal N; -1 when not started
  bool timed_out = false;
  double wall_us = 0;
  double cpu_us = 0;  // the child's user + system time
};

// Everything the benchmarks share, set up once in main().
struct Setup {
  std::unique_ptr<e2e::MiniCluster> cluster;
  uint32_t job_id = 0;           // the measured job: held, placed on gpu-fr-a100, tagged
  uint32_t refused_job_id = 0;   // another such job, started once on a disallowed node
  std::vector<std::string> env;  // the prolog's environment, the same for every variant
  std::string script;            // #!/bin/sh, exit 0
  std::string wrapper;           // #!/bin/sh, exec sovereign-prolog
  int null_fd = -1;              // stdin and stdout of every start
  int err_fd = -1;               // stderr of every start: <cluster>/bench-prolog.err
  int starts = 100;
  bool failed = false;
};
Setup* setup = nullptr;

struct Samples {
  std::vector<double> wall_us;
  std::vector<double> cpu_us;
};
std::map<std::string, Samples> samples;  // by variant

// fork+exec of argv with env, as slurmctld starts its PrologSlurmctld, and wait4 for it.
// Killed by PID after kStartTimeoutMs.
Started StartOnce(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
  std::vector<char*> cargv, cenv;
  for (const std::string& a : argv) {
    cargv.push_back(const_cast<char*>(a.c_str()));
  }
  cargv.push_back(nullptr);
  for (const std::string& e : env) {
    cenv.push_back(const_cast<char*>(e.c_str()));
  }
  cenv.push_back(nullptr);
  Started s;
  const Clock::time_point begin = Clock::now();
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(setup->null_fd, 0);
    dup2(setup->null_fd, 1);
    dup2(setup->err_fd, 2);
    execve(cargv[0], cargv.data(), cenv.data());
    _exit(127);
  }
  if (pid < 0) {
    return s;
  }
  // Debian 12's <sys/pidfd.h> lacks C linkage for C++: the system call itself.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    struct pollfd p = {pidfd, POLLIN, 0};
    int ready;
    do {
      ready = poll(&p, 1, kStartTimeoutMs);
    } while (ready < 0 && errno == EINTR);
    close(pidfd);
    if (ready == 0) {
      s.timed_out = true;
      kill(pid, SIGKILL);
    }
  }
  int status = 0;
  struct rusage ru = {};
  while (wait4(pid, &status, 0, &ru) < 0 && errno == EINTR) {
  }
  s.wall_us = std::chrono::duration<double, std::micro>(Clock::now() - begin).count();
  s.cpu_us = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 + ru.ru_utime.tv_usec +
             ru.ru_stime.tv_usec;
  s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return s;
}

std::vector<std::string> Argv(const std::string& variant) {
  if (variant == "BM_PrologBaseline") {
    return {"/bin/true"};
  }
  if (variant == "BM_PrologScript") {
    return {setup->script};
  }
  if (variant == "BM_SovereignPrologWrapped") {
    return {setup->wrapper};
  }
  if (variant == "BM_ScontrolShowJob") {
    return {"/usr/bin/scontrol", "show", "job", "-o", absl::StrCat(setup->job_id)};
  }
  return {SOVEREIGN_PROLOG_PATH};
}

// One benchmark per variant; each iteration is one start, which must exit 0.
void BM_Start(benchmark::State& state, const std::string& variant) {
  const std::vector<std::string> argv = Argv(variant);
  Samples& pooled = samples[variant];
  std::vector<double> wall;
  double cpu_total = 0;
  for (auto _ : state) {
    const Started s = StartOnce(argv, setup->env);
    if (s.exit_code != 0) {
      setup->failed = true;
      state.SkipWithError(
          absl::StrCat(argv[0], s.timed_out ? " timed out" : " exited ", s.exit_code,
                       " for job ", setup->job_id, " (see ", setup->cluster->dir(),
                       "/bench-prolog.err)")
              .c_str());
      break;
    }
    wall.push_back(s.wall_us);
    cpu_total += s.cpu_us;
    pooled.wall_us.push_back(s.wall_us);
    pooled.cpu_us.push_back(s.cpu_us);
  }
  if (!wall.empty()) {
    std::sort(wall.begin(), wall.end());
    state.counters["p50_us"] = wall[wall.size() / 2];
    state.counters["child_cpu_us"] = cpu_total / wall.size();
  }
}

// The libslurm round trips of sovereign-prolog, in this process (no fork, no exec, no munge
// context set up anew): slurm_load_job of the job, and every node with its partitions.
void BM_InProcess(benchmark::State& state, const std::string& what) {
  Samples& pooled = samples[absl::StrCat("BM_InProcess/", what)];
  std::vector<double> wall;
  for (auto _ : state) {
    const Clock::time_point begin = Clock::now();
    const bool ok = what == "ReadJob" ? slurm::ReadJob(setup->job_id).ok()
                                      : slurm::ReadNodes().ok();
    const double us = std::chrono::duration<double, std::micro>(Clock::now() - begin).count();
    if (!ok) {
      setup->failed = true;
      state.SkipWithError(absl::StrCat(what, " failed").c_str());
      break;
    }
    wall.push_back(us);
    pooled.wall_us.push_back(us);
  }
  if (!wall.empty()) {
    std::sort(wall.begin(), wall.end());
    state.counters["p50_us"] = wall[wall.size() / 2];
  }
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

double Mean(const std::vector<double>& v) {
  return v.empty() ? 0 : std::accumulate(v.begin(), v.end(), 0.0) / v.size();
}

void PrintSummary() {
  const Samples& base = samples["BM_PrologBaseline"];
  const double base_p50 = Median(base.wall_us), base_mean = Mean(base.wall_us);
  std::printf("\nper start, every repetition pooled (job %u, %s)\n", setup->job_id,
              setup->env[3].c_str());  // SLURM_JOB_NODELIST=...
  std::printf("%-26s %6s %10s %10s %13s %12s %12s\n", "variant", "starts", "p50 us", "mean us",
              "child cpu us", "p50 x base", "mean x base");
  for (const char* name : {"BM_PrologBaseline", "BM_PrologScript", "BM_SovereignProlog",
                           "BM_SovereignPrologWrapped", "BM_ScontrolShowJob",
                           "BM_InProcess/ReadJob",
                           "BM_InProcess/ReadNodes"}) {
    auto it = samples.find(name);
    if (it == samples.end() || it->second.wall_us.empty()) {
      continue;
    }
    const Samples& s = it->second;
    const double p50 = Median(s.wall_us), mean = Mean(s.wall_us);
    const std::string cpu = s.cpu_us.empty() ? "" : absl::StrCat(static_cast<int>(Mean(s.cpu_us)));
    std::printf("%-26s %6zu %10.0f %10.0f %13s %12.2f %12.2f\n", name, s.wall_us.size(), p50,
                mean, cpu.c_str(), base_p50 > 0 ? p50 / base_p50 : 0,
                base_mean > 0 ? mean / base_mean : 0);
  }
  const Samples& prolog = samples["BM_SovereignProlog"];
  if (base_p50 > 0 && !prolog.wall_us.empty()) {
    std::printf("ratio sovereign-prolog / baseline: p50 %.2f, mean %.2f (+%.0f us per start)\n",
                Median(prolog.wall_us) / base_p50, Mean(prolog.wall_us) / base_mean,
                Median(prolog.wall_us) - base_p50);
  }
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

[[noreturn]] void Fail(const std::string& why) {
  std::fprintf(stderr, "prolog_bench: %s\n", why.c_str());
  if (setup != nullptr && setup->cluster != nullptr) {
    setup->cluster->set_keep_dir(true);
    std::fprintf(stderr, "mini-cluster state and logs kept in %s\n", setup->cluster->dir().c_str());
    setup->cluster.reset();  // stops it, by PID
  }
  std::exit(1);
}

// A held patients-eu job of sov-alice, which the plugin places on gpu-fr-a100 and tags.
uint32_t SubmitPlacedJob() {
  e2e::CommandResult r = setup->cluster->Run(
      {"runuser", "-u", e2e::kAlice, "--", "sbatch", "--parsable", "--dataset=patients-eu",
       "--hold", "-o", setup->cluster->output_dir() + "/%j.out", "--wrap", "true"});
  uint32_t id = 0;
  if (r.exit_code != 0 ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(r.out.substr(0, r.out.find(';'))), &id)) {
    Fail("the placed job was not submitted: " + r.Describe());
  }
  absl::StatusOr<std::string> partition = setup->cluster->JobField(id, "Partition");
  absl::StatusOr<std::string> tag = setup->cluster->JobField(id, "AdminComment");
  if (!partition.ok() || *partition != "gpu-fr-a100" || !tag.ok() ||
      !absl::StartsWith(*tag, "sovereign:v1")) {
    Fail(absl::StrCat("job ", id, " is not a placed job on gpu-fr-a100: partition ",
                      partition.value_or("?"), ", admin_comment ", tag.value_or("?")));
  }
  return id;
}

void SetUp() {
  e2e::EnsureResearchers();
  e2e::MiniClusterOptions options;
  options.spank_so = SOVEREIGN_SPANK_SO;
  options.plugin_dir = SOVEREIGN_PLUGIN_DIR;  // and no PrologSlurmctld
  absl::StatusOr<std::unique_ptr<e2e::MiniCluster>> c = e2e::MiniCluster::Start(options);
  if (!c.ok()) {
    Fail("the mini cluster did not start: " + c.status().ToString());
  }
  setup->cluster = std::move(*c);
  e2e::MiniCluster& cluster = *setup->cluster;
  chmod(cluster.output_dir().c_str(), 01777);

  // Publish the example register with the live cluster view, as sovereignd does.
  if (absl::Status s = slurm::InitSlurm(cluster.slurm_conf()); !s.ok()) {
    Fail(s.ToString());
  }
  const std::string yaml = ReadText(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
  auto reg = Register::Parse(yaml, "register.example.yaml");
  if (!reg.ok()) {
    Fail(reg.status().ToString());
  }
  slurm::PublisherOptions po;
  po.path = cluster.dir() + "/sovereign/snapshot";
  slurm::SnapshotPublisher publisher(
      po, [&] { return slurm::PublishedRegister{*reg, yaml, "register.example.yaml"}; });
  if (absl::Status s = publisher.Publish(); !s.ok() || !publisher.last_cluster_error().ok()) {
    Fail(absl::StrCat("publishing the snapshot: ", s.ToString(), " / ",
                      publisher.last_cluster_error().ToString()));
  }
  // The plugin polls the snapshot file every 500 ms.
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));

  setup->job_id = SubmitPlacedJob();
  setup->refused_job_id = SubmitPlacedJob();

  setup->script = cluster.dir() + "/etc/bench-prolog-script";
  std::ofstream(setup->script) << "#!/bin/sh\nexit 0\n";
  setup->wrapper = cluster.dir() + "/etc/bench-prolog-wrapper";
  std::ofstream(setup->wrapper) << "#!/bin/sh\nexec \"" << SOVEREIGN_PROLOG_PATH << "\"\n";
  chmod(setup->script.c_str(), 0755);
  chmod(setup->wrapper.c_str(), 0755);
  setup->null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  setup->err_fd = open((cluster.dir() + "/bench-prolog.err").c_str(),
                       O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (setup->null_fd < 0 || setup->err_fd < 0) {
    Fail("cannot open /dev/null or the prolog's error file");
  }

  // What slurmctld gives a PrologSlurmctld that matters here, plus the SLURM_CONF the mini
  // cluster's wrapper exports (slurmctld sets none).
  auto env_for = [&](uint32_t job, const std::string& nodes) {
    return std::vector<std::string>{"PATH=/usr/bin:/bin", "SLURM_CONF=" + cluster.slurm_conf(),
                                    absl::StrCat("SLURM_JOB_ID=", job),
                                    "SLURM_JOB_NODELIST=" + nodes,
                                    "SLURM_JOB_PARTITION=gpu-fr-a100",
                                    absl::StrCat("SLURM_JOB_USER=", e2e::kAlice)};
  };
  setup->env = env_for(setup->job_id, "fr-a100-1");

  // The prolog must be checking: a start on a node outside the EU sites is refused...
  const Started refused =
      StartOnce({SOVEREIGN_PROLOG_PATH}, env_for(setup->refused_job_id, "us-h100-1"));
  if (refused.exit_code != 1) {
    Fail(absl::StrCat("sovereign-prolog let job ", setup->refused_job_id,
                      " start on us-h100-1 (exit ", refused.exit_code,
                      "): it is not checking, its time would mean nothing"));
  }
  // ...and the measured start is allowed.
  const Started allowed = StartOnce({SOVEREIGN_PROLOG_PATH}, setup->env);
  if (allowed.exit_code != 0) {
    Fail(absl::StrCat("sovereign-prolog refused job ", setup->job_id, " on fr-a100-1 (exit ",
                      allowed.exit_code, "); see ", cluster.dir(), "/bench-prolog.err"));
  }
}

}  // namespace
}  // namespace sovereign

int main(int argc, char** argv) {
  sovereign::Setup setup;
  sovereign::setup = &setup;
  // Defaults first, so that the command line overrides them.
  std::vector<char*> args = {argv[0]};
  std::string reps = "--benchmark_repetitions=5";
  std::string interleave = "--benchmark_enable_random_interleaving=true";
  args.push_back(reps.data());
  args.push_back(interleave.data());
  for (int i = 1; i < argc; ++i) {
    absl::string_view a = argv[i];
    if (absl::ConsumePrefix(&a, "--prolog_starts=")) {
      if (!absl::SimpleAtoi(a, &setup.starts) || setup.starts < 1) {
        std::fprintf(stderr, "prolog_bench: bad --prolog_starts: %s\n", argv[i]);
        return 2;
      }
      continue;
    }
    args.push_back(argv[i]);
  }
  int n = static_cast<int>(args.size());
  benchmark::Initialize(&n, args.data());
  if (benchmark::ReportUnrecognizedArguments(n, args.data())) {
    return 2;
  }
  for (const char* variant : {"BM_PrologBaseline", "BM_PrologScript", "BM_SovereignProlog",
                              "BM_SovereignPrologWrapped", "BM_ScontrolShowJob"}) {
    benchmark::RegisterBenchmark(variant, sovereign::BM_Start, std::string(variant))
        ->Iterations(setup.starts)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  for (const char* what : {"ReadJob", "ReadNodes"}) {
    benchmark::RegisterBenchmark(absl::StrCat("BM_InProcess/", what).c_str(),
                                 sovereign::BM_InProcess, std::string(what))
        ->Iterations(setup.starts)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond);
  }
  sovereign::SetUp();
  benchmark::RunSpecifiedBenchmarks();
  sovereign::PrintSummary();
  benchmark::Shutdown();
  if (setup.failed) {
    setup.cluster->set_keep_dir(true);
    std::fprintf(stderr,
                 "prolog_bench: a start failed; the figures above are not valid (logs kept in "
                 "%s)\n",
                 setup.cluster->dir().c_str());
  }
  setup.cluster.reset();  // scontrol shutdown, munged by PID
  return setup.failed ? 1 : 0;
}
