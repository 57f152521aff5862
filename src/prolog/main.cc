// sovereign-prolog: slurmctld's PrologSlurmctld. Runs after Slurm allocated nodes to a job and
// before anything starts on them; refuses the start of a placed job on a node outside the
// sites its datasets allow (CheckStart).
//
// On a refusal it holds the job (priority 0) and exits 1: slurmctld then requeues a batch job
// (which stays held: Reason=JobHeldAdmin, never started) or kills any other job. The refusal
// is spooled for sovereignd's audit log (a rejected decision, code start_refused, bound to the
// job) and written to standard error. Exit 0 lets the job start.
//
// Environment (set by slurmctld): SLURM_JOB_ID, SLURM_JOB_NODELIST. Configuration: the plugin's
// sovereign-plugin.conf (sovereign::PluginSettingsPath(): $SOVEREIGN_PLUGIN_CONF, else beside
// $SLURM_CONF, else /etc/slurm/sovereign-plugin.conf), for the snapshot, the spool folder and
// the site feature prefix. Refusals are spooled under <spool>/prolog, one writer at a time (flock).
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "cluster_reader.h"
#include "sovereign/decision_id.h"
#include "sovereign/file_modes.h"
#include "sovereign/plugin_settings.h"
#include "sovereign/spool.h"
#include "sovereign/spool_record.h"
#include "sovereign/unix_accounts.h"
#include "start_check.h"

namespace {

using sovereign::prolog::StartVerdict;

// Writes the refusal to <spool>/prolog. Prologs of several jobs may run at once: an exclusive
// lock on the folder's lock file makes each segment one writer's, finished before the next.
absl::Status SpoolRefusal(const std::string& spool_dir, uint32_t job_id, uint32_t uid,
                          const StartVerdict& v, const std::string& nodes) {
  const std::string dir = spool_dir + "/prolog";
  sovereign::spool::SpoolWriterOptions options;
  options.dir = dir;
  options.fdatasync_each = true;  // rare, and the only trace of a refused start
  if (sovereign::CreateFolderWithMode(dir, sovereign::kPrivateFolderMode) != 0) {
    return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", strerror(errno)));
  }
  sovereign::spool::SpooledDecision rec;
  const absl::Time now = absl::Now();
  rec.decision_id = sovereign::PrologDecisionId(now, job_id);
  rec.source = "prolog";
  rec.job_id = job_id;
  rec.request.datasets = v.datasets;
  rec.request.uid = uid;
  if (absl::StatusOr<sovereign::UnixUser> user = sovereign::UserById(uid); user.ok()) {
    rec.request.user = user->name;
  }
  rec.request.submit_time = now;
  rec.decision.verdict = sovereign::Verdict::kReject;
  rec.decision.code = sovereign::RejectCode::kStartRefused;
  rec.decision.labels = v.datasets;
  rec.decision.register_version = v.register_version;
  rec.decision.decided_at = now;
  rec.decision.reason = absl::StrCat("refused to start job ", job_id, " (decision ",
                                     v.decision_id.empty() ? "unknown" : v.decision_id, ") on ",
                                     nodes, ": ", absl::StrJoin(v.reasons, "; "));
  std::string payload;
  sovereign::spool::EncodeSpooledDecision(rec, &payload);
  const std::string lock_path = dir + "/.lock";
  const int lock = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || flock(lock, LOCK_EX) != 0) {
    absl::Status s =
        absl::InternalError(absl::StrCat("cannot lock ", lock_path, ": ", strerror(errno)));
    if (lock >= 0) {
      close(lock);
    }
    return s;
  }
  absl::Status s;
  {
    // The segment is written and closed while the lock is held.
    absl::StatusOr<std::unique_ptr<sovereign::spool::SpoolWriter>> writer =
        sovereign::spool::SpoolWriter::Open(options);
    s = writer.ok() ? (*writer)->Append(payload) : writer.status();
  }
  close(lock);
  return s;
}

int Run() {
  const char* id_text = std::getenv("SLURM_JOB_ID");
  const char* nodes_text = std::getenv("SLURM_JOB_NODELIST");
  uint32_t job_id = 0;
  if (id_text == nullptr || !absl::SimpleAtoi(id_text, &job_id)) {
    std::fprintf(stderr, "sovereign-prolog: SLURM_JOB_ID is not set: run me as PrologSlurmctld\n");
    return 1;
  }
  const std::string nodes = nodes_text == nullptr ? "" : nodes_text;
  const std::string conf_path = sovereign::PluginSettingsPath();
  absl::StatusOr<sovereign::PluginSettings> options = sovereign::ReadPluginSettings(conf_path);
  absl::StatusOr<sovereign::slurm::JobRow> job = sovereign::slurm::ReadJob(job_id);
  StartVerdict v;
  if (!options.ok() || !job.ok()) {
    // Fail safe: a start that cannot be checked does not happen.
    v.kind = StartVerdict::Kind::kRefused;
    v.reasons.push_back(!options.ok() ? std::string(options.status().message())
                                      : std::string(job.status().message()));
  } else {
    absl::StatusOr<std::shared_ptr<const sovereign::snapshot::LoadedSnapshot>> snap =
        sovereign::snapshot::ReadSnapshotFile(options->snapshot_path);
    absl::StatusOr<std::vector<sovereign::NodeStatus>> all = sovereign::slurm::ReadNodes();
    if (!all.ok()) {
      v.kind = StartVerdict::Kind::kRefused;
      v.reasons.push_back(std::string(all.status().message()));
    } else {
      v = sovereign::prolog::CheckStart(
          job->admin_comment.c_str(), snap.ok() ? snap->get() : nullptr,
          snap.ok() ? absl::OkStatus() : snap.status(), options->site_feature_prefix,
          sovereign::slurm::ExpandHostList(nodes), *all);
    }
  }
  if (v.kind != StartVerdict::Kind::kRefused) {
    return 0;
  }
  const std::string why = absl::StrJoin(v.reasons, "; ");
  std::fprintf(stderr, "sovereign-prolog: refused to start job %u on %s: %s\n", job_id,
               nodes.c_str(), why.c_str());
  if (absl::Status held = sovereign::slurm::HoldJob(job_id); !held.ok()) {
    std::fprintf(stderr, "sovereign-prolog: job %u: %s\n", job_id,
                 std::string(held.message()).c_str());
  }
  if (options.ok()) {
    const uint32_t uid = job.ok() ? job->user_id : 0;
    if (absl::Status s = SpoolRefusal(options->spool_dir, job_id, uid, v, nodes); !s.ok()) {
      std::fprintf(stderr, "sovereign-prolog: job %u: the refusal was not spooled: %s\n", job_id,
                   std::string(s.message()).c_str());
    }
  }
  return 1;
}

}  // namespace

int main() {
  try {
    return Run();
  } catch (...) {
    std::fprintf(stderr, "sovereign-prolog: internal error; refusing the start\n");
  }
  return 1;
}
