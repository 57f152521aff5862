// sovereignd's Decide over gRPC on its unix socket, as slurmctld-side callers see it.
//
//   BM_InProcessDecide        the core's Decide() alone, same register and request: the floor
//   BM_Serial/<audit>         one client calling Decide back to back (latency p50/p99, in µs)
//   BM_Throughput/<audit>     1, 4 and 16 client threads, each on its own connection
// <audit> is the audit log's mode: normal (sync=normal), full (sync=full, group commit) or off
// (audit.enabled: false, a benchmark-only daemon: what gRPC and placement cost without the log).
// All three daemons run in this process, started once, on temporary sockets and databases, so
// their figures come from the same run on the same machine. The summary at the end gives every
// figure as a ratio to the in-process Decide and to the audit-free daemon.
#include <benchmark/benchmark.h>
#include <grpcpp/create_channel.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "daemon.h"
#include "register_manager.h"
#include "sovereign/placement.h"
#include "sovereign/v1/placement.grpc.pb.h"

namespace sovereign {
namespace {

constexpr const char* kModes[] = {"normal", "full", "off"};

struct BenchDaemon {
  std::string dir;
  std::unique_ptr<service::Daemon> daemon;
};

// Daemons by audit mode, started on first use and stopped at exit.
BenchDaemon& DaemonFor(const std::string& mode) {
  static std::mutex mu;
  static std::map<std::string, BenchDaemon> daemons;
  std::lock_guard<std::mutex> lock(mu);
  BenchDaemon& d = daemons[mode];
  if (d.daemon != nullptr) {
    return d;
  }
  char tmpl[] = "/tmp/sovereignd-bench-XXXXXX";
  d.dir = mkdtemp(tmpl);
  service::DaemonConfig c;
  c.socket_path = d.dir + "/sovereignd.sock";
  c.register_path = d.dir + "/register.yaml";
  c.register_history_path = d.dir + "/registers.db";
  c.audit.path = d.dir + "/audit.db";
  c.audit.signing_key_path = d.dir + "/audit-signing.pem";
  c.audit.sync = mode == "full" ? audit::Sync::kFull : audit::Sync::kNormal;
  c.audit_enabled = mode != "off";
  absl::Status w = service::WriteFileAtomically(
      c.register_path,
      *service::ReadFileToString(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml"));
  auto started = service::Daemon::Start(c);
  if (!w.ok() || !started.ok()) {
    std::fprintf(stderr, "cannot start the %s daemon: %s\n", mode.c_str(),
                 std::string(started.status().message()).c_str());
    std::abort();
  }
  d.daemon = *std::move(started);
  return d;
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

bool DecideOnce(v1::PlacementService::Stub* stub, const v1::DecideRequest& req) {
  grpc::ClientContext ctx;
  v1::DecideResponse resp;
  return stub->Decide(&ctx, req, &resp).ok();
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

void BM_Serial(benchmark::State& state) {
  const std::string mode = kModes[state.range(0)];
  state.SetLabel(mode);
  auto stub = Connect(DaemonFor(mode).daemon->socket_path());
  v1::DecideRequest req = Request(0);
  DecideOnce(stub.get(), req);  // connect outside the measurement
  std::vector<double> micros;
  micros.reserve(1 << 16);
  for (auto _ : state) {
    auto start = std::chrono::steady_clock::now();
    if (!DecideOnce(stub.get(), req)) {
      state.SkipWithError("Decide failed");
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
BENCHMARK(BM_Serial)->Arg(0)->Arg(1)->Arg(2)->UseRealTime();

void BM_Throughput(benchmark::State& state) {
  const std::string mode = kModes[state.range(0)];
  state.SetLabel(mode);
  auto stub = Connect(DaemonFor(mode).daemon->socket_path());
  v1::DecideRequest req = Request(state.thread_index());
  DecideOnce(stub.get(), req);
  for (auto _ : state) {
    if (!DecideOnce(stub.get(), req)) {
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
      if (r.run_type == Run::RT_Iteration && !r.error_occurred) {
        runs_.push_back(r);
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }

  void PrintSummary() const {
    double in_process = 0;
    std::map<std::string, double> rate, p99;
    for (const Run& r : runs_) {
      auto items = r.counters.find("items_per_second");
      double per_second = items != r.counters.end() ? items->second.value : 0;
      std::string name = r.benchmark_name();
      if (name.rfind("BM_InProcessDecide", 0) == 0) {
        in_process = per_second;
      } else {
        rate[name] = per_second;
        if (auto it = r.counters.find("p99_us"); it != r.counters.end()) {
          p99[name] = it->second.value;
        }
      }
    }
    std::printf("\n%-34s %12s %10s %14s %14s\n", "benchmark", "decisions/s", "p99 us",
                "x in-process", "x audit-off");
    for (const auto& [name, per_second] : rate) {
      // The same benchmark against the audit-free daemon: "/2" is mode off.
      std::string off = name;
      size_t slash = off.find('/');
      if (slash != std::string::npos) {
        off.replace(slash + 1, 1, "2");
      }
      auto base = rate.find(off);
      std::printf("%-34s %12.0f %10s %14.4f %14.3f\n", name.c_str(), per_second,
                  p99.count(name) ? std::to_string(static_cast<int>(p99.at(name))).c_str() : "",
                  in_process > 0 ? per_second / in_process : 0,
                  base != rate.end() && base->second > 0 ? per_second / base->second : 0);
    }
  }

 private:
  std::vector<Run> runs_;
};

}  // namespace
}  // namespace sovereign

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::warn);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  sovereign::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintSummary();
  benchmark::Shutdown();
  return 0;
}
