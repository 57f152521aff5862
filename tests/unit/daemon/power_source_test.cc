#include "power/power_source.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "support/minicluster.h"
#include "support/synthetic_exporter.h"
#include "support/temp_dir.h"

namespace sovereign::power {
namespace {

using ::testing::HasSubstr;

// A power source whose page and clock the test sets.
struct FakeSource {
  absl::Time now = absl::FromUnixSeconds(1700000000);
  absl::StatusOr<std::string> page = std::string();
  std::unique_ptr<PowerSource> source;

  explicit FakeSource(PowerOptions o = {}) {
    o.prometheus_url = "http://127.0.0.1:1/metrics";
    o.fetch = [this](const std::string&) { return page; };
    o.clock = [this] { return now; };
    source = std::make_unique<PowerSource>(o);
  }
};

std::string Page(const std::string& host, double gpu0, double gpu1) {
  return "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n"
         "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",Hostname=\"" +
         host + "\"} " + std::to_string(gpu0) + "\nDCGM_FI_DEV_POWER_USAGE{gpu=\"1\",Hostname=\"" +
         host + "\"} " + std::to_string(gpu1) + "\nDCGM_FI_DEV_GPU_TEMP{gpu=\"0\",Hostname=\"" +
         host + "\"} 1000\n";
}

TEST(PowerSourceTest, MeanPerGpuOverRecentScrapes) {
  FakeSource f;
  f.page = Page("n1", 100, 300);  // 200 W per GPU
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  f.now += absl::Seconds(15);
  f.page = Page("n1", 400, 400);  // 400 W per GPU
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  std::map<std::string, PowerReading> r = f.source->Readings();
  ASSERT_EQ(r.count("n1"), 1u);
  EXPECT_DOUBLE_EQ(r["n1"].watts_per_gpu, 300);  // (200 + 400) / 2; the temperature is ignored
  EXPECT_EQ(r["n1"].gpus, 2);
  EXPECT_EQ(r["n1"].samples, 2);
  EXPECT_EQ(r["n1"].newest, f.now);
}

// Whoever starts the source (the node weights) has its readings as soon as Start() returns.
TEST(PowerSourceTest, StartScrapesBeforeItReturns) {
  std::mutex mu;
  std::vector<std::thread::id> fetched_on;
  PowerOptions o;
  o.prometheus_url = "http://127.0.0.1:1/metrics";
  o.interval = absl::Hours(1);
  o.fetch = [&](const std::string&) -> absl::StatusOr<std::string> {
    std::lock_guard<std::mutex> lock(mu);
    fetched_on.push_back(std::this_thread::get_id());
    return Page("n1", 100, 100);
  };
  PowerSource source(o);
  source.Start();
  EXPECT_EQ(source.Readings().count("n1"), 1u);
  std::lock_guard<std::mutex> lock(mu);
  // On the caller's thread, within Start(); the next scrape is an hour away.
  EXPECT_THAT(fetched_on, ::testing::ElementsAre(std::this_thread::get_id()));
}

TEST(PowerSourceTest, HistoryIsBounded) {
  PowerOptions o;
  o.history = 2;
  FakeSource f(o);
  for (double w : {1000.0, 100.0, 200.0}) {
    f.page = Page("n1", w, w);
    ASSERT_TRUE(f.source->ScrapeOnce().ok());
    f.now += absl::Seconds(1);
  }
  EXPECT_DOUBLE_EQ(f.source->Readings()["n1"].watts_per_gpu, 150);  // the 1000 W sample is gone
  EXPECT_EQ(f.source->Readings()["n1"].samples, 2);
}

TEST(PowerSourceTest, ReadingsOlderThanMaxAgeAreNotUsed) {
  PowerOptions o;
  o.max_age = absl::Minutes(2);
  FakeSource f(o);
  f.page = Page("n1", 100, 100);
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  f.now += absl::Minutes(1);
  f.page = Page("n1", 300, 300);
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  f.now += absl::Seconds(61);  // the first sample is 2m01s old, the second 61s
  EXPECT_DOUBLE_EQ(f.source->Readings()["n1"].watts_per_gpu, 300);
  f.now += absl::Minutes(1);  // both older than 2m
  EXPECT_TRUE(f.source->Readings().empty());
}

TEST(PowerSourceTest, ExporterTimestampsAreTheSampleTime) {
  FakeSource f;
  // Taken 3 minutes ago by the exporter's clock: already too old (max_age 2m).
  f.page = "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",Hostname=\"n1\"} 50 " +
           std::to_string(absl::ToUnixMillis(f.now - absl::Minutes(3))) + "\n";
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  EXPECT_TRUE(f.source->Readings().empty());
}

TEST(PowerSourceTest, NanNegativeAndInfiniteAreNoReading) {
  FakeSource f;
  f.page =
      "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",Hostname=\"n1\"} NaN\n"
      "DCGM_FI_DEV_POWER_USAGE{gpu=\"1\",Hostname=\"n1\"} 120\n"
      "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",Hostname=\"n2\"} -1\n"
      "DCGM_FI_DEV_POWER_USAGE{gpu=\"1\",Hostname=\"n2\"} +Inf\n";
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  std::map<std::string, PowerReading> r = f.source->Readings();
  EXPECT_DOUBLE_EQ(r["n1"].watts_per_gpu, 120);
  EXPECT_EQ(r["n1"].gpus, 1);
  EXPECT_EQ(r.count("n2"), 0u);
}

TEST(PowerSourceTest, GarbageOrNoAnswerKeepsOnlyFreshReadings) {
  FakeSource f;
  f.page = Page("n1", 100, 100);
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  f.page = std::string("<html>maintenance</html>\n");
  absl::Status s = f.source->ScrapeOnce();
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(std::string(s.message()),
            "http://127.0.0.1:1/metrics:1: a sample must start with a metric name: "
            "\"<html>maintenance</html>\"");
  f.page = absl::UnavailableError("GET http://127.0.0.1:1/metrics: Connection");
  EXPECT_FALSE(f.source->ScrapeOnce().ok());
  // Nothing new was learnt: the reading still there is the one measured, until it is too old.
  f.now += absl::Minutes(1);
  EXPECT_DOUBLE_EQ(f.source->Readings()["n1"].watts_per_gpu, 100);
  f.now += absl::Minutes(1) + absl::Seconds(1);
  EXPECT_TRUE(f.source->Readings().empty());
  PowerSource::Stats st = f.source->stats();
  EXPECT_EQ(st.scrapes, 3);
  EXPECT_EQ(st.failures, 2);
  EXPECT_EQ(st.error, "GET http://127.0.0.1:1/metrics: Connection");
  f.page = Page("n1", 200, 200);
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  EXPECT_EQ(f.source->stats().error, "");
  EXPECT_DOUBLE_EQ(f.source->Readings()["n1"].watts_per_gpu, 200);
}

TEST(PowerSourceTest, APageWithoutTheMetricIsAnError) {
  FakeSource f;
  f.page = std::string(
      "DCGM_FI_DEV_GPU_TEMP{gpu=\"0\",Hostname=\"n1\"} 40\n"
      "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\"} 40\n");  // no Hostname label
  absl::Status s = f.source->ScrapeOnce();
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(s.message()),
            "http://127.0.0.1:1/metrics has no DCGM_FI_DEV_POWER_USAGE series with a Hostname "
            "label");
}

TEST(PowerSourceTest, ConfiguredNames) {
  PowerOptions o;
  o.metric = "gpu_power_watts";
  o.host_label = "instance";
  o.gpu_label = "index";
  FakeSource f(o);
  f.page = std::string(
      "gpu_power_watts{index=\"0\",instance=\"n1\"} 10\n"
      "gpu_power_watts{index=\"1\",instance=\"n1\"} 30\n"
      "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",Hostname=\"n1\"} 999\n");
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  EXPECT_DOUBLE_EQ(f.source->Readings()["n1"].watts_per_gpu, 20);
}

TEST(PowerSourceTest, NodesMatchShortHostNames) {
  std::map<std::string, PowerReading> r;
  r["n1.cluster.example"].watts_per_gpu = 1;
  r["n2"].watts_per_gpu = 2;
  ASSERT_NE(FindReading(r, "n1"), nullptr);
  EXPECT_EQ(FindReading(r, "n1")->watts_per_gpu, 1);
  EXPECT_EQ(FindReading(r, "n2")->watts_per_gpu, 2);
  EXPECT_EQ(FindReading(r, "n1.cluster"), nullptr);
  EXPECT_EQ(FindReading(r, "n"), nullptr);
}

// Over real HTTP, from the synthetic exporter on loopback.
// Energy: trapezoids between scrapes, all GPUs and per allocated GPU, by hand.
TEST(PowerSourceEnergyTest, IntegratesPowerAndPowerPerAllocatedGpu) {
  FakeSource f;
  const absl::Time t0 = f.now;
  f.source->SetAllocatedGpus({{"n1", 1}});
  f.page = Page("n1", 100, 100);  // 200 W, 1 GPU allocated: 200 W per allocated GPU
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  f.now += absl::Seconds(10);
  f.page = Page("n1", 300, 100);  // 400 W
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  f.now += absl::Seconds(10);
  f.source->SetAllocatedGpus({{"n1", 2}});
  f.page = Page("n1", 300, 300);  // 600 W over 2 allocated: 300 W each
  ASSERT_TRUE(f.source->ScrapeOnce().ok());

  std::optional<HostEnergy> e = f.source->EnergyOver("n1", t0, f.now);
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->joules, (200 + 400) / 2.0 * 10 + (400 + 600) / 2.0 * 10);  // 8000 J
  EXPECT_DOUBLE_EQ(e->joules_per_allocated_gpu,
                   (200 + 400) / 2.0 * 10 + (400 + 300) / 2.0 * 10);  // 6500 J
  EXPECT_EQ(e->covered, absl::Seconds(20));
  // Between two scrapes the integrals are linear: the second half of the first interval.
  e = f.source->EnergyOver("n1", t0 + absl::Seconds(5), t0 + absl::Seconds(10));
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->joules, 1500);
  EXPECT_EQ(e->covered, absl::Seconds(5));
  // Before the first scrape and after the last nothing was measured.
  e = f.source->EnergyOver("n1", t0 - absl::Seconds(30), f.now + absl::Seconds(30));
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->joules, 8000);
  EXPECT_EQ(e->covered, absl::Seconds(20));
  // Fully qualified host names match the node name; an unknown node has no integral.
  EXPECT_FALSE(f.source->EnergyOver("n2", t0, f.now).has_value());
}

TEST(PowerSourceEnergyTest, IdleHostsAreNobodysAndGapsAreNotMeasured) {
  PowerOptions o;
  o.max_age = absl::Seconds(30);
  FakeSource f(o);
  const absl::Time t0 = f.now;
  f.page = Page("n1.example.org", 50, 50);
  ASSERT_TRUE(f.source->ScrapeOnce().ok());  // allocation not known yet: not integrated
  f.now += absl::Seconds(10);
  f.source->SetAllocatedGpus({{"n1", 0}});
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  f.now += absl::Seconds(10);
  ASSERT_TRUE(f.source->ScrapeOnce().ok());  // idle: 100 W, per allocated GPU nothing
  f.now += absl::Seconds(60);                // a gap longer than max_age
  f.source->SetAllocatedGpus({{"n1", 2}});
  ASSERT_TRUE(f.source->ScrapeOnce().ok());
  f.now += absl::Seconds(10);
  ASSERT_TRUE(f.source->ScrapeOnce().ok());

  std::optional<HostEnergy> e = f.source->EnergyOver("n1", t0, f.now);
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->joules, 100 * 10 + 100 * 10);              // the idle 10 s, the last 10 s
  EXPECT_DOUBLE_EQ(e->joules_per_allocated_gpu, 0 + 50.0 * 10);  // 100 W over 2 GPUs
  EXPECT_EQ(e->covered, absl::Seconds(20));
}

TEST(PowerSourceEnergyTest, OldPointsAreThinnedAndDropped) {
  PowerOptions o;
  o.energy_fine_for = absl::Seconds(60);
  o.energy_coarse_every = absl::Seconds(120);
  o.energy_keep = absl::Seconds(600);
  o.max_age = absl::Seconds(60);
  FakeSource f(o);
  f.source->SetAllocatedGpus({{"n1", 2}});
  f.page = Page("n1", 100, 100);
  const absl::Time t0 = f.now;
  for (int i = 0; i < 100; ++i) {  // 1000 s at a constant 200 W
    ASSERT_TRUE(f.source->ScrapeOnce().ok());
    f.now += absl::Seconds(10);
  }
  const absl::Time last = f.now - absl::Seconds(10);
  // A range inside what is kept: linear between coarse points, exact at constant power.
  std::optional<HostEnergy> e =
      f.source->EnergyOver("n1", last - absl::Seconds(500), last - absl::Seconds(100));
  ASSERT_TRUE(e.has_value());
  EXPECT_DOUBLE_EQ(e->joules, 200 * 400);
  EXPECT_DOUBLE_EQ(e->joules_per_allocated_gpu, 100 * 400);
  EXPECT_EQ(e->covered, absl::Seconds(400));
  // What is older than energy_keep is gone: coarse points are t0 + 120 k s, the oldest kept
  // is the first no more than 600 s before the last scrape (t0 + 990 s): t0 + 480 s.
  e = f.source->EnergyOver("n1", t0, last);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->covered, absl::Seconds(990 - 480));
  EXPECT_DOUBLE_EQ(e->joules, 200 * (990 - 480));
}

TEST(PowerSourceTest, ScrapesAnExporterOverHttp) {
  absl::StatusOr<std::unique_ptr<testing::SyntheticExporter>> e =
      testing::SyntheticExporter::Start();
  ASSERT_TRUE(e.ok()) << e.status();
  (*e)->SetNode("fr-a100-2", {90, 110});
  PowerOptions o;
  o.prometheus_url = (*e)->url();
  PowerSource source(o);
  ASSERT_TRUE(source.ScrapeOnce().ok());
  EXPECT_DOUBLE_EQ(source.Readings()["fr-a100-2"].watts_per_gpu, 100);
  (*e)->Override(503, "overloaded");
  absl::Status s = source.ScrapeOnce();
  EXPECT_EQ(std::string(s.message()), "GET " + (*e)->url() + ": HTTP status 503");
  EXPECT_EQ((*e)->requests(), 2);
}

TEST(PowerSourceTest, NoServerIsUnavailable) {
  // A port nothing listens on: the exporter's, once stopped.
  std::string url;
  {
    absl::StatusOr<std::unique_ptr<testing::SyntheticExporter>> e =
        testing::SyntheticExporter::Start();
    ASSERT_TRUE(e.ok());
    url = (*e)->url();
  }
  absl::StatusOr<std::string> got = HttpGet(url, absl::Seconds(2));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(std::string(got.status().message()), "GET " + url + ": no answer (Connection error)");
  got = HttpGet("ftp://127.0.0.1/metrics", absl::Seconds(2));
  EXPECT_EQ(std::string(got.status().message()),
            "ftp://127.0.0.1/metrics is not an http:// or https:// URL");
}

}  // namespace
}  // namespace sovereign::power

namespace sovereign::power {
namespace {

// sovereign-synthetic-exporter, the exporter as a program for the demo: its usage errors.
TEST(SyntheticExporterProgramTest, UsageErrors) {
  testing::TempDir dir;
  const std::vector<std::string> env = e2e::CleanEnvironment({});
  e2e::CommandResult r =
      e2e::RunCommand({SYNTHETIC_EXPORTER_PATH}, env, absl::Seconds(10), dir.path());
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, std::string("usage: ") + SYNTHETIC_EXPORTER_PATH +
                       " NODE=WATTS[,WATTS...] ... (one figure per GPU)\n");
  for (const std::string bad :
       {"fr-a100-1", "=300", "fr-a100-1=", "fr-a100-1=300,x", "fr-a100-1=-5"}) {
    r = e2e::RunCommand({SYNTHETIC_EXPORTER_PATH, "n1=1", bad}, env, absl::Seconds(10), dir.path());
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_EQ(r.err, std::string(SYNTHETIC_EXPORTER_PATH) + ": \"" + bad +
                         "\" is not NODE=WATTS[,WATTS...], e.g. fr-a100-1=300,300\n");
  }
}

}  // namespace
}  // namespace sovereign::power
