// The snapshot file: everything the Slurm plugin needs to decide on its own - the validated
// register (its YAML text and version) and the cluster view - published by sovereignd.
//
// Format: one header line, then a JSON body:
//   SOVEREIGN-SNAPSHOT 1 <body bytes> <lowercase hex SHA-256 of the body>\n
//   {"published_at": "...", "register_source": "register.yaml",
//    "register_version": "<sha256>", "register_yaml": "...", "cluster": {...}}
// The writer replaces the file atomically (write to a temporary file, fsync, rename), so a
// reader sees the old file or the new one, never a mix. The reader checks the length, the
// checksum, that the register parses and that its version is the one the body claims.
//
// Thread-safety: the functions are thread-compatible. SnapshotWatcher is thread-safe: its
// thread reloads the file when it changes, Current() may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sovereign/cluster.h"
#include "sovereign/periodic_worker.h"
#include "sovereign/placement.h"
#include "sovereign/register.h"

namespace sovereign::snapshot {

struct LoadedSnapshot {
  std::shared_ptr<const Register> reg;
  ClusterSnapshot cluster;
  ClusterView view;         // cluster bound to reg
  ClusterView static_view;  // every partition up and idle: used when `cluster` is too old
  absl::Time published_at = absl::InfinitePast();
};

// The cluster view a decision is made against: the snapshot's live view, or, when that view is
// older than `max_cluster_age`, the static one (every partition up and idle: residency is
// enforced as always, scoring uses the register's figures). The Slurm plugin and sovereignd's
// PlacementService both decide through this, so that the same snapshot gives the same answer.
struct ChosenView {
  const ClusterView* view = nullptr;
  bool stale = false;
};
ChosenView ChooseView(const LoadedSnapshot& snapshot, absl::Time now,
                      absl::Duration max_cluster_age);

// Says in a placed decision's reason that it was scored without a fresh cluster view.
void NoteStaleView(absl::Duration max_cluster_age, Decision* decision);

// A publication time as the snapshot holds it and messages quote it (RFC 3339, UTC, with as
// many fractional digits as it has).
std::string FormatPublishedAt(absl::Time published_at);

// Serialises a snapshot (header line and body).
std::string EncodeSnapshot(const std::string& register_yaml, const std::string& register_source,
                           const Register& reg, const ClusterSnapshot& cluster,
                           absl::Time published_at);

// Parses and checks a snapshot. INVALID_ARGUMENT / DATA_LOSS name what is wrong ("snapshot
// /x: checksum mismatch (file damaged or partially written)").
absl::StatusOr<std::shared_ptr<const LoadedSnapshot>> DecodeSnapshot(const std::string& bytes,
                                                                     const std::string& source);

// Reads and decodes `path`.
absl::StatusOr<std::shared_ptr<const LoadedSnapshot>> ReadSnapshotFile(const std::string& path);

struct WatcherOptions {
  // The snapshot file sovereignd publishes.
  std::string path = "/var/lib/sovereign/snapshot";
  // How often the file's identity (inode, size, mtime) is checked.
  std::chrono::milliseconds poll_interval{500};
  // Called each time a changed file has been read, after the constructor's first look, with
  // the snapshot in use afterwards: `not_taken` is OK when `current` is the new file's, or
  // says why the new file was not taken (`current` is then the last good one, or null). Runs
  // on the polling thread (or in CheckNow()'s caller), one call at a time, and may call
  // Current(); empty: nothing is called.
  std::function<void(const absl::Status& not_taken,
                     const std::shared_ptr<const LoadedSnapshot>& current)>
      on_change;
};

// Keeps the newest good snapshot in memory. A new file that cannot be read, fails its checks,
// or was published before the snapshot in use (an older copy put back) is ignored (the last
// good snapshot stays) and its error is kept for the log.
class SnapshotWatcher {
 public:
  // Loads the file once (a missing or bad file is not an error here: Current() is then null)
  // and starts the polling thread.
  explicit SnapshotWatcher(WatcherOptions options);
  ~SnapshotWatcher();
  SnapshotWatcher(const SnapshotWatcher&) = delete;
  SnapshotWatcher& operator=(const SnapshotWatcher&) = delete;

  // The newest good snapshot, or null if there has never been one.
  std::shared_ptr<const LoadedSnapshot> Current() const;
  // Why the newest file was not taken (OK when it was).
  absl::Status last_error() const;
  // Checks the file now (tests; the thread does this every poll_interval).
  void CheckNow();

 private:
  // Reads the file if it changed; calls on_change unless this is the constructor's look.
  void Look(bool first_look);

  const WatcherOptions options_;
  std::mutex look_mu_;  // held through a look at the file (never by Current())
  mutable std::mutex mu_;
  std::shared_ptr<const LoadedSnapshot> current_;
  absl::Status last_error_;
  std::string identity_;  // "<dev>:<ino>:<size>:<mtime ns>" of the file last looked at
  PeriodicWorker worker_;  // runs CheckNow() every options_.poll_interval
};

}  // namespace sovereign::snapshot
