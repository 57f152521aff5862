// What job_submit_sovereign.so does for each submission and modification, apart from Slurm's
// allocator and logging: translate the job, decide with the core against the newest good
// snapshot, write the decision to the spool, and say what to change in the job.
//
// The C-ABI shell (job_submit_sovereign.cc) owns one SubmitFilter for the plugin's lifetime
// and applies its answers with slurm_xstrdup/slurm_xfree. Everything here is testable in an
// ordinary process with a real snapshot file and spool directory.
//
// Thread-safety: Submit and Modify may be called concurrently (slurmctld serialises them, but
// tests need not).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "job_translate.h"
#include "sovereign/decision_id.h"
#include "sovereign/job_tag.h"
#include "sovereign/plugin_settings.h"
#include "sovereign/snapshot_file.h"
#include "sovereign/spool.h"

namespace sovereign::plugin {

// What to do with a submitted job.
struct SubmitAnswer {
  bool accept = false;
  int slurm_error = 0;       // an ESLURM_* code when refused
  // The researcher-facing reason when refused; when placed, what a green window did (shown by
  // sbatch as "sbatch: <message>"), else empty.
  std::string message;
  time_t begin_time = 0;     // set the job's begin time to this (a green window); 0 = keep
  std::string partition;     // set the job's partition to this
  std::string admin_comment; // the tag (previous admin_comment text, if any, is replaced)
  std::string features;      // the job's features with the region guard added; empty = keep
  std::string log_line;      // one line for slurmctld's log
};

// What to do with a modification of an existing job.
struct ModifyAnswer {
  bool accept = true;
  std::string log_line;  // why it was refused (22.05 cannot tell the user)
};

// slurmctld's log line for a change refused before the filter could judge it (the plugin not
// initialised, a job record it cannot read, an internal error): "sovereign: refused a change
// to job 12 by uid 1000: <why>", like the filter's own refusals.
std::string RefusedChangeLine(uint32_t job_id, uint32_t submit_uid, const std::string& why);

// What slurmctld knows of the job being modified, besides the change itself.
struct CurrentJob {
  uint32_t job_id = 0;
  const char* admin_comment = nullptr;  // the tag, or null
};

// Looks up a uid's name and groups. The default asks NSS (sovereign/unix_accounts.h), cached.
class UserDirectory {
 public:
  virtual ~UserDirectory() = default;
  virtual absl::StatusOr<UserInfo> Lookup(uint32_t uid) = 0;
};
std::unique_ptr<UserDirectory> NewNssUserDirectory(absl::Duration ttl);

// Where the filter writes what happens between submissions: slurmctld's log in the plugin.
// Either may be empty. Called from the snapshot watcher's thread.
struct FilterLog {
  std::function<void(const std::string&)> info;
  std::function<void(const std::string&)> error;
};

// The log line for a changed snapshot file that the watcher has read, once per change: the
// snapshot taken, with its publication time (RFC 3339, UTC, to the nanosecond, as in the
// file) and register,
//   "job_submit/sovereign: took snapshot /x published 2026-11-17T09:00:00.123456789+00:00
//    (register 6473ba8c23a2)"
// or why the new file was not taken and what the plugin decides from meanwhile,
//   "job_submit/sovereign: kept the snapshot published <time> (register <short>): <why>" /
//   "job_submit/sovereign: no snapshot to decide from: <why>; labelled jobs are refused until
//    sovereignd publishes one".
// `not_taken` and `current` are the watcher's (WatcherOptions::on_change). True in *is_error
// when the file was not taken.
std::string SnapshotChangeLine(const std::string& path, const absl::Status& not_taken,
                               const snapshot::LoadedSnapshot* current, bool* is_error);

class SubmitFilter {
 public:
  // Opens the spool (an error here is fatal for the plugin: it would have to refuse every
  // job) and starts watching the snapshot (a missing snapshot is not fatal: labelled jobs are
  // refused until one appears). Every later change of the snapshot file is logged to `log`
  // (SnapshotChangeLine): that is when the plugin starts deciding from a new snapshot.
  static absl::StatusOr<std::unique_ptr<SubmitFilter>> Create(
      PluginSettings options, std::unique_ptr<UserDirectory> users, FilterLog log = {});

  // `parent_admin_comment` is the admin_comment of the running job this one was submitted
  // from (ParentJobIds), as slurmctld holds it; null when there is none or it is gone. The
  // datasets of its tag add to the job's declared datasets; a parent without a tag adds
  // nothing; a malformed parent tag refuses the job.
  SubmitAnswer Submit(const job_desc_msg_t& desc, uint32_t submit_uid, absl::Time now,
                      const char* parent_admin_comment = nullptr);
  // Re-checks a change to a tagged job against the full residency rule of the register in
  // force, whoever asks (root and SlurmUser included): a partition, node list or feature
  // expression that reaches outside the sites the tag's datasets allow, an account or comment
  // that declares datasets the job was not placed for, or a tag that drops datasets, is
  // refused, and the refusal is spooled as an audit record. Jobs without a tag pass.
  ModifyAnswer Modify(const job_desc_msg_t& desc, const CurrentJob& job, uint32_t submit_uid,
                      absl::Time now);

  // The snapshot in use (null if none yet).
  std::shared_ptr<const snapshot::LoadedSnapshot> CurrentSnapshot() const {
    return watcher_->Current();
  }
  snapshot::SnapshotWatcher& watcher() { return *watcher_; }

 private:
  SubmitFilter(PluginSettings options, std::unique_ptr<UserDirectory> users,
               std::unique_ptr<spool::SpoolWriter> spool, FilterLog log);
  // By site index, whether some node of the snapshot's cluster carries the site feature
  // (computed once per snapshot); null when the snapshot lists no nodes.
  std::shared_ptr<const std::vector<char>> SitesWithNodes(
      const std::shared_ptr<const snapshot::LoadedSnapshot>& snap);
  // Refuses a modification: logs `why` and spools it as a rejected decision for the job.
  ModifyAnswer RefuseModify(const job_desc_msg_t& desc, const CurrentJob& job,
                            const JobTag& tag, uint32_t submit_uid, absl::Time now,
                            const std::string& register_version, std::string why);

  const PluginSettings options_;
  std::unique_ptr<UserDirectory> users_;
  std::unique_ptr<spool::SpoolWriter> spool_;
  std::unique_ptr<snapshot::SnapshotWatcher> watcher_;
  DecisionIds ids_;
  std::mutex sites_mu_;
  std::shared_ptr<const snapshot::LoadedSnapshot> sites_snapshot_;  // sites_with_nodes_ is of it
  std::shared_ptr<const std::vector<char>> sites_with_nodes_;
};

}  // namespace sovereign::plugin
