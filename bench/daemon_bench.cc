// sovereignd's Decide over gRPC on its unix socket, as slurmctld-side callers see it.
//
//   BM_InProcessDecide        the core's Decide() alone, same register and request: the floor
//   BM_EmptyRpc               gRPC's health Check on the audit-free daemon: what one unary call
//                             on this machine costs with no work in it (the latency floor)
//   BM_EmptyRpcThroughput     the same from 16 client threads (the throughput floor)
//   BM_Serial/<audit>         one client calling Decide back to back (latency p50/p99, in µs)
//   BM_Throughput/<audit>     1, 4 and 16 client threads, each on its own connection
// <audit> is the audit log's mode: normal (sync=normal), full (sync=full, group commit) or off
// (audit.enabled: false, a benchmark-only daemon: what gRPC and placement cost without the log).
// Each daemon is a real sovereignd process (as in production: clients and daemon do not share
// gRPC's threads), started on first use on a temporary socket and database and stopped at exit,
// so their figures come from the same run on the same machine. The summary at the end gives
// every figure as a ratio to the in-process Decide and to the audit-free daemon.
#include <benchmark/benchmark.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sovereign/placement.h"
#include "sovereign/register.h"
#include "sovereign/v1/placement.grpc.pb.h"

extern char** environ;

namespace sovereign {
namespace {

constexpr const char* kModes[] = {"normal", "full", "off"};

struct BenchDaemon {
  std::string dir;
  std::string socket;
  pid_t pid = -1;
};

std::mutex daemons_mu;
std::map<std::string, BenchDaemon> daemons;

// Stops the daemons this benchmark started (by PID) and removes their directories.
void StopDaemons() {
  std::lock_guard<std::mutex> lock(daemons_mu);
  for (auto& [mode, d] : daemons) {
    if (d.pid > 0) {
      kill(d.pid, SIGTERM);
      waitpid(d.pid, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(d.dir, ec);
  }
  daemons.clear();
}

// The daemon for an audit mode: a sovereignd process, started on first use.
const BenchDaemon& DaemonFor(const std::string& mode) {
  std::lock_guard<std::mutex> lock(daemons_mu);
  BenchDaemon& d = daemons[mode];
  if (d.pid > 0) {
    return d;
  }
  char tmpl[] = "/tmp/sovereignd-bench-XXXXXX";
  d.dir = mkdtemp(tmpl);
  d.socket = d.dir + "/sovereignd.sock";
  std::filesystem::copy_file(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml",
                             d.dir + "/register.yaml");
  std::string config = d.dir + "/sovereignd.yaml";
  std::ofstream(config) << "socket:\n  path: " << d.socket << "\n"
                        << "register:\n  path: " << d.dir << "/register.yaml\n"
                        << "  history_database: " << d.dir << "/registers.db\n"
                        << "audit:\n  enabled: " << (mode == "off" ? "false" : "true") << "\n"
                        << "  sync: " << (mode == "full" ? "full" : "normal") << "\n"
                        << "  database: " << d.dir << "/audit.db\n"
                        << "  signing_key: " << d.dir << "/audit-signing.pem\n"
                        << "log:\n  level: warn\n";
  std::string log = d.dir + "/sovereignd.log";
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> args = {SOVEREIGND_PATH, "--config", config};
  std::vector<char*> argv;
  for (std::string& a : args) {
    argv.push_back(a.data());
  }
  argv.push_back(nullptr);
  int rc = posix_spawn(&d.pid, SOVEREIGND_PATH, &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  // Bounded wait for the socket; a daemon that does not come up ends the benchmark.
  for (int i = 0; rc == 0 && i < 200; ++i) {
    struct stat st;
    if (stat(d.socket.c_str(), &st) == 0) {
      return d;
    }
    if (waitpid(d.pid, nullptr, WNOHANG) == d.pid) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "sovereignd (%s) did not start; its log: %s\n", mode.c_str(), log.c_str());
  std::abort();
}

v1::DecideRequest Request(int client) {
  v1::DecideRequest req;
  v1::JobRequest* job = req.mutable_job();
  job->set_user("alice");
  job->set_uid(2001 + client);
  job->add_groups("oncology");
  job->set_account("oncology");
  job->add_datasets("patients-eu");
  job->set_gpus(8);
  return req;
}

std::unique_ptr<v1::PlacementService::Stub> Connect(const std::string& socket) {
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);  // a connection per client
  return v1::PlacementService::NewStub(
      grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args));
}

// One Decide that did what is measured: the job placed and, with the audit log on, the decision
// recorded before the answer.
bool DecideOnce(v1::PlacementService::Stub* stub, const v1::DecideRequest& req,
                const std::string& mode) {
  grpc::ClientContext ctx;
  v1::DecideResponse resp;
  return stub->Decide(&ctx, req, &resp).ok() &&
         resp.decision().verdict() == v1::VERDICT_PLACE &&
         (mode == "off" || resp.decision().recorded());
}

void BM_InProcessDecide(benchmark::State& state) {
  auto reg = *Register::Load(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
  ClusterView view = ClusterView::AllUp(*reg);
  JobRequest r;
  r.user = "alice";
  r.uid = 2001;
  r.groups = {"oncology"};
  r.account = "oncology";
  r.datasets = {"patients-eu"};
  r.gpus = 8;
  for (auto _ : state) {
    benchmark::DoNotOptimize(Decide(r, view, *reg, absl::Now()));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_InProcessDecide);

// Times `call` back to back and reports p50/p99 in µs.
template <typename Call>
void TimeSerially(benchmark::State& state, const Call& call) {
  std::vector<double> micros;
  micros.reserve(1 << 16);
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    if (!call()) {
      state.SkipWithError("call failed");
      break;
    }
    micros.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
            .count());
  }
  if (!micros.empty()) {
    std::sort(micros.begin(), micros.end());
    state.counters["p50_us"] = micros[micros.size() / 2];
    state.counters["p99_us"] = micros[std::min(micros.size() - 1, micros.size() * 99 / 100)];
  }
  state.SetItemsProcessed(state.iterations());
}

// grpc.health.v1.Health/Check with an empty request on its own connection to the audit-free
// daemon (the whole server): no sovereign code runs.
class HealthCheck {
 public:
  HealthCheck() {
    grpc::ChannelArguments args;
    args.SetInt("grpc.use_local_subchannel_pool", 1);  // a connection per client
    stub_ = std::make_unique<grpc::GenericStub>(grpc::CreateCustomChannel(
        "unix:" + DaemonFor("off").socket, grpc::InsecureChannelCredentials(), args));
  }
  ~HealthCheck() {
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }
  bool operator()() {
    grpc::ClientContext ctx;
    grpc::Slice empty;
    grpc::ByteBuffer request(&empty, 1), response;
    grpc::Status status;
    auto call = stub_->PrepareUnaryCall(&ctx, "/grpc.health.v1.Health/Check", request, &cq_);
    call->StartCall();
    call->Finish(&response, &status, reinterpret_cast<void*>(1));
    void* tag = nullptr;
    bool ok = false;
    return cq_.Next(&tag, &ok) && ok && status.ok();
  }

 private:
  std::unique_ptr<grpc::GenericStub> stub_;
  grpc::CompletionQueue cq_;
};

// The latency floor: what one unary call on this machine costs with no work in it.
void BM_EmptyRpc(benchmark::State& state) {
  HealthCheck check;
  check();  // connect outside the measurement
  TimeSerially(state, [&] { return check(); });
}
BENCHMARK(BM_EmptyRpc)->UseRealTime();

// The throughput floor: 16 clients calling the empty RPC, as BM_Throughput's clients call Decide.
void BM_EmptyRpcThroughput(benchmark::State& state) {
  HealthCheck check;
  check();
  for (auto _ : state) {
    if (!check()) {
      state.SkipWithError("health check failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_EmptyRpcThroughput)->Threads(16)->UseRealTime();

void BM_Serial(benchmark::State& state) {
  const std::string mode = kModes[state.range(0)];
  state.SetLabel(mode);
  auto stub = Connect(DaemonFor(mode).socket);
  v1::DecideRequest req = Request(0);
  DecideOnce(stub.get(), req, mode);  // connect outside the measurement
  TimeSerially(state, [&] { return DecideOnce(stub.get(), req, mode); });
}
BENCHMARK(BM_Serial)->Arg(0)->Arg(1)->Arg(2)->UseRealTime();

void BM_Throughput(benchmark::State& state) {
  const std::string mode = kModes[state.range(0)];
  state.SetLabel(mode);
  auto stub = Connect(DaemonFor(mode).socket);
  v1::DecideRequest req = Request(state.thread_index());
  DecideOnce(stub.get(), req, mode);
  for (auto _ : state) {
    if (!DecideOnce(stub.get(), req, mode)) {
      state.SkipWithError("Decide failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Throughput)
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->Threads(1)
    ->Threads(4)
    ->Threads(16)
    ->UseRealTime();

// Keeps every run so that the summary can relate them.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  RatioReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& r : runs) {
      if (r.error_occurred) {
        failed_.push_back(r.benchmark_name() + ": " + r.error_message);
      } else if (r.run_type == Run::RT_Iteration) {
        runs_.push_back(r);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  // The benchmarks that stopped on an error (a failed call, a refused job, an unrecorded
  // decision): their figures measure something else, so the run fails.
  const std::vector<std::string>& failed() const { return failed_; }

  void PrintSummary() const {
    double in_process = 0;
    std::map<std::string, double> rate, p50, p99;
    for (const Run& r : runs_) {
      auto items = r.counters.find("items_per_second");
      double per_second = items != r.counters.end() ? items->second.value : 0;
      std::string name = r.benchmark_name();
      if (name.rfind("BM_InProcessDecide", 0) == 0) {
        in_process = per_second;
        continue;
      }
      rate[name] = per_second;
      if (auto it = r.counters.find("p50_us"); it != r.counters.end()) {
        p50[name] = it->second.value;
      }
      if (auto it = r.counters.find("p99_us"); it != r.counters.end()) {
        p99[name] = it->second.value;
      }
    }
    auto micros = [](const std::map<std::string, double>& m, const std::string& name) {
      return m.count(name) ? std::to_string(static_cast<int>(m.at(name))) : std::string();
    };
    std::printf("\n%-42s %11s %7s %7s %12s %11s %11s %12s\n", "benchmark", "calls/s", "p50 us",
                "p99 us", "x in-process", "x audit-off", "p99 x empty", "x empty@16");
    const std::string empty = "BM_EmptyRpc/real_time";
    const std::string empty16 = "BM_EmptyRpcThroughput/real_time/threads:16";
    for (const auto& [name, per_second] : rate) {
      // The same benchmark against the audit-free daemon: "/2" is mode off.
      std::string off = name;
      size_t slash = off.find('/');
      if (slash != std::string::npos && name.rfind("BM_EmptyRpc", 0) != 0) {
        off.replace(slash + 1, 1, "2");
      }
      auto base = rate.find(off);
      std::string vs_empty;
      if (p99.count(name) && p99.count(empty) && p99.at(empty) > 0) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.2f", p99.at(name) / p99.at(empty));
        vs_empty = buf;
      }
      std::string vs_empty16;
      if (name.size() > 10 && name.compare(name.size() - 10, 10, "threads:16") == 0 &&
          rate.count(empty16) && rate.at(empty16) > 0) {
        char buf[32];
        std::snprintf(buf, sizeof(buf), "%.3f", per_second / rate.at(empty16));
        vs_empty16 = buf;
      }
      std::printf("%-42s %11.0f %7s %7s %12.4f %11.3f %11s %12s\n", name.c_str(), per_second,
                  micros(p50, name).c_str(), micros(p99, name).c_str(),
                  in_process > 0 ? per_second / in_process : 0,
                  base != rate.end() && base->second > 0 ? per_second / base->second : 0,
                  vs_empty.c_str(), vs_empty16.c_str());
    }
    // The targets, stated against this machine's floor measured in the same run: serial Decide
    // (sync normal) p99 at most 2x the empty RPC's p99; 16 clients at least 0.8x the empty
    // RPC's rate from 16 clients.
    const std::string serial_normal = "BM_Serial/0/real_time";
    if (p99.count(serial_normal) && p99.count(empty) && p99.at(empty) > 0) {
      const double x = p99.at(serial_normal) / p99.at(empty);
      std::printf("\ntarget serial p99 <= 2x the empty RPC's (sync normal): %.0f us against %.0f us"
                  " = %.2fx (%s)\n",
                  p99.at(serial_normal), p99.at(empty), x, x <= 2 ? "met" : "missed");
    }
    const std::string normal16 = "BM_Throughput/0/real_time/threads:16";
    if (rate.count(empty16) && rate.count(normal16) && rate.at(empty16) > 0) {
      const double x = rate.at(normal16) / rate.at(empty16);
      std::printf("target 16 clients >= 0.8x the empty RPC's rate (sync normal): %.0f/s against"
                  " %.0f/s = %.2fx (%s)\n",
                  rate.at(normal16), rate.at(empty16), x, x >= 0.8 ? "met" : "missed");
    }
  }

 private:
  std::vector<Run> runs_;
  std::vector<std::string> failed_;
};

}  // namespace
}  // namespace sovereign

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  sovereign::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary();
  sovereign::StopDaemons();
  benchmark::Shutdown();
  for (const std::string& f : reporter.failed()) {
    std::fprintf(stderr, "daemon_bench: %s\n", f.c_str());
  }
  return reporter.failed().empty() ? 0 : 1;
}
