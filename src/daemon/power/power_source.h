// Live GPU power from a Prometheus endpoint, as NVIDIA's DCGM exporter serves it: the metric
// DCGM_FI_DEV_POWER_USAGE (watts), one series per GPU, labelled with its host (Hostname) and
// index (gpu). The metric and label names are configurable.
//
// Every `interval` the source fetches the text, keeps for each host the mean watts per GPU of
// that scrape, and holds the last `history` such samples per host. A host's reading is the mean
// of its samples no older than `max_age`: a host the exporter stops reporting, or a source that
// stops answering or answers garbage, falls out once its last samples are that old, never
// giving a figure older than that. Series whose value is NaN, infinite or negative are not
// readings and are left out. A failing source is logged once when it starts failing (warning)
// and once when it answers again (info), not every scrape.
//
// Hosts are matched to Slurm node names by the host label's value, or by its part before the
// first dot (a fully qualified host name).
//
// Energy: per host, the source also integrates its GPUs' power over time (trapezoids between
// consecutive scrapes no further apart than `max_age`), twice: all GPUs together, and the power
// per allocated GPU (the host's GPU power divided by the GPUs Slurm has allocated on it then,
// SetAllocatedGpus). A job that holds g of a host's GPUs from t0 to t1 used g times the second
// integral over [t0, t1]: the idle GPUs of a partly used host are shared out among the jobs on
// it, and the GPUs of an idle host are nobody's. Time without readings, or without a known
// allocation, is not integrated and shows as less coverage (EnergyOver). The integrals are kept
// as points: one per scrape for `energy_fine_for`, then one per `energy_coarse_every`, for
// `energy_keep` (at the defaults, 240 + 852 points per host, 32 bytes each). They live in
// memory: a job that was running when sovereignd started is measured over the part it saw.
//
// Thread-safety: every public method may be called from any thread; the background thread is
// owned.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "sovereign/periodic_worker.h"

namespace sovereign::power {

struct PowerOptions {
  // The exporter's metrics page, http://host:port/path.
  std::string prometheus_url;
  // The metric that holds a GPU's power draw in watts, and the labels naming its host and GPU.
  std::string metric = "DCGM_FI_DEV_POWER_USAGE";
  std::string host_label = "Hostname";
  std::string gpu_label = "gpu";
  // Scrape this often.
  absl::Duration interval = absl::Seconds(15);
  // Samples older than this are not used.
  absl::Duration max_age = absl::Minutes(2);
  // Samples kept per host (the newest).
  int history = 8;
  // How long one scrape may take.
  absl::Duration timeout = absl::Seconds(5);
  // Fetches the page; the default is an HTTP GET (HttpGet).
  std::function<absl::StatusOr<std::string>(const std::string& url)> fetch;
  std::function<absl::Time()> clock = absl::Now;
  // How long the energy integrals are kept, and how finely (see above).
  absl::Duration energy_fine_for = absl::Hours(1);
  absl::Duration energy_coarse_every = absl::Minutes(5);
  absl::Duration energy_keep = absl::Hours(72);
};

// A host's GPU energy over a time range.
struct HostEnergy {
  double joules = 0;                         // of all its GPUs
  double joules_per_allocated_gpu = 0;       // the integral of GPU power / allocated GPUs
  absl::Duration covered;                    // how much of the range was measured
  absl::Time newest = absl::InfinitePast();  // the newest reading of the host integrated
};

// A host's power now: the mean watts per GPU of its fresh samples.
struct PowerReading {
  double watts_per_gpu = 0;
  int gpus = 0;                              // GPUs in its newest sample
  int samples = 0;                           // fresh samples averaged
  absl::Time newest = absl::InfinitePast();  // when the newest of them was taken
};

// GET `url` (http:// or https://): the body of a 200 answer; UNAVAILABLE naming the url
// otherwise (no answer, another status).
absl::StatusOr<std::string> HttpGet(const std::string& url, absl::Duration timeout);

// The reading of Slurm node `node` in `readings` (by host name, or host name before its first
// dot), or nullptr.
const PowerReading* FindReading(const std::map<std::string, PowerReading>& readings,
                                const std::string& node);

class PowerSource {
 public:
  explicit PowerSource(PowerOptions options);
  ~PowerSource();
  PowerSource(const PowerSource&) = delete;
  PowerSource& operator=(const PowerSource&) = delete;

  // One scrape now. The error of a fetch or of the text (also when no series of the metric
  // names a host); the samples held are kept (they age out).
  absl::Status ScrapeOnce();
  // Scrapes once before returning (at most `timeout`), then every interval on a thread of its
  // own.
  void Start();

  // Every host with a fresh sample, by host label value.
  std::map<std::string, PowerReading> Readings() const;

  // GPUs allocated on each Slurm node now (the cluster read the snapshot is built from); a
  // scrape integrates its hosts' power per allocated GPU with the newest allocation given.
  void SetAllocatedGpus(std::map<std::string, int> by_node);
  // The energy of Slurm node `node`'s GPUs over [from, to] (matched as FindReading does), or
  // nullopt when the source has no integral for it. Between two kept points the integrals are
  // taken as linear.
  std::optional<HostEnergy> EnergyOver(const std::string& node, absl::Time from,
                                       absl::Time to) const;

  struct Stats {
    std::string url;
    int64_t scrapes = 0;   // since start
    int64_t failures = 0;  // scrapes that failed, since start
    std::string error;     // the last failure while it lasts; empty once a scrape works
    absl::Time last_success = absl::InfinitePast();
    int hosts = 0;  // hosts with a fresh reading
  };
  Stats stats() const;

 private:
  struct Sample {
    absl::Time at;
    double watts_per_gpu;
    int gpus;
  };

  // The energy integrals of a host at one time (from the first scrape that saw it).
  struct EnergyPoint {
    absl::Time at;
    double joules = 0;
    double joules_per_allocated_gpu = 0;
    double covered_s = 0;
  };
  struct HostIntegral {
    // The last sample integrated: when, the host's GPU watts, watts per allocated GPU
    // (negative: allocation unknown).
    absl::Time at = absl::InfinitePast();
    double watts = 0;
    double watts_per_allocated_gpu = -1;
    std::deque<EnergyPoint> fine;    // one per scrape, the last energy_fine_for
    std::deque<EnergyPoint> coarse;  // older: one per energy_coarse_every, up to energy_keep
  };
  // Adds a scrape's sample of `host` to its integrals (mu_ held).
  void IntegrateLocked(const std::string& host, absl::Time at, double watts);
  // The integrals of `h` at time t (clamped to its first and last points).
  static EnergyPoint PointAt(const HostIntegral& h, absl::Time t);

  const PowerOptions options_;
  mutable std::mutex mu_;
  std::map<std::string, std::deque<Sample>> history_;  // by host; newest last
  std::map<std::string, HostIntegral> energy_;         // by host
  std::map<std::string, int> allocated_;               // by Slurm node name
  int64_t scrapes_ = 0;
  int64_t failures_ = 0;
  std::string error_;
  bool failing_ = false;
  bool ever_answered_ = false;
  absl::Time last_success_ = absl::InfinitePast();
  PeriodicWorker worker_;
};

}  // namespace sovereign::power
