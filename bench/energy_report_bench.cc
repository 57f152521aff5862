// The energy report (sovereignctl energy) over a log of N ended jobs, each a placement and its
// "ended" outcome, beside a baseline measured in the same run:
//   list_outcomes_baseline   reading the N outcomes page by page, as the report does
//   collect_energy_jobs      the report's read: each outcome and its placement (looked up by
//                            decision id), parsed into an EnergyJob
// Both report per-job time; at the end, the report's read as a ratio to the baseline.
//
// Extra flag (before Google Benchmark's own): --energy_jobs=N (default 50000).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench_flags.h"
#include "benchmark/benchmark.h"
#include "records/energy_report.h"
#include "sovereign/audit_log.h"

namespace sovereign::service {
namespace {

int64_t jobs_flag = 50000;

struct Log {
  std::string dir;
  std::unique_ptr<audit::AuditLog> log;
};
Log* shared = nullptr;

// N placements and their outcomes, appended 1000 records per commit.
void Fill(audit::AuditLog& log, int64_t jobs) {
  const absl::Time t0 = absl::FromUnixSeconds(1795000000);
  std::vector<audit::AuditRecord> batch;
  auto flush = [&] {
    absl::StatusOr<std::vector<audit::AuditRecord>> done = log.AppendAll(std::move(batch));
    if (!done.ok()) {
      std::fprintf(stderr, "append: %s\n", std::string(done.status().message()).c_str());
      std::exit(1);
    }
    batch.clear();
  };
  for (int64_t i = 0; i < jobs; ++i) {
    const std::string id = absl::StrCat("bench-", i);
    const absl::Time start = t0 + absl::Seconds(60 * i);
    audit::AuditRecord d;
    d.decision_id = id;
    d.time = start - absl::Seconds(5);
    d.caller = "job_submit/sovereign";
    d.user = "alice";
    d.account = i % 2 == 0 ? "oncology" : "vision";
    d.region = "eu";
    d.partition = i % 3 == 0 ? "gpu-fr-a100" : "gpu-de-h100";
    d.verdict = "place";
    d.register_version = std::string(64, 'a');
    d.body_json = absl::StrCat(
        "{\"candidates\":[{\"status\":\"eligible\",\"energy_kwh\":2.1,\"co2_grams\":700},"
        "{\"status\":\"chosen\",\"energy_kwh\":1.95,\"co2_grams\":60.45,\"gco2_per_kwh\":31}],"
        "\"request\":{\"time_limit_seconds\":3600}}");
    audit::AuditRecord o = d;
    o.kind = audit::RecordKind::kOutcome;
    o.time = start + absl::Minutes(31);
    o.caller = "sovereignd reconciler";
    o.verdict = "ended";
    o.job_id = i + 1;
    o.body_json = absl::StrCat(
        "{\"id\":\"", id, "\",\"verdict\":\"ended\",\"state\":\"COMPLETED\",\"start_time\":\"",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", start, absl::UTCTimeZone()), "\",\"end_time\":\"",
        absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", start + absl::Minutes(30), absl::UTCTimeZone()),
        "\"}");
    batch.push_back(std::move(d));
    batch.push_back(std::move(o));
    if (batch.size() >= 1000) {
      flush();
    }
  }
  if (!batch.empty()) {
    flush();
  }
}

void Open(const benchmark::State&) {
  if (shared != nullptr) {
    return;
  }
  shared = new Log;
  shared->dir =
      std::filesystem::temp_directory_path() / absl::StrCat("sovereign-energy-bench-", getpid());
  std::filesystem::create_directories(shared->dir);
  audit::AuditOptions o;
  o.path = shared->dir + "/audit.db";
  o.signing_key_path = shared->dir + "/signing.pem";
  absl::StatusOr<std::unique_ptr<audit::AuditLog>> log = audit::AuditLog::Open(o);
  if (!log.ok()) {
    std::fprintf(stderr, "%s\n", std::string(log.status().message()).c_str());
    std::exit(1);
  }
  shared->log = *std::move(log);
  Fill(*shared->log, jobs_flag);
}

void ListOutcomesBaseline(benchmark::State& state) {
  int64_t read = 0;
  for (auto _ : state) {
    audit::AuditQuery query;
    query.kind = audit::RecordKind::kOutcome;
    query.verdict = "ended";
    query.limit = 1000;
    read = 0;
    while (true) {
      absl::StatusOr<std::vector<audit::AuditRecord>> page = shared->log->List(query);
      if (!page.ok()) {
        state.SkipWithError(std::string(page.status().message()).c_str());
        return;
      }
      read += static_cast<int64_t>(page->size());
      if (static_cast<int>(page->size()) < query.limit) {
        break;
      }
      query.before_seq = page->back().seq;
    }
  }
  if (read != jobs_flag) {
    state.SkipWithError("not every outcome was read");
  }
  state.SetItemsProcessed(state.iterations() * read);
}

void CollectAll(benchmark::State& state) {
  int64_t jobs = 0;
  for (auto _ : state) {
    absl::StatusOr<EnergyJobs> got =
        CollectEnergyJobs(*shared->log, std::nullopt, std::nullopt, jobs_flag);
    if (!got.ok() || got->skipped != 0) {
      state.SkipWithError(got.ok() ? got->first_skipped.c_str()
                                   : std::string(got.status().message()).c_str());
      return;
    }
    jobs = static_cast<int64_t>(got->jobs.size());
  }
  if (jobs != jobs_flag) {
    state.SkipWithError("not every job was collected");
  }
  state.SetItemsProcessed(state.iterations() * jobs);
}

// Console output, then the report's read per job as a ratio to reading the outcomes alone.
class RatioReporter : public benchmark::ConsoleReporter {
 public:
  // Colours only on a terminal.
  RatioReporter() : ConsoleReporter(::isatty(1) ? OO_ColorTabular : OO_Tabular) {}

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      auto items = run.counters.find("items_per_second");
      if (run.run_type == Run::RT_Iteration && !run.error_occurred && items != run.counters.end()) {
        rate_[run.benchmark_name()] = items->second.value;
      }
    }
    ConsoleReporter::ReportRuns(runs);
  }
  void Finalize() override {
    ConsoleReporter::Finalize();
    const std::string base = "list_outcomes_baseline/real_time";
    const std::string collect = "collect_energy_jobs/real_time";
    if (rate_.count(base) && rate_.count(collect)) {
      std::printf(
          "\n%lld ended jobs: %.2f us per job to read its outcome, %.2f us with its "
          "placement (%.2fx)\n",
          static_cast<long long>(jobs_flag), 1e6 / rate_.at(base), 1e6 / rate_.at(collect),
          rate_.at(base) / rate_.at(collect));
    }
  }

 private:
  std::map<std::string, double> rate_;
};

}  // namespace
}  // namespace sovereign::service

int main(int argc, char** argv) {
  using namespace sovereign::service;
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string value;
    if (i > 0 && sovereign::bench::TakeFlag(argv[i], "energy_jobs", &value)) {
      if (!absl::SimpleAtoi(value, &jobs_flag) || jobs_flag < 1) {
        std::fprintf(stderr, "--energy_jobs must be a whole number from 1\n");
        return 2;
      }
      continue;
    }
    rest.push_back(argv[i]);
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  benchmark::RegisterBenchmark("list_outcomes_baseline", ListOutcomesBaseline)
      ->Setup(Open)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("collect_energy_jobs", CollectAll)
      ->Setup(Open)
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
  RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  if (shared != nullptr) {
    shared->log.reset();
    std::filesystem::remove_all(shared->dir);
  }
  return 0;
}
