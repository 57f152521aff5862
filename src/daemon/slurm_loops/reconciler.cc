#include "slurm_loops/reconciler.h"

#include <malloc.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "records/audit_records.h"
#include "sovereign/job_tag.h"
#include "spdlog/spdlog.h"

namespace sovereign::service {

Reconciler::Reconciler(ReconcilerOptions options, audit::AuditLog* log,
                       std::function<std::shared_ptr<const Register>(absl::Time)> register_at)
    : options_(std::move(options)), log_(log), register_at_(std::move(register_at)) {}

Reconciler::~Reconciler() { worker_.Stop(); }

void Reconciler::Start() {
  // The first round at once: placements made after sovereignd started are watched from then
  // on (one that no job carries is "not_created", not "unknown").
  worker_.Start(options_.interval, PeriodicWorker::FirstRound::kAtOnce, [this] { Run(); });
}

namespace {

// Placements read from the log per page, and pages per round (a long log is taken in over a
// few rounds at start-up).
constexpr int kPlacementPage = 1000;
constexpr int kPlacementPagesPerRound = 10;
// Decision ids of seen jobs are kept this long: far longer than a spooled record takes to
// reach the log.
constexpr absl::Duration kSeenMemory = absl::Hours(1);

}  // namespace

absl::StatusOr<std::optional<int64_t>> Reconciler::ReadTable(const slurm::JobVisitor& visitor) {
  pending_update_ = slurm_update_;
  if (!options_.read_jobs) {
    return slurm::VisitJobsChangedSince(slurm_update_, &pending_update_, visitor);
  }
  absl::StatusOr<std::vector<slurm::JobRow>> all = options_.read_jobs();
  if (!all.ok()) {
    return all.status();
  }
  visitor.loaded(/*changed=*/true);
  for (slurm::JobRow& job : *all) {
    if (absl::Status s = visitor.each(std::move(job)); !s.ok()) {
      return s;
    }
  }
  return std::optional<int64_t>(static_cast<int64_t>(all->size()));
}

absl::StatusOr<bool> Reconciler::HandleJob(const slurm::JobRow& job, absl::Time now,
                                           std::optional<std::vector<NodeStatus>>& nodes,
                                           ReconcileStats& stats, bool& again) {
  absl::StatusOr<JobTag> tag = ParseJobTag(job.admin_comment.c_str());
  if (!tag.ok()) {
    return false;  // not placed by the plugin
  }
  // Updated in place: what was appended stays known even when a later job fails the round.
  const bool awaited = awaiting_.erase(tag->decision_id) > 0;
  JobState& state = jobs_[job.job_id];
  if (state.decision_id.empty()) {
    state.decision_id = tag->decision_id;
    // First seen, and its placement not read from the log yet: remember that it has its job.
    if (!awaited) {
      seen_decisions_.try_emplace(tag->decision_id, now);
    }
  }
  if (!state.ended) {
    absl::StatusOr<bool> done = ReconcileJob(job, *tag, state, now, nodes, stats);
    if (!done.ok()) {
      return done.status();
    }
    again |= !*done;
  }
  return true;
}

absl::Duration Reconciler::LongestBetweenFullReads() const {
  return options_.max_full_read_interval > absl::ZeroDuration() ? options_.max_full_read_interval
                                                                 : absl::Minutes(10);
}

void Reconciler::WarnIfReadsOutlastMinJobAge() {
  absl::StatusOr<absl::Duration> age =
      options_.read_min_job_age ? options_.read_min_job_age()
      : options_.read_jobs      ? absl::UnavailableError("no MinJobAge given")
                                : slurm::ReadMinJobAge();
  const bool outlast =
      age.ok() && *age > absl::ZeroDuration() && full_read_interval_ > *age * 4 / 5;
  if (outlast && !warned_min_job_age_) {
    spdlog::warn(
        "reconciler: the job table ({} jobs, {} to read) is read every {}, which is more than "
        "4/5 of slurmctld's MinJobAge ({}): a job that ends and is forgotten in between gets the "
        "outcome \"unknown\" instead of how it ended; a MinJobAge of {} or more keeps every "
        "outcome",
        full_reads_.last_jobs, absl::FormatDuration(full_reads_.last_took),
        absl::FormatDuration(full_read_interval_), absl::FormatDuration(*age),
        absl::FormatDuration(absl::Ceil(full_read_interval_ * 5 / 4, absl::Seconds(1))));
  }
  warned_min_job_age_ = outlast;
}

absl::Status Reconciler::ForgetPurged(const std::set<uint32_t>& present, absl::Time now,
                                      ReconcileStats& stats) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    if (present.count(it->first) != 0) {
      ++it;
      continue;
    }
    if (!it->second.ended) {
      // Gone before sovereignd saw it end: say so, rather than leave the placement without an
      // outcome.
      absl::StatusOr<audit::AuditRecord> decision = log_->Get(it->second.decision_id);
      if (decision.ok()) {
        audit::AuditRecord outcome = PlacementOutcomeRecord(
            *decision, "unknown",
            absl::StrCat("slurmctld no longer knows job ", it->first,
                         " and sovereignd did not see it end: slurmctld forgets an ended job "
                         "after its MinJobAge, and its job table was last read ",
                         absl::FormatDuration(absl::Trunc(now - previous_full_read_,
                                                          absl::Seconds(1))),
                         " before"),
            now);
        outcome.job_id = it->first;
        if (absl::StatusOr<audit::AuditRecord> a = log_->Append(std::move(outcome)); !a.ok()) {
          return a.status();
        }
        ++stats.not_created;
      } else if (!absl::IsNotFound(decision.status())) {
        return decision.status();
      }
    }
    it = jobs_.erase(it);
  }
  return absl::OkStatus();
}

absl::Status Reconciler::FollowRunningJobs(absl::Time now, ReconcileStats& stats) {
  const absl::Time began = options_.clock();
  absl::StatusOr<std::vector<uint32_t>> running =
      options_.read_running ? options_.read_running() : slurm::ReadJobsWithSteps();
  last_follow_ = now;
  follow_interval_ = options_.full_read_cost * (options_.clock() - began);
  if (!running.ok()) {
    watching_since_ = absl::InfiniteFuture();  // what happens now may go unseen
    return running.status();
  }
  // Jobs that started (running, not attested yet) and jobs that stopped running (attested,
  // no outcome yet, no step left: ended, requeued or suspended).
  std::vector<uint32_t> look;
  for (uint32_t id : *running) {
    auto it = jobs_.find(id);
    if ((it == jobs_.end() && untagged_running_.count(id) == 0) ||
        (it != jobs_.end() && !it->second.attested && !it->second.ended)) {
      look.push_back(id);
    }
  }
  for (const auto& [id, state] : jobs_) {
    if (state.attested && !state.ended &&
        !std::binary_search(running->begin(), running->end(), id)) {
      look.push_back(id);
    }
  }
  std::optional<std::vector<NodeStatus>> nodes;
  bool again = false;
  for (uint32_t id : look) {
    absl::StatusOr<slurm::JobRow> job =
        options_.read_job ? options_.read_job(id) : slurm::ReadJob(id);
    if (absl::IsNotFound(job.status())) {
      continue;  // purged: the next full read forgets it
    }
    if (!job.ok()) {
      return job.status();
    }
    absl::StatusOr<bool> tagged = HandleJob(*job, now, nodes, stats, again);
    if (!tagged.ok()) {
      return tagged.status();
    }
    if (!*tagged) {
      untagged_running_.insert(id);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ReconcileStats> Reconciler::ReconcileOnce(absl::Time now) {
  std::lock_guard<std::mutex> lock(mu_);
  absl::StatusOr<ReconcileStats> stats = RoundLocked(now);
  // Copied for kept(), which status asks while a round (a full read: seconds) holds mu_.
  std::lock_guard<std::mutex> counters(error_mu_);
  kept_ = Kept{jobs_.size(), seen_decisions_.size(), awaiting_.size()};
  return stats;
}

absl::StatusOr<ReconcileStats> Reconciler::RoundLocked(absl::Time now) {
  ReconcileStats stats;
  const bool can_follow = !options_.read_jobs || (options_.read_running && options_.read_job);
  if (can_follow && last_full_read_ != absl::InfinitePast() &&
      now - last_full_read_ < full_read_interval_) {
    // Listing the jobs with steps walks slurmctld's whole job table too (~7 ms of its CPU per
    // 10,000 jobs queued, measured): paced by its cost like the full reads.
    if (now - last_follow_ < follow_interval_) {
      return stats;
    }
    if (absl::Status s = FollowRunningJobs(now, stats); !s.ok()) {
      return s;
    }
    return stats;
  }
  const absl::Time read_began = options_.clock();
  bool answered = false;
  std::optional<std::vector<NodeStatus>> nodes;
  bool again = false;  // a job to look at again next round, changed or not
  std::set<uint32_t> present;
  slurm::JobVisitor visitor;
  // Once slurmctld has answered (a table, or word that nothing changed), before any job is handled.
  visitor.loaded = [&](bool changed) {
    answered = true;
    if (watching_since_ == absl::InfiniteFuture()) {
      watching_since_ = now;
    }
    last_read_ = now;
    // The next full read once the time this one took, full_read_cost times over, has passed.
    const absl::Duration interval = absl::FromChrono(options_.interval);
    full_read_interval_ =
        std::min(std::max(options_.full_read_cost * (options_.clock() - read_began), interval),
                 std::max(LongestBetweenFullReads(), interval));
    previous_full_read_ = last_full_read_;
    last_full_read_ = now;
    if (changed) {
      untagged_running_.clear();
    }
  };
  visitor.each = [&](slurm::JobRow&& job) -> absl::Status {
    absl::StatusOr<bool> tagged = HandleJob(job, now, nodes, stats, again);
    if (!tagged.ok()) {
      return tagged.status();
    }
    if (*tagged) {
      present.insert(job.job_id);
    }
    return absl::OkStatus();
  };
  // Each job is handled as libslurm's answer is walked: no copy of the table is kept.
  absl::StatusOr<std::optional<int64_t>> jobs = ReadTable(visitor);
  if (!jobs.ok()) {
    if (!answered) {
      watching_since_ = absl::InfiniteFuture();  // what happens now may go unseen
      last_full_read_ = absl::InfinitePast();    // read it whole again next round
    }
    return jobs.status();
  }
  if (jobs->has_value()) {
    if (absl::Status s = ForgetPurged(present, now, stats); !s.ok()) {
      return s;
    }
    if (!again) {
      slurm_update_ = pending_update_;
    }
    {
      std::lock_guard<std::mutex> counters(error_mu_);
      full_reads_.last_jobs = **jobs;
      full_reads_.last_took = options_.clock() - read_began;
    }
    WarnIfReadsOutlastMinJobAge();
    // Hand back the memory of libslurm's answer (freed already), rather than keep the peak of
    // the largest read for the daemon's lifetime.
    malloc_trim(0);
  }
  {
    std::lock_guard<std::mutex> counters(error_mu_);
    ++full_reads_.count;
  }
  for (auto it = seen_decisions_.begin(); it != seen_decisions_.end();) {
    it = now - it->second > kSeenMemory ? seen_decisions_.erase(it) : std::next(it);
  }
  if (absl::Status s = ExplainPlacements(stats); !s.ok()) {
    return s;
  }
  return stats;
}

absl::StatusOr<bool> Reconciler::ReconcileJob(const slurm::JobRow& job, const JobTag& tag,
                                              JobState& state, absl::Time now,
                                              std::optional<std::vector<NodeStatus>>& nodes,
                                              ReconcileStats& stats) {
  // Not started yet: no nodes, or a CONFIGURING job still waiting for its PrologSlurmctld,
  // which may refuse it.
  const bool started =
      !job.nodes.empty() && job.state != "PENDING" && job.state != "CONFIGURING";
  const bool final_state = IsFinalJobState(job.state);
  if (!final_state && (!started || state.attested)) {
    return true;  // nothing to record until it starts, or until it ends
  }
  if (!state.checked) {
    // Something to record, and this sovereignd has not recorded anything about the job yet:
    // what the log already holds (written before a restart). Read only now, so that a queue
    // of pending jobs costs no log reads.
    audit::AuditQuery seen;
    seen.job_id = job.job_id;
    seen.limit = 100;
    absl::StatusOr<std::vector<audit::AuditRecord>> prior = log_->List(seen);
    if (!prior.ok()) {
      return prior.status();
    }
    for (const audit::AuditRecord& r : *prior) {
      if (r.job_id == job.job_id) {
        state.attested |= r.kind == audit::RecordKind::kAttestation;
        state.ended |= r.kind == audit::RecordKind::kOutcome;
      }
    }
    state.checked = true;
    if (state.ended || (!final_state && state.attested)) {
      return true;
    }
  }
  absl::StatusOr<audit::AuditRecord> decision = log_->Get(tag.decision_id);
  if (!decision.ok() && decision.status().code() != absl::StatusCode::kNotFound) {
    return decision.status();
  }
  if (started && !state.attested) {
    // Judged under the register in force when the job started, whatever came after.
    const absl::Time start = job.start_time != absl::InfinitePast() ? job.start_time : now;
    std::shared_ptr<const Register> reg = register_at_ ? register_at_(start) : nullptr;
    if (reg == nullptr) {
      return false;  // no register known for that time yet: nothing to judge against
    }
    if (!decision.ok()) {
      if (now - job.start_time < options_.rederive_after) {
        return false;  // ingestion is probably just behind: look again next round
      }
      decision = log_->Append(RederivedDecisionRecord(job, tag, now));
      if (!decision.ok()) {
        return decision.status();
      }
      ++stats.rederived;
      spdlog::warn("decision {} of job {} re-derived from its tag", tag.decision_id, job.job_id);
    }
    if (!nodes.has_value()) {
      auto read = options_.read_nodes ? options_.read_nodes() : slurm::ReadNodes();
      if (!read.ok()) {
        return read.status();
      }
      nodes = *std::move(read);
    }
    Attestation attestation = AttestationRecord(job, tag, *decision, *reg, *nodes,
                                                options_.site_feature_prefix, now);
    if (!attestation.violations.empty()) {
      spdlog::error("job {} (decision {}) ran outside the sites its datasets allow under "
                    "register {}: {}",
                    job.job_id, tag.decision_id, reg->short_version(),
                    absl::StrJoin(attestation.violations, "; "));
      ++stats.violations;
    }
    absl::StatusOr<audit::AuditRecord> appended = log_->Append(std::move(attestation.record));
    if (!appended.ok()) {
      return appended.status();
    }
    state.attested = true;
    ++stats.attested;
  }
  if (!final_state) {
    return true;
  }
  if (!decision.ok()) {
    return false;  // its placement is not in the log yet
  }
  const absl::Time ended = job.end_time != absl::InfinitePast() ? job.end_time : now;
  std::optional<absl::StatusOr<MeasuredJobEnergy>> energy;
  if (started && options_.node_energy) {
    energy = MeasureEnergy(job, ended, now);
    if (absl::IsUnavailable(energy->status())) {
      return false;  // the power source has not read the job's nodes since it ended
    }
  }
  absl::StatusOr<audit::AuditRecord> outcome =
      log_->Append(JobOutcomeRecord(job, started, *decision, now, energy ? &*energy : nullptr));
  if (!outcome.ok()) {
    return outcome.status();
  }
  if (energy.has_value() && energy->ok() && options_.measured) {
    options_.measured(job.partition, **energy, ended);
  }
  state.ended = true;
  ++stats.ended;
  return true;
}

absl::StatusOr<MeasuredJobEnergy> Reconciler::MeasureEnergy(const slurm::JobRow& job,
                                                            absl::Time ended, absl::Time now) {
  JobEnergyInput in;
  in.nodes = slurm::ExpandHostList(job.nodes);
  in.gpus = job.gpus_allocated;
  in.start = job.start_time;
  in.end = ended;
  // The rest of the node and the facility, as the register in force at the start has them.
  std::shared_ptr<const Register> reg = register_at_ ? register_at_(in.start) : nullptr;
  const int partition = reg != nullptr ? reg->PartitionIndex(job.partition) : -1;
  if (partition < 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "partition ", job.partition, " is not in the register in force at the job's start"));
  }
  in.node_watts = reg->figures(partition).node_watts;
  in.pue = reg->figures(partition).pue;
  return MeasureJobEnergy(options_.node_energy, in, now, options_.energy_patience);
}

absl::Status Reconciler::ExplainPlacements(ReconcileStats& stats) {
  for (int page = 0; page < kPlacementPagesPerRound; ++page) {
    absl::StatusOr<std::vector<audit::AuditRecord>> placed =
        log_->UnexplainedPlacements(scanned_seq_, kPlacementPage);
    if (!placed.ok()) {
      return placed.status();
    }
    for (audit::AuditRecord& r : *placed) {
      scanned_seq_ = r.seq;
      if (seen_decisions_.erase(r.decision_id) == 0) {
        // Kept until a job carries it, possibly minutes on a long queue: only what the outcome
        // record needs (the body, ~2 KB, is most of a record).
        r.body_json = std::string();
        r.caller = r.prev_hash = r.hash = std::string();
        std::string id = r.decision_id;
        awaiting_.emplace(std::move(id), std::move(r));
      }
    }
    if (static_cast<int>(placed->size()) < kPlacementPage) {
      break;
    }
  }
  // The job table read at last_read_ holds every job created since watching_since_ (slurmctld
  // keeps ended jobs for MinJobAge, minutes, and the table is read every few seconds).
  for (auto it = awaiting_.begin(); it != awaiting_.end();) {
    const audit::AuditRecord& placement = it->second;
    if (last_read_ - placement.time < options_.not_created_after) {
      ++it;
      continue;
    }
    const bool watched = placement.time >= watching_since_;
    const std::string why =
        watched ? absl::StrCat("no job carrying this decision appeared in slurmctld's job table "
                               "within ",
                               absl::FormatDuration(options_.not_created_after),
                               " of the decision, while sovereignd read it: slurmctld refused "
                               "the job after the plugin had placed it")
                : absl::StrCat("slurmctld knows no job carrying this decision, and sovereignd "
                               "was not reading its job table when the decision was made (it "
                               "has been since ",
                               absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", watching_since_,
                                                absl::UTCTimeZone()),
                               "): the job was never created, or it ended and slurmctld "
                               "forgot it unseen");
    absl::StatusOr<audit::AuditRecord> appended = log_->Append(
        PlacementOutcomeRecord(placement, watched ? "not_created" : "unknown", why, last_read_));
    if (!appended.ok()) {
      return appended.status();
    }
    ++stats.not_created;
    it = awaiting_.erase(it);
  }
  return absl::OkStatus();
}

Reconciler::Kept Reconciler::kept() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return kept_;
}

std::string Reconciler::last_error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return last_error_;
}

Reconciler::FullReads Reconciler::full_reads() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return full_reads_;
}

void Reconciler::Run() {
  absl::StatusOr<ReconcileStats> s = ReconcileOnce(absl::Now());
  ++rounds_;
  if (!s.ok()) {
    ++failures_;
    spdlog::warn("reconciler: {}", std::string(s.status().message()));
  }
  std::lock_guard<std::mutex> error_lock(error_mu_);
  last_error_ = s.ok() ? "" : std::string(s.status().message());
}

}  // namespace sovereign::service
