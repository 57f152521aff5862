#include "slurm_loops/snapshot_publisher.h"

#include <sys/stat.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "cluster_reader.h"
#include "sovereign/file_io.h"
#include "sovereign/snapshot_file.h"
#include "spdlog/spdlog.h"

namespace sovereign::slurm {

SnapshotPublisher::SnapshotPublisher(PublisherOptions options,
                                     std::function<PublishedRegister()> current)
    : options_(std::move(options)), current_(std::move(current)) {
  // The plugin never takes a snapshot published before the one it holds: carry on after the
  // file an earlier sovereignd left, whatever the clock says now.
  if (auto left = snapshot::ReadSnapshotFile(options_.path); left.ok()) {
    last_stamp_ = (*left)->published_at;
  }
}

SnapshotPublisher::~SnapshotPublisher() { worker_.Stop(); }

void SnapshotPublisher::Start() {
  // Look for a new register twice a second; refresh the cluster view every `interval`.
  const auto tick =
      std::min<std::chrono::milliseconds>(options_.interval, std::chrono::milliseconds(500));
  worker_.Start(tick, PeriodicWorker::FirstRound::kAfterInterval, [this] { Run(); });
}

absl::Status SnapshotPublisher::last_cluster_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_cluster_error_;
}

absl::Status SnapshotPublisher::Publish() {
  std::lock_guard<std::mutex> lock(mu_);
  PublishedRegister r = current_();
  if (r.reg == nullptr) {
    return absl::FailedPreconditionError("no register in force: nothing to publish");
  }
  const absl::Time now = absl::Now();
  // Each publication is stamped after the one before, even when the clock has been set back
  // (the plugin would otherwise keep the older snapshot until the clock caught up).
  const absl::Time stamp = std::max(now, last_stamp_ + absl::Microseconds(1));
  if (stamp != now && !clock_behind_warned_) {
    clock_behind_warned_ = true;
    spdlog::warn(
        "snapshot {}: the clock reads {}, before the last publication ({}): "
        "publications are stamped after it until the clock catches up",
        options_.path, snapshot::FormatPublishedAt(now), snapshot::FormatPublishedAt(last_stamp_));
  } else if (stamp == now) {
    clock_behind_warned_ = false;
  }
  absl::StatusOr<ClusterSnapshot> cluster =
      options_.read_cluster ? options_.read_cluster(now) : ReadClusterSnapshot(now);
  if (cluster.ok()) {
    last_cluster_ = *std::move(cluster);
    last_cluster_error_ = absl::OkStatus();
    if (options_.cluster_read) {
      options_.cluster_read(last_cluster_);
    }
  } else {
    // Keep publishing the register: its cluster view ages and the plugin says so.
    last_cluster_error_ = cluster.status();
    ++cluster_read_failures_;
  }
  ClusterSnapshot published = last_cluster_;
  if (options_.power_readings) {
    AddMeasuredPower(options_.power_readings(), &published);
  }
  if (options_.learned_power) {
    AddLearnedPower(options_.learned_power(), *r.reg, &published);
  }
  published.carbon = CarbonSeriesLocked(*r.reg);
  for (SiteCarbon& site : published.carbon) {
    // What a decision from now on can meet: the plugin reads no year of history.
    site.series = std::make_shared<const CarbonSeries>(site.series->From(now));
  }
  // Read by slurmctld's user; nothing in it that every user may not read already (file_modes.h).
  absl::Status written = WriteFileAtomically(
      options_.path, snapshot::EncodeSnapshot(r.yaml, r.source, *r.reg, published, stamp),
      kPublicFileMode);
  if (written.ok()) {
    last_version_ = r.reg->version();
    last_published_ = now;
    last_stamp_ = stamp;
  } else {
    ++write_failures_;
    last_write_error_ = std::string(written.message());
  }
  return written;
}

std::vector<SiteCarbon> SnapshotPublisher::CarbonSeriesLocked(const Register& reg) {
  std::vector<SiteCarbon> out;
  if (options_.carbon_series_dir.empty()) {
    return out;
  }
  for (const Site& site : reg.sites()) {
    const std::string path = options_.carbon_series_dir + "/" + site.name + ".csv";
    SeriesFile& file = series_files_[site.name];
    struct stat st;
    const std::string identity =
        stat(path.c_str(), &st) != 0
            ? std::string()
            : absl::StrCat(st.st_size, ":", st.st_mtim.tv_sec, ".", st.st_mtim.tv_nsec);
    if (identity != file.identity) {
      file.identity = identity;
      if (identity.empty()) {
        if (file.good.has_value()) {
          spdlog::warn("carbon series {} is gone: {} is scored with the register's annual mean",
                       path, site.name);
        }
        file.good.reset();
      } else {
        absl::StatusOr<std::string> text = ReadFileToString(path);
        absl::StatusOr<CarbonSeries> series = text.ok()
                                                  ? CarbonSeries::Parse(*text, path)
                                                  : absl::StatusOr<CarbonSeries>(text.status());
        if (series.ok()) {
          file.good = SiteCarbon{site.name, path, options_.carbon_basis,
                                 std::make_shared<const CarbonSeries>(*std::move(series))};
          carbon_error_.clear();
          spdlog::info("carbon series {}: {} points, to {}", path,
                       file.good->series->points().size(),
                       snapshot::FormatPublishedAt(file.good->series->end()));
        } else {
          // Once per changed file; the site keeps its last good series, never a wrong figure.
          carbon_error_ = std::string(series.status().message());
          spdlog::warn(
              "{}; {} keeps {}", carbon_error_, site.name,
              file.good.has_value() ? "its last good series" : "the register's annual mean");
        }
      }
    }
    if (file.good.has_value()) {
      out.push_back(*file.good);
    }
  }
  return out;
}

SnapshotPublisher::Stats SnapshotPublisher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  Stats s;
  s.last_published = last_published_;
  s.write_failures = write_failures_;
  s.last_write_error = last_write_error_;
  s.cluster_read_failures = cluster_read_failures_;
  s.cluster_read_error = std::string(last_cluster_error_.message());
  for (const auto& [site, file] : series_files_) {
    s.carbon_series += file.good.has_value();
  }
  s.carbon_error = carbon_error_;
  return s;
}

void SnapshotPublisher::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  const bool due = absl::Now() - last_published_ >= absl::FromChrono(options_.interval);
  std::string last = last_version_;
  lock.unlock();
  PublishedRegister r = current_();
  if (due || (r.reg != nullptr && r.reg->version() != last)) {
    Publish().IgnoreError();  // the next round tries again; stats() reports
  }
}

void AddLearnedPower(const std::map<std::string, service::LearnedPartition>& learned,
                     const Register& reg, ClusterSnapshot* snapshot) {
  for (PartitionStatus& p : snapshot->partitions) {
    const int index = reg.PartitionIndex(p.name);
    auto it = learned.find(p.name);
    if (p.gpu_power.has_value() || index < 0 || it == learned.end()) {
      continue;
    }
    p.gpu_power = service::LearnedPower(it->second, reg.figures(index).gpu_watts,
                                        reg.policy().learned_energy_min_jobs);
  }
}

void AddMeasuredPower(const std::map<std::string, power::PowerReading>& readings,
                      ClusterSnapshot* snapshot) {
  if (readings.empty()) {
    return;
  }
  for (PartitionStatus& p : snapshot->partitions) {
    double watts = 0;
    int gpus = 0;
    absl::Time newest = absl::InfinitePast();
    for (const NodeStatus& node : snapshot->nodes) {
      if (std::find(node.partitions.begin(), node.partitions.end(), p.name) ==
          node.partitions.end()) {
        continue;
      }
      const power::PowerReading* r = power::FindReading(readings, node.name);
      if (r == nullptr || r->gpus <= 0) {
        continue;
      }
      watts += r->watts_per_gpu * r->gpus;
      gpus += r->gpus;
      newest = std::max(newest, r->newest);
    }
    if (gpus > 0) {
      p.gpu_power = MeasuredPower{watts / gpus, PowerFrom::kDcgm, newest};
    } else {
      p.gpu_power.reset();
    }
  }
}

}  // namespace sovereign::slurm
