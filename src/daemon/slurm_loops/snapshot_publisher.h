// Publishes the snapshot the job_submit plugin decides from: the register in force and the
// cluster as libslurm reports it, written atomically to one file.
//
// It republishes within half a second when the register in force changes (apply, rollback,
// reload), and on its own every `interval`, so that the plugin's cluster view stays fresh (the plugin treats a view
// older than its max_cluster_age as stale). When slurmctld does not answer, the last register
// is still published with the last cluster view it had, so residency never waits for Slurm.
//
// Thread-safety: Publish() may be called from any thread; the background thread is owned.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "power/power_source.h"
#include "records/learned_energy.h"
#include "sovereign/carbon_series.h"
#include "sovereign/cluster.h"
#include "sovereign/periodic_worker.h"
#include "sovereign/register.h"

namespace sovereign::slurm {

// What the publisher needs of the register in force: its validated model and YAML text.
struct PublishedRegister {
  std::shared_ptr<const Register> reg;
  std::string yaml;
  std::string source;  // file name, for diagnostics
};

struct PublisherOptions {
  // The snapshot file the plugin reads (its sovereign-plugin.conf `snapshot`).
  std::string path = "/var/lib/sovereign/snapshot";
  // Republish at least this often with a fresh cluster view.
  std::chrono::milliseconds interval{10000};
  // Where the cluster view comes from; the default reads slurmctld through libslurm.
  std::function<absl::StatusOr<ClusterSnapshot>(absl::Time)> read_cluster;
  // Grid carbon series, <site>.csv for each register site that has one, published with the
  // snapshot; empty: none.
  std::string carbon_series_dir;
  CarbonBasis carbon_basis = CarbonBasis::kLocation;
  // Live GPU power by host (PowerSource::Readings); unset: none, the register's figures.
  std::function<std::map<std::string, power::PowerReading>()> power_readings;
  // Called with every cluster read that worked (the power source learns each node's allocated
  // GPUs from it, PowerSource::SetAllocatedGpus).
  std::function<void(const ClusterSnapshot&)> cluster_read;
  // Each partition's finished jobs' measured energy (LearnedEnergy::Partitions): a partition
  // without a fresh live reading gets the learnt figure once enough jobs back it.
  std::function<std::map<std::string, service::LearnedPartition>()> learned_power;
};

// Sets the gpu_power of each partition that has none (no fresh live reading) to its learnt
// figure, when the register's policy.learned_energy_min_jobs jobs back it (LearnedPower).
void AddLearnedPower(const std::map<std::string, service::LearnedPartition>& learned,
                     const Register& reg, ClusterSnapshot* snapshot);

// Sets each partition's gpu_power from the readings of its nodes (snapshot->nodes, matched by
// power::FindReading): the mean watts per GPU weighted by each node's GPUs, stamped with the
// newest reading. A partition with no node read keeps none, and placement uses the register's
// gpu_watts there.
void AddMeasuredPower(const std::map<std::string, power::PowerReading>& readings,
                      ClusterSnapshot* snapshot);

class SnapshotPublisher {
 public:
  // `current` returns the register in force (called on every publication).
  SnapshotPublisher(PublisherOptions options, std::function<PublishedRegister()> current);
  ~SnapshotPublisher();
  SnapshotPublisher(const SnapshotPublisher&) = delete;
  SnapshotPublisher& operator=(const SnapshotPublisher&) = delete;

  // Reads the cluster and writes the file now. An unreachable slurmctld is reported but the
  // file is still written (with the previous cluster view); a write error is returned.
  absl::Status Publish();
  // Starts the periodic thread.
  void Start();
  // The last cluster read error (OK when the last read worked).
  absl::Status last_cluster_error() const;

  // What `sovereignctl status` shows of the publisher.
  struct Stats {
    absl::Time last_published = absl::InfinitePast();  // last successful write
    int64_t write_failures = 0;                         // since start
    std::string last_write_error;                       // of the last failed write
    int64_t cluster_read_failures = 0;                  // since start
    std::string cluster_read_error;                     // empty once a read works again
    int carbon_series = 0;          // sites published with a carbon series
    std::string carbon_error;       // the last series file that could not be taken, and why
  };
  Stats stats() const;

 private:
  void Run();
  // The carbon series of `reg`'s sites: each <site>.csv read again when it changed; one that
  // cannot be read or parsed keeps the site's last good series (or none) and is logged once.
  std::vector<SiteCarbon> CarbonSeriesLocked(const Register& reg);

  const PublisherOptions options_;
  const std::function<PublishedRegister()> current_;
  mutable std::mutex mu_;  // guards the members below and serialises Publish()
  ClusterSnapshot last_cluster_;
  absl::Status last_cluster_error_;
  std::string last_version_;  // register version last published
  absl::Time last_published_ = absl::InfinitePast();  // by the clock, for the interval
  absl::Time last_stamp_ = absl::InfinitePast();  // the newest publication time written
  bool clock_behind_warned_ = false;
  int64_t write_failures_ = 0;
  std::string last_write_error_;
  int64_t cluster_read_failures_ = 0;
  struct SeriesFile {
    std::string identity;  // "<size>:<mtime ns>" of the file last read
    std::optional<SiteCarbon> good;
  };
  std::map<std::string, SeriesFile> series_files_;  // by site
  std::string carbon_error_;
  PeriodicWorker worker_;  // runs Run() every half second (or every interval, if shorter)
};

}  // namespace sovereign::slurm
