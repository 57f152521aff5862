// Checks where each placed job really ran, and binds decisions to Slurm job ids.
//
// Every round it reads the jobs slurmctld knows (libslurm). For each job carrying the plugin's
// tag in admin_comment that has been given nodes, it appends one attestation record to the
// chain (AttestationRecord): the decision id, the job id, each node with its partitions and
// site, and "ok" or "violation", judged against the full residency rule (region, operator
// jurisdiction) of the register in force when the job started. A node's site comes from its
// site feature and its partitions, which must agree (SiteOfNode). A violation (a node outside
// the allowed sites: a changed slurm.conf, a manual scontrol, guards switched off, a bug) names
// the node, its site, the rule and the register, and is logged as an error.
//
// A tagged job whose decision never reached the log (the controller's machine lost the spool
// record in a power cut before its page cache was written) gets a decision record re-derived
// from the tag, marked "rederived", once the job is older than `rederive_after` (so that
// ordinary ingestion is never raced).
//
// It also records what became of every placed job (one outcome record each, audit_records.h):
// "ended" (state, exit code, end time), "cancelled" before it ran, or "never_ran" (another final
// state reached without running), when slurmctld shows the job in a final state; "not_created" for a placement by the plugin that no job in slurmctld
// carries `not_created_after` after its decision although the reconciler read the job table
// all along (slurmctld refused the job after the plugin had placed and spooled it, e.g. more
// nodes than the partition has); "unknown" for such a placement decided before the reconciler
// was watching (sovereignd was down, or slurmctld did not answer): it may never have been
// created, or have ended and been purged from slurmctld (MinJobAge) unseen.
//
// Cost per round, independent of how many jobs are queued: the whole job table is read (one
// slurm_load_jobs, with the previous answer's update time so that an unchanged table transfers
// nothing) only once `full_read_cost` times the last read's duration has passed, and at least
// every `max_full_read_interval`; with a short queue that is every round. In the rounds between,
// the jobs that start and end are learnt from the jobs that have steps (one
// slurm_get_job_steps, as long as the list of running jobs, though slurmctld walks its whole
// table to answer it: so it too is asked at most once per `full_read_cost` times its last
// duration) and those jobs are loaded one by one: a job is attested within a round of its first
// step on a short queue, within seconds on a long one.
// What only the whole table shows (a job cancelled while pending, a placement slurmctld never
// created, a pending job's binding to its decision) waits for the next full read. For each job
// only in-memory look-ups, and log reads and appends only for jobs that start or end and for
// placements newly ingested. Unexplained placements are read from the log once (from the start
// of the log at start-up, then only new ones), after full reads.
//
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "cluster_reader.h"
#include "records/job_energy.h"
#include "sovereign/audit_log.h"
#include "sovereign/cluster.h"
#include "sovereign/job_tag.h"
#include "sovereign/periodic_worker.h"
#include "sovereign/register.h"

namespace sovereign::service {

struct ReconcilerOptions {
  // How often jobs are read from slurmctld.
  std::chrono::milliseconds interval{5000};
  // A tagged job whose decision is still not in the log after this long gets a re-derived one.
  absl::Duration rederive_after = absl::Minutes(2);
  // Where jobs and nodes come from; the defaults read slurmctld through libslurm.
  std::function<absl::StatusOr<std::vector<slurm::JobRow>>()> read_jobs;
  std::function<absl::StatusOr<std::vector<NodeStatus>>()> read_nodes;
  // The node feature that names a site (the plugin's site_feature_prefix).
  std::string site_feature_prefix = "site_";
  // A placement no job carries this long after its decision, while the job table was read all
  // along, was never created. The job exists as soon as job_submit() returns: this only
  // covers clock differences and the spool's way into the log.
  absl::Duration not_created_after = absl::Seconds(30);
  // Between full reads of the job table: the ids of the jobs that have steps, and one job by id
  // (NOT_FOUND when slurmctld no longer knows it). The defaults ask slurmctld; a test that
  // gives read_jobs alone gets a full read every round.
  std::function<absl::StatusOr<std::vector<uint32_t>>()> read_running;
  std::function<absl::StatusOr<slurm::JobRow>(uint32_t)> read_job;
  // The whole table is read again once this many times the last read's duration has passed
  // (so that reading it takes at most 1/full_read_cost of the time: slurmctld spends about as
  // long packing it), and at least every max_full_read_interval (zero: 10 minutes). A tagged job
  // slurmctld forgets (MinJobAge after it ended) before a read sees it end gets the outcome
  // "unknown"; when reads come further apart than 4/5 of MinJobAge, a warning says which
  // MinJobAge would keep every outcome.
  int full_read_cost = 200;
  absl::Duration max_full_read_interval = absl::ZeroDuration();
  // slurmctld's MinJobAge, for that warning. The default asks slurmctld; a test that gives
  // read_jobs alone gets no warning.
  std::function<absl::StatusOr<absl::Duration>()> read_min_job_age;
  // Times the reads (how long the last full read took).
  std::function<absl::Time()> clock = absl::Now;
  // A power source's energy of a node's GPUs over a time range (PowerSource::EnergyOver), when
  // sovereignd has one: an "ended" outcome then carries the job's measured energy
  // (MeasureJobEnergy), written once the source has read its nodes after the job's end, or
  // `energy_patience` after the end with what it has.
  NodeEnergyFn node_energy;
  absl::Duration energy_patience = absl::Seconds(60);
  // Told of every job measured so, once its outcome is in the log (LearnedEnergy::Add).
  std::function<void(const std::string& partition, const MeasuredJobEnergy& energy,
                     absl::Time ended)>
      measured;
};

struct ReconcileStats {
  int attested = 0;
  int violations = 0;
  int rederived = 0;
  int ended = 0;        // outcomes "ended", "cancelled" and "never_ran"
  int not_created = 0;  // outcomes "not_created" and "unknown" (placements and forgotten jobs)
};

class Reconciler {
 public:
  // `register_at(t)` is the register that was in force at time t (null when none was).
  Reconciler(ReconcilerOptions options, audit::AuditLog* log,
             std::function<std::shared_ptr<const Register>(absl::Time)> register_at);
  ~Reconciler();
  Reconciler(const Reconciler&) = delete;
  Reconciler& operator=(const Reconciler&) = delete;

  absl::StatusOr<ReconcileStats> ReconcileOnce(absl::Time now);
  void Start();

  // Rounds of the background thread since Start(), those that failed, and the last failure's
  // text (empty once a round works again).
  int64_t rounds() const { return rounds_.load(); }
  int64_t failures() const { return failures_.load(); }
  std::string last_error() const;
  // Reads of the whole job table since start, and the last one that transferred a table: its
  // jobs and how long reading and handling them took.
  struct FullReads {
    int64_t count = 0;
    int64_t last_jobs = 0;
    absl::Duration last_took;
  };
  // What the reconciler keeps between rounds: tagged jobs it follows, decision ids of jobs seen
  // before the log's placement was read (until it is), placements no job carries yet.
  // As the last round left them (not waiting for a round in progress).
  struct Kept {
    size_t jobs = 0;
    size_t seen_ahead = 0;
    size_t awaiting = 0;
  };
  Kept kept() const;
  FullReads full_reads() const;

 private:
  // What is known of a tagged job in slurmctld's table.
  struct JobState {
    std::string decision_id;  // from its tag
    bool checked = false;   // the log's records of it have been read (at its first start or end)
    bool attested = false;  // where it ran is in the log
    bool ended = false;     // its outcome is in the log
  };
  void Run();
  // One round of ReconcileOnce, with mu_ held.
  absl::StatusOr<ReconcileStats> RoundLocked(absl::Time now);
  // Reads the job table a job at a time (slurm::VisitJobsChangedSince, or read_jobs): the
  // number of jobs, nullopt when unchanged. Sets pending_update_.
  absl::StatusOr<std::optional<int64_t>> ReadTable(const slurm::JobVisitor& visitor);
  // A job of a table read or loaded by id: binds it to its decision, then attests it and
  // records its outcome when due. Sets `again` when it must be looked at again next round.
  // Jobs without the plugin's tag are ignored (false).
  absl::StatusOr<bool> HandleJob(const slurm::JobRow& job, absl::Time now,
                                 std::optional<std::vector<NodeStatus>>& nodes,
                                 ReconcileStats& stats, bool& again);
  // The longest time between two full reads (ReconcilerOptions::max_full_read_interval).
  absl::Duration LongestBetweenFullReads() const;
  // Warns (once, until it no longer holds) when full reads come further apart than 4/5 of
  // slurmctld's MinJobAge.
  void WarnIfReadsOutlastMinJobAge();
  // Forgets the tagged jobs a full read no longer has (`present`: those it has); one that had
  // not ended gets the outcome "unknown".
  absl::Status ForgetPurged(const std::set<uint32_t>& present, absl::Time now,
                            ReconcileStats& stats);
  // A round between full reads: the jobs that started or stopped since, loaded by id.
  absl::Status FollowRunningJobs(absl::Time now, ReconcileStats& stats);
  // Attests and records the outcome of one tagged job. false: look again next round.
  absl::StatusOr<bool> ReconcileJob(const slurm::JobRow& job, const JobTag& tag,
                                    JobState& state, absl::Time now,
                                    std::optional<std::vector<NodeStatus>>& nodes,
                                    ReconcileStats& stats);
  // The measured energy of a job that ran and ended at `ended` (options_.node_energy).
  absl::StatusOr<MeasuredJobEnergy> MeasureEnergy(const slurm::JobRow& job, absl::Time ended,
                                                  absl::Time now);
  // Records "not_created" or "unknown" for placements no job carries.
  absl::Status ExplainPlacements(ReconcileStats& stats);

  const ReconcilerOptions options_;
  audit::AuditLog* const log_;
  const std::function<std::shared_ptr<const Register>(absl::Time)> register_at_;
  std::mutex mu_;
  std::atomic<int64_t> rounds_{0}, failures_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;  // guarded by error_mu_
  FullReads full_reads_;    // guarded by error_mu_
  Kept kept_;               // guarded by error_mu_: as the last round left it
  std::map<uint32_t, JobState> jobs_;  // tagged jobs of the last table read, by job id
  // Decision ids of jobs seen before their placement was read from the log (decision -> when
  // first seen): the placement is then known to have its job. Forgotten as the placement is
  // read, so that this holds about as many ids as the spool holds records not yet logged (an
  // hour at most, for a placement that never reaches the log).
  std::map<std::string, absl::Time> seen_decisions_;
  // Placements no job has carried yet: decision id -> its record. Read from the log past
  // `scanned_seq_`.
  std::map<std::string, audit::AuditRecord> awaiting_;
  int64_t scanned_seq_ = 0;
  // Running jobs without the plugin's tag, not loaded again until the next full read.
  std::set<uint32_t> untagged_running_;
  // When the job table was last read whole, and how long until the next full read.
  absl::Time last_full_read_ = absl::InfinitePast();
  absl::Time previous_full_read_ = absl::InfinitePast();  // the one before
  bool warned_min_job_age_ = false;
  absl::Duration full_read_interval_ = absl::ZeroDuration();
  // When the jobs with steps were last listed, and how long until they are listed again
  // (full_read_cost times as long as listing them took).
  absl::Time last_follow_ = absl::InfinitePast();
  absl::Duration follow_interval_ = absl::ZeroDuration();
  time_t slurm_update_ = 0;  // last_update of the last table fully handled (slurmctld's clock)
  time_t pending_update_ = 0;  // last_update of the last table read
  // Since when every job table read succeeded (InfiniteFuture: not watching), and when the
  // last one began.
  absl::Time watching_since_ = absl::InfiniteFuture();
  absl::Time last_read_ = absl::InfinitePast();
  PeriodicWorker worker_;  // runs Run() every options_.interval
};

}  // namespace sovereign::service
