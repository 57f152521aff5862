// Nothing lost, nothing let in: faults under load. Held jobs are submitted through libslurm, as
// fast as one thread goes, by researchers of the example register with a mix of datasets, while
// things fail:
// - the daemons: sovereignd is SIGKILLed and started again twice, slurmctld restarted once;
// - the files between them: the snapshot replaced by garbage, by an older snapshot, and deleted;
//   the spool's filesystem full; the spool writer stopped in the middle of a record.
// Afterwards: no job slurmctld holds is outside the sites its datasets allow under the register
// (read here from the register file, not from the plugin's answer) or was placed from another
// register than the one in force, every job's decision is in the audit log exactly once, no
// decision record is there twice, and the chain verifies.
//
// kJobs is the issue's 2,000: on the 2-core development machine each test, cluster up and down
// included, takes 15-30 s, so the figure needs no lowering.
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cluster_reader.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "sovereign/audit_log.h"
#include "sovereign/file_io.h"
#include "sovereign/job_tag.h"
#include "sovereign/register.h"
#include "sovereign/snapshot_file.h"
#include "sovereign/spool.h"
#include "support/child_process.h"
#include "support/daemon_cluster.h"
#include "support/held_jobs.h"
#include "support/minicluster.h"

extern "C" {
#include <slurm/slurm_errno.h>
}

namespace sovereign::e2e {
namespace {

constexpr int kJobs = 2000;
// A fault may lag its point in the stream by at most this many submissions: the submitter waits
// for it there, so that every fault happens while jobs are being submitted.
constexpr int kSlack = kJobs / 20;
// A submission that cannot reach slurmctld (restarting) is tried again, this often at most.
constexpr int kMaxTries = 400;
constexpr absl::Duration kRetryPause = absl::Milliseconds(25);

// One kind of submission of the mix: who, which dataset, and whether the register lets that
// user use it.
struct Kind {
  const char* user;
  const char* dataset;
  bool allowed;
};
const Kind kMix[] = {
    {kAlice, "patients-eu", true},      // region eu, EU operators only: paris-1, munich-1
    {kPriya, "finance-in", true},       // region in: mumbai-1
    {kAlice, "imagenet-public", true},  // anywhere
    {kAlice, "patients-eu", true},     {kBob, "patients-eu", false},  // not in group oncology
    {kPriya, "finance-in", true},      {kBob, "imagenet-public", true},
    {kBob, "finance-in", false},  // not in group fintech
};
constexpr int kKinds = sizeof(kMix) / sizeof(kMix[0]);

// What became of one submission.
struct Attempt {
  absl::Time sent, answered;
  uint32_t job_id = 0;
  int error = 0;  // the last error, when no job id came back
  std::string error_text;
  int tries = 0;
};

// The faults, each at its point in the stream of submissions.
struct Fault {
  int at;  // once this many submissions are done
  std::string what;
  std::function<absl::Status()> act;
};

// The submitter's progress and the faults done, shared with the thread that causes them.
class Progress {
 public:
  void Submitted() {
    std::lock_guard<std::mutex> lock(mu_);
    ++done_;
    cv_.notify_all();
  }
  void FaultDone() {
    std::lock_guard<std::mutex> lock(mu_);
    ++faults_;
    cv_.notify_all();
  }
  void Abort() {
    std::lock_guard<std::mutex> lock(mu_);
    aborted_ = true;
    cv_.notify_all();
  }
  // Waits (bounded) until `done` submissions are done; false on timeout or abort.
  bool WaitForSubmissions(int done, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
      return done_ >= done || aborted_;
    }) && !aborted_;
  }
  // Waits (bounded) until `faults` faults are done; false on timeout or abort.
  bool WaitForFaults(int faults, absl::Duration timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, absl::ToChronoNanoseconds(timeout), [&] {
      return faults_ >= faults || aborted_;
    }) && !aborted_;
  }
  int done() {
    std::lock_guard<std::mutex> lock(mu_);
    return done_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int done_ = 0;
  int faults_ = 0;
  bool aborted_ = false;
};

// What a stream of submissions under faults gave.
struct LoadRun {
  std::vector<Attempt> attempts;  // submission i is of kind i % kKinds
  std::vector<std::string> fault_log;
  absl::Status faults;  // the first fault that failed
  absl::Duration took;
  std::string libslurm_err;  // file holding what libslurm printed (the refusals' messages)
};

// What slurmctld answered the submissions.
struct Answers {
  int accepted = 0, refused = 0;
  int excused = 0;     // refusals of allowed jobs that the fault explains
  int unexpected = 0;  // answers the register does not explain (each a failure)
  std::map<std::string, int> refusal_texts;
  std::set<uint32_t> accepted_ids;
};

// Tallies the answers: each must be what the register says of its kind, unless `excused`
// (when given) explains a refusal.
Answers Tally(const LoadRun& run, const std::function<bool(const Attempt&)>& excused = nullptr) {
  Answers t;
  for (int i = 0; i < kJobs; ++i) {
    const Attempt& a = run.attempts[i];
    const Kind& kind = kMix[i % kKinds];
    if (a.job_id != 0) {
      ++t.accepted;
      t.accepted_ids.insert(a.job_id);
    } else {
      ++t.refused;
      ++t.refusal_texts[a.error_text];
      if (excused && excused(a)) {
        ++t.excused;
        continue;
      }
    }
    if ((a.job_id != 0) != kind.allowed) {
      ++t.unexpected;
      ADD_FAILURE() << "submission " << i << " (" << kind.user << ", " << kind.dataset << ") was "
                    << (a.job_id != 0 ? "accepted" : "refused: " + a.error_text) << " after "
                    << a.tries << " tries";
    }
  }
  return t;
}

// What the cluster and the audit log hold afterwards.
struct Outcome {
  size_t in_table = 0;
  std::map<std::string, int> by_region;
  int outside = 0;
  size_t records = 0, decisions = 0;
  int placed = 0, rejected = 0, duplicated = 0, missing = 0;
  bool chain_verifies = false;
};

class FaultsE2ETest : public DaemonClusterTest {
 protected:
  // The researchers' held jobs of kMix, and libslurm pointed at the cluster.
  void PrepareJobs() {
    EnsureResearchers();
    ASSERT_TRUE(slurm::InitSlurm(cluster_->slurm_conf()).ok());
    jobs_.resize(kKinds);
    for (int k = 0; k < kKinds; ++k) {
      const passwd* pw = getpwnam(kMix[k].user);
      ASSERT_NE(pw, nullptr) << kMix[k].user;
      uids_[kMix[k].user] = pw->pw_uid;
      jobs_[k] = {.uid = pw->pw_uid,
                  .gid = pw->pw_gid,
                  .comment = absl::StrCat("dataset:", kMix[k].dataset),
                  .gpus = 1,
                  .name = "faults"};
    }
  }

  // Submits kJobs held jobs (job i of kind i % kKinds) from one thread while this thread causes
  // each fault at its point. The submitter waits before job i until every fault due kSlack jobs
  // earlier is done; a submission that does not reach slurmctld is tried again. libslurm prints
  // the message of every refusal on stderr: kept in a file of the cluster's logs.
  LoadRun SubmitUnderFaults(const std::vector<Fault>& faults) {
    LoadRun run;
    run.attempts.resize(kJobs);
    run.libslurm_err = cluster_->log_dir() + "/libslurm.err";
    const int saved_stderr = dup(2);
    const int err_fd =
        open(run.libslurm_err.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    EXPECT_GE(err_fd, 0) << run.libslurm_err;
    fflush(stderr);
    dup2(err_fd, 2);
    close(err_fd);
    Progress progress;
    const absl::Time started = absl::Now();
    std::thread submitter([&] {
      size_t next_fault = 0;
      for (int i = 0; i < kJobs; ++i) {
        while (next_fault < faults.size() && faults[next_fault].at + kSlack <= i) {
          ++next_fault;
        }
        if (!progress.WaitForFaults(static_cast<int>(next_fault), absl::Seconds(60))) {
          return;
        }
        Attempt& a = run.attempts[i];
        a.sent = absl::Now();
        for (a.tries = 1; a.tries <= kMaxTries; ++a.tries) {
          testing::SubmitOutcome r = testing::SubmitHeldJob(jobs_[i % kKinds]);
          a.job_id = r.job_id;
          a.error = r.error;
          a.error_text = r.error_text;
          a.answered = absl::Now();
          if (r.ok() || !testing::IsCommunicationError(r.error)) {
            break;
          }
          absl::SleepFor(kRetryPause);
        }
        progress.Submitted();
      }
    });
    for (const Fault& f : faults) {
      if (!progress.WaitForSubmissions(f.at, absl::Seconds(60))) {
        run.faults = absl::DeadlineExceededError(
            absl::StrCat("submissions stalled at ", progress.done(), " before: ", f.what));
        break;
      }
      const absl::Time t0 = absl::Now();
      const int at = progress.done();
      run.faults = f.act();
      run.fault_log.push_back(absl::StrCat(f.what, " after ", at, " submissions (",
                                           absl::FormatDuration(absl::Now() - t0), ")"));
      if (!run.faults.ok()) {
        break;
      }
      progress.FaultDone();
    }
    if (!run.faults.ok()) {
      progress.Abort();
    }
    submitter.join();
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    run.took = absl::Now() - started;
    if (run.faults.ok() && progress.done() != kJobs) {
      run.faults = absl::InternalError(absl::StrCat("only ", progress.done(), " submissions"));
    }
    return run;
  }

  // Waits (bounded) until sovereignd has moved everything spooled into the audit log: no spool
  // backlog, and the log's record count unchanged since the previous look (the ingester reads
  // before it commits, so a backlog of 0 alone can come a moment early).
  absl::Status WaitUntilIngested(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    int64_t last_count = -1;
    nlohmann::json status;
    while (absl::Now() < deadline) {
      status = Status();
      const int64_t count = static_cast<int64_t>(Rows(audit_db()).size());
      if (Count(status, "spool_backlog_bytes") == 0 && count == last_count) {
        return absl::OkStatus();
      }
      last_count = Count(status, "spool_backlog_bytes") == 0 ? count : -1;
      absl::SleepFor(absl::Milliseconds(300));
    }
    return absl::DeadlineExceededError(absl::StrCat("sovereignd has not ingested the spool after ",
                                                    absl::FormatDuration(timeout), ": ",
                                                    status.dump()));
  }

  // Checks every job slurmctld holds, whether or not its submitter heard back (a job whose
  // answer was lost in a restart is checked like the others), against `reg` read from its file:
  // it is a job of the mix the register allows, tagged by the plugin from `reg` itself, in a
  // partition at a site its dataset allows, with that site's guard. Then that every such job's
  // decision is in the audit log exactly once, no decision is there twice, and the chain
  // verifies. `accepted` are the ids slurmctld answered.
  Outcome CheckTableAndLog(const Register& reg, const std::set<uint32_t>& accepted) {
    Outcome out;
    absl::StatusOr<std::vector<slurm::JobRow>> table = slurm::ReadJobs();
    EXPECT_TRUE(table.ok()) << table.status();
    if (!table.ok()) {
      return out;
    }
    std::set<uint32_t> in_table;
    std::vector<std::pair<uint32_t, std::string>> tagged;  // job id, decision id
    for (const slurm::JobRow& job : *table) {
      in_table.insert(job.job_id);
      auto tag = ParseJobTag(job.admin_comment.c_str());
      if (!tag.ok()) {
        ++out.outside;
        ADD_FAILURE() << "job " << job.job_id << " carries no sovereign tag: " << tag.status()
                      << " (AdminComment=" << job.admin_comment << ")";
        continue;
      }
      tagged.emplace_back(job.job_id, tag->decision_id);
      EXPECT_EQ(tag->register_version, reg.short_version())
          << "job " << job.job_id << " was placed from another register: " << job.admin_comment;
      // What its user declared, and whether the register lets that user use it.
      absl::string_view declared = job.comment;
      EXPECT_TRUE(absl::ConsumePrefix(&declared, "dataset:")) << job.comment;
      const bool allowed_user = std::any_of(std::begin(kMix), std::end(kMix), [&](const Kind& k) {
        return k.allowed && uids_[k.user] == job.user_id && declared == k.dataset;
      });
      EXPECT_TRUE(allowed_user) << "job " << job.job_id << " of uid " << job.user_id
                                << " declaring " << declared << " was let in";
      EXPECT_EQ(tag->datasets, std::vector<std::string>{std::string(declared)})
          << job.admin_comment;
      // Its partition's site and region, and the dataset's rule, from the register file.
      const Partition* partition = reg.FindPartition(job.partition);
      const Dataset* dataset = reg.FindDataset(std::string(declared));
      const Site* site = partition == nullptr ? nullptr : reg.FindSite(partition->site);
      const bool region_ok = dataset != nullptr && site != nullptr &&
                             std::find(dataset->regions.begin(), dataset->regions.end(),
                                       site->region) != dataset->regions.end();
      const bool operator_ok =
          dataset != nullptr && site != nullptr &&
          (dataset->jurisdictions.empty() ||
           std::find(dataset->jurisdictions.begin(), dataset->jurisdictions.end(),
                     site->operator_jurisdiction) != dataset->jurisdictions.end());
      if (!region_ok || !operator_ok) {
        ++out.outside;
        ADD_FAILURE() << "job " << job.job_id << " (" << declared << ") is in partition "
                      << job.partition << " at site " << (site ? site->name : "(none)")
                      << ", which " << declared << " does not allow";
        continue;
      }
      ++out.by_region[site->region];
      EXPECT_EQ(tag->region, site->region) << "job " << job.job_id << ": " << job.admin_comment;
      EXPECT_TRUE(absl::StrContains(job.features, "site_" + site->name))
          << "job " << job.job_id << " has no guard for its site: " << job.features;
    }
    for (uint32_t id : accepted) {
      EXPECT_TRUE(in_table.count(id)) << "accepted job " << id << " is not in slurmctld's table";
    }
    EXPECT_GE(in_table.size(), accepted.size());
    out.in_table = in_table.size();

    const std::vector<Row> rows = Rows(audit_db());
    out.records = rows.size();
    std::map<std::string, int> decisions;
    std::map<std::string, std::string> verdicts;
    for (const Row& r : rows) {
      if (r.kind == 0) {
        ++decisions[r.decision_id];
        verdicts[r.decision_id] = r.verdict;
        out.placed += r.verdict == "place";
        out.rejected += r.verdict == "reject";
      }
    }
    out.decisions = decisions.size();
    for (const auto& [id, n] : decisions) {
      if (n != 1) {
        ++out.duplicated;
        ADD_FAILURE() << "decision " << id << " is in the log " << n << " times";
      }
    }
    for (const auto& [job, decision] : tagged) {
      if (decisions.count(decision) == 0) {
        ++out.missing;
        ADD_FAILURE() << "job " << job << ": its decision " << decision << " is not in the log";
      } else {
        EXPECT_EQ(verdicts[decision], "place") << "job " << job << ", decision " << decision;
      }
    }
    EXPECT_EQ(out.outside, 0);
    EXPECT_EQ(out.duplicated, 0);
    EXPECT_EQ(out.missing, 0);
    audit::VerifyReport verified = audit::VerifyDatabase(audit_db(), PublicKey(audit_db()));
    EXPECT_TRUE(verified.ok) << verified.problem;
    out.chain_verifies = verified.ok;
    return out;
  }

  // Prints the figures of a run.
  static void Report(const LoadRun& run, const Answers& answers, const Outcome& out,
                     absl::Duration settling) {
    std::string regions, refusals;
    for (const auto& [region, n] : out.by_region) {
      absl::StrAppend(&regions, regions.empty() ? "" : ", ", region, " ", n);
    }
    for (const auto& [text, n] : answers.refusal_texts) {
      absl::StrAppend(&refusals, "\n  ", n, " x ", text);
    }
    int retried = 0;
    for (const Attempt& a : run.attempts) {
      retried += a.tries > 1;
    }
    printf("faults: %s\n", absl::StrJoin(run.fault_log, "; ").c_str());
    printf(
        "submitted %d in %s (%d needed more than one try, slurmctld down); accepted %d, "
        "refused %d (libslurm's messages in %s):%s\n",
        kJobs, absl::FormatDuration(run.took).c_str(), retried, answers.accepted, answers.refused,
        run.libslurm_err.c_str(), refusals.c_str());
    printf("slurmctld holds %zu jobs (%s), %d outside their allowed sites\n", out.in_table,
           regions.c_str(), out.outside);
    printf(
        "audit log: %zu records, %zu decisions (%d place, %d reject), %d duplicated, %d jobs "
        "without their decision; ingested %s after the last submission; chain %s\n",
        out.records, out.decisions, out.placed, out.rejected, out.duplicated, out.missing,
        absl::FormatDuration(settling).c_str(), out.chain_verifies ? "verifies" : "BROKEN");
    ::testing::Test::RecordProperty("accepted", answers.accepted);
    ::testing::Test::RecordProperty("refused", answers.refused);
    ::testing::Test::RecordProperty("decisions_logged", static_cast<int>(out.decisions));
  }

  std::map<std::string, uid_t> uids_;
  std::vector<testing::HeldJob> jobs_;
};

TEST_F(FaultsE2ETest, NothingIsLostAndNothingLetInWhileTheDaemonsFail) {
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_NO_FATAL_FAILURE(PrepareJobs());
  auto reg = Register::Load(state_ + "/register.yaml");
  ASSERT_TRUE(reg.ok()) << reg.status();

  const std::function<absl::Status()> kill_daemon = [&] {
    KillDaemon();
    return absl::OkStatus();
  };
  const std::function<absl::Status()> start_daemon = [&] {
    LaunchDaemon();
    return HasFatalFailure() ? absl::InternalError("sovereignd did not start") : absl::OkStatus();
  };
  // After its restart slurmctld shows every node UNKNOWN until the node's slurmd registers
  // again (seconds). The fault lasts until the plugin holds a cluster view sovereignd read after
  // the restart; submissions go on meanwhile and after, while nodes are still registering, and
  // no allowed job may be refused for it (the view counts an UNKNOWN node as up).
  std::string nodes_at_view;  // node states when the plugin took that view
  const std::function<absl::Status()> restart_slurmctld = [&]() -> absl::Status {
    if (absl::Status s = cluster_->RestartController(); !s.ok()) {
      return s;
    }
    if (absl::Status s = WaitForAPublicationAfter(absl::Now()); !s.ok()) {
      return s;
    }
    CommandResult states = cluster_->Run({"sinfo", "-h", "-o", "%D %t"});
    nodes_at_view = absl::StrJoin(absl::StrSplit(states.out, '\n', absl::SkipEmpty()), ", ");
    return absl::OkStatus();
  };
  const LoadRun run = SubmitUnderFaults({
      {kJobs * 1 / 6, "SIGKILL sovereignd", kill_daemon},
      {kJobs * 2 / 6, "start sovereignd", start_daemon},
      {kJobs * 3 / 6, "restart slurmctld", restart_slurmctld},
      {kJobs * 4 / 6, "SIGKILL sovereignd", kill_daemon},
      {kJobs * 5 / 6, "start sovereignd", start_daemon},
  });
  ASSERT_TRUE(run.faults.ok()) << run.faults << "\n" << absl::StrJoin(run.fault_log, "\n");

  // What slurmctld answered each submission: exactly what the register says of each kind.
  const Answers answers = Tally(run);
  ASSERT_EQ(answers.unexpected, 0);

  const absl::Time settle_start = absl::Now();
  absl::Status ingested = WaitUntilIngested(absl::Seconds(90));
  ASSERT_TRUE(ingested.ok()) << ingested << "\n" << ReadText(state_ + "/sovereignd.log");
  const absl::Duration settling = absl::Now() - settle_start;

  const Outcome out = CheckTableAndLog(**reg, answers.accepted_ids);
  // Every refusal was spooled before slurmctld answered, so each is in the log too.
  EXPECT_GE(out.rejected, answers.refused);
  printf("nodes when the plugin took the first view after slurmctld's restart: %s\n",
         nodes_at_view.c_str());
  Report(run, answers, out, settling);
}

// The spool on a filesystem of its own, small enough to fill: a tmpfs in a private mount
// namespace of this test process. slurmctld with the plugin, and sovereignd, are started from
// here and live in it too; nothing is mounted in the host's namespace. Needs root, as
// `make test` has: a mount that cannot be made fails the test.
class FileFaultsE2ETest : public FaultsE2ETest {
 protected:
  void SetUp() override {
    // Private mount namespace and tmpfs, as the other full-disk tests make them; the errno is
    // that of the step that failed.
    ASSERT_TRUE(testing::MountTmpfsInNewNamespace(spool_fs_.path().c_str(), "size=8m,mode=0755"))
        << "cannot mount a tmpfs on " << spool_fs_.path()
        << " in a private mount namespace (make test runs as root): " << std::strerror(errno);
    mounted_ = true;
    spool_dir_ = spool_fs_.path() + "/spool";
    FaultsE2ETest::SetUp();
  }

  void TearDown() override {
    FaultsE2ETest::TearDown();
    if (cluster_ != nullptr) {
      cluster_->Stop().IgnoreError();  // before its spool's filesystem goes
    }
    if (mounted_) {
      umount2(spool_fs_.path().c_str(), MNT_DETACH);
    }
  }

  std::string filler() const { return spool_fs_.path() + "/filler"; }

  // Fills the spool's filesystem to the last byte (16 MiB at most: it has 8).
  absl::Status FillUp() {
    const std::string error = testing::FillFileSystem(filler(), 16 << 20);
    return error.empty() ? absl::OkStatus() : absl::InternalError(error);
  }

  // What a writer killed in the middle of a record leaves: the first half of the newest
  // segment's last record appended to it again (a copy, so that reading it twice would show).
  absl::Status TearTheLastRecord() {
    absl::StatusOr<std::vector<uint64_t>> segments = spool::ListSegments(spool_dir_);
    if (!segments.ok() || segments->empty()) {
      return absl::FailedPreconditionError("no spool segment to tear");
    }
    const std::string path = spool::SegmentPath(spool_dir_, segments->back());
    const std::string data = ReadText(path);
    constexpr size_t kHeader = 12;  // magic, length, CRC
    size_t pos = 0, last = std::string::npos, last_size = 0;
    while (pos + kHeader <= data.size()) {
      uint32_t len = 0;
      for (int i = 3; i >= 0; --i) {
        len = (len << 8) | static_cast<unsigned char>(data[pos + 4 + i]);
      }
      if (pos + kHeader + len > data.size()) {
        break;
      }
      last = pos;
      last_size = kHeader + len;
      pos += last_size;
    }
    if (last == std::string::npos) {
      return absl::FailedPreconditionError(absl::StrCat(path, " holds no whole record"));
    }
    const int fd = open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    const std::string half = data.substr(last, last_size / 2);
    const bool ok =
        fd >= 0 && write(fd, half.data(), half.size()) == static_cast<ssize_t>(half.size());
    if (fd >= 0) {
      close(fd);
    }
    return ok ? absl::OkStatus() : StatusFromErrno(errno, "append to " + path);
  }

  // Polls slurmctld's log (bounded) until it holds `text`, calling `meanwhile` between looks.
  absl::Status WaitForControllerLog(const std::string& text,
                                    const std::function<absl::Status()>& meanwhile = nullptr) {
    const std::string log = cluster_->log_dir() + "/slurmctld.log";
    const absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      if (ReadText(log).find(text) != std::string::npos) {
        return absl::OkStatus();
      }
      if (meanwhile) {
        if (absl::Status s = meanwhile(); !s.ok()) {
          return s;
        }
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
    return absl::DeadlineExceededError(absl::StrCat("slurmctld's log has no \"", text, "\""));
  }

  testing::TempDir spool_fs_{"sovereign-spool-fs"};
  bool mounted_ = false;
};

TEST_F(FileFaultsE2ETest, NoJobIsPlacedFromABadSnapshotAndNoRecordIsLostOrDoubled) {
  // Two registers: the one in force (the example), applied over an older one that let
  // patients-eu run at fra-cloud-1 too (its operator answers to US law). A job the plugin
  // placed from the older register would carry its version, and might be at fra-cloud-1.
  const std::string in_force =
      ReadText(std::string(SOVEREIGN_SOURCE_DIR) + "/config/register.example.yaml");
  const std::string older =
      std::regex_replace(in_force, std::regex("\n    jurisdictions: \\[EU\\][^\n]*"), "");
  ASSERT_NE(older, in_force);
  std::ofstream(state_ + "/register.yaml", std::ios::trunc) << older;
  ASSERT_NO_FATAL_FAILURE(StartDaemon());
  ASSERT_NO_FATAL_FAILURE(PrepareJobs());
  const std::string older_snapshot = ReadText(snapshot_path());
  std::ofstream(state_ + "/in-force.yaml") << in_force;
  CommandResult applied = cluster_->Run(
      {SOVEREIGNCTL_PATH, "--socket", socket(), "register", "apply", state_ + "/in-force.yaml"});
  ASSERT_EQ(applied.exit_code, 0) << applied.Describe();
  auto reg = Register::Load(state_ + "/in-force.yaml");
  ASSERT_TRUE(reg.ok()) << reg.status();
  absl::Time in_force_at = absl::InfinitePast();
  for (const absl::Time deadline = absl::Now() + absl::Seconds(20); absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(50))) {
    auto snap = snapshot::ReadSnapshotFile(snapshot_path());
    if (snap.ok() && (*snap)->reg->version() == (*reg)->version()) {
      in_force_at = (*snap)->published_at;
      break;
    }
  }
  ASSERT_NE(in_force_at, absl::InfinitePast()) << "the applied register was never published";
  ASSERT_TRUE(cluster_->WaitForPluginSnapshot(in_force_at).ok());
  // Each line the plugin logs when it keeps a snapshot starts so until sovereignd publishes again.
  auto kept = [&](absl::Time published) {
    return absl::StrCat("error: job_submit/sovereign: kept the snapshot published ",
                        snapshot::FormatPublishedAt(published), " (register ",
                        std::string((*reg)->short_version()), "): snapshot ", snapshot_path(),
                        ": ");
  };
  absl::Time in_use = in_force_at;  // the publication the plugin decides from

  const std::function<absl::Status()> garbage = [&]() -> absl::Status {
    absl::StatusOr<absl::Time> published = SnapshotPublishedAt();
    if (!published.ok()) {
      return published.status();
    }
    in_use = *published;
    kill(pid_, SIGSTOP);  // sovereignd publishes nothing until it is continued
    std::ofstream(snapshot_path(), std::ios::trunc) << "garbage";  // in place, not atomically
    return WaitForControllerLog(kept(in_use) + "no header line (not a sovereign snapshot)\n");
  };
  const std::function<absl::Status()> put_back_older = [&]() -> absl::Status {
    if (absl::Status s = WriteFileAtomically(snapshot_path(), older_snapshot); !s.ok()) {
      return s;
    }
    auto old = snapshot::ReadSnapshotFile(snapshot_path());
    if (!old.ok()) {
      return old.status();
    }
    return WaitForControllerLog(kept(in_use) + "published " +
                                snapshot::FormatPublishedAt((*old)->published_at) +
                                ", before the snapshot in use: an older snapshot is never "
                                "taken\n");
  };
  const std::function<absl::Status()> remove = [&]() -> absl::Status {
    if (unlink(snapshot_path().c_str()) != 0) {
      return StatusFromErrno(errno, "unlink " + snapshot_path());
    }
    return WaitForControllerLog(kept(in_use) + "cannot open: No such file or directory\n");
  };
  const std::function<absl::Status()> continue_daemon = [&]() -> absl::Status {
    const absl::Time continued = absl::Now();
    kill(pid_, SIGCONT);
    return WaitForAPublicationAfter(continued);
  };
  // The spool's filesystem full until the plugin has refused a job for it. sovereignd keeps
  // removing segments it has ingested meanwhile, and the filler takes their room too.
  absl::Time full_from = absl::InfiniteFuture(), room_from = absl::InfiniteFuture();
  const std::function<absl::Status()> fill = [&]() -> absl::Status {
    full_from = absl::Now();
    return WaitForControllerLog("sovereign: cannot record the placement decision",
                                [&] { return FillUp(); });
  };
  const std::function<absl::Status()> make_room = [&]() -> absl::Status {
    room_from = absl::Now();
    return unlink(filler().c_str()) == 0 ? absl::OkStatus()
                                         : StatusFromErrno(errno, "unlink " + filler());
  };
  const std::function<absl::Status()> torn = [&]() -> absl::Status {
    if (absl::Status s = cluster_->StopController(); !s.ok()) {
      return s;
    }
    if (absl::Status s = TearTheLastRecord(); !s.ok()) {
      return s;
    }
    return cluster_->StartController();
  };
  const LoadRun run = SubmitUnderFaults({
      {kJobs * 1 / 8, "sovereignd stopped, snapshot replaced by garbage", garbage},
      {kJobs * 2 / 8, "older snapshot put back", put_back_older},
      {kJobs * 3 / 8, "snapshot deleted", remove},
      {kJobs * 4 / 8, "sovereignd continued", continue_daemon},
      {kJobs * 5 / 8, "spool filesystem full", fill},
      {kJobs * 6 / 8, "room again", make_room},
      {kJobs * 7 / 8, "slurmctld stopped in the middle of a spool record", torn},
  });
  ASSERT_TRUE(run.faults.ok()) << run.faults << "\n" << absl::StrJoin(run.fault_log, "\n");

  // What slurmctld answered: what the register says of each kind, except that while the spool
  // could not be written every job was refused, and said so.
  const Answers answers = Tally(run, [&](const Attempt& a) {
    return a.error == ESLURM_INVALID_FEATURE && a.answered >= full_from && a.sent <= room_from;
  });
  const int not_recorded = answers.excused;
  EXPECT_EQ(answers.unexpected, 0);
  EXPECT_GT(not_recorded, 0);
  // The researcher is told why, naming the spool segment that could not be written.
  const std::regex refusal(
      "sovereign: cannot record the placement decision, so the job is refused \\(spool " +
      spool_dir_ +
      "/[0-9]{16}\\.spool: cannot write decision record: No space left on "
      "device\\); ask your cluster admins");
  const std::string told = ReadText(run.libslurm_err);
  const auto told_count = std::distance(std::sregex_iterator(told.begin(), told.end(), refusal),
                                        std::sregex_iterator());
  EXPECT_EQ(told_count, not_recorded) << told.substr(0, 2000);

  const absl::Time settle_start = absl::Now();
  absl::Status ingested = WaitUntilIngested(absl::Seconds(90));
  ASSERT_TRUE(ingested.ok()) << ingested << "\n" << ReadText(state_ + "/sovereignd.log");
  const absl::Duration settling = absl::Now() - settle_start;
  const Outcome out = CheckTableAndLog(**reg, answers.accepted_ids);
  // Every other refusal was spooled before slurmctld answered, so each is in the log.
  EXPECT_EQ(out.rejected, answers.refused - not_recorded);
  // The torn half record was set aside once, and nothing else was.
  const nlohmann::json status = Status();
  EXPECT_EQ(Count(status, "spool_torn"), 1) << status.dump();
  EXPECT_EQ(Count(status, "spool_undecodable"), 0) << status.dump();
  printf("refused while the spool was full: %d; torn records set aside: %lld\n", not_recorded,
         static_cast<long long>(Count(status, "spool_torn")));
  Report(run, answers, out, settling);
}

}  // namespace
}  // namespace sovereign::e2e
