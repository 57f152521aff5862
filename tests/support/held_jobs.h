// Held batch jobs submitted through libslurm, the fast way to put load on slurmctld's
// submission path (job_submit plugins included) without running anything: ~500-2,000 a second
// from one thread here, against ~200 with sbatch. Shared by bench/submit_load and the e2e tests
// that submit under load.
//
//   HeldJob job{.uid = pw->pw_uid, .gid = pw->pw_gid, .comment = "dataset:patients-eu"};
//   SubmitOutcome r = SubmitHeldJob(job);   // r.job_id, or r.error and r.error_text
//
// The caller points libslurm at the cluster first (SLURM_CONF, or slurm::InitSlurm). Jobs are
// submitted as root on behalf of `uid`. Thread-safe: libslurm's submission call is.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

namespace sovereign::testing {

struct HeldJob {
  // Whose job it is; the submitting process must be root (or that user).
  uid_t uid = 0;
  gid_t gid = 0;
  // --comment: where a job declares its datasets without the SPANK plugin
  // ("dataset:patients-eu"); empty: none.
  std::string comment;
  // GPUs per node (--gres=gpu:N); 0: none.
  int gpus = 1;
  // Job name (-J).
  std::string name = "held";
};

struct SubmitOutcome {
  uint32_t job_id = 0;     // slurmctld's job id; 0 when it did not accept the job
  int error = 0;           // slurm_get_errno() after a refusal or failure
  std::string error_text;  // slurm_strerror(error)
  bool ok() const { return job_id != 0; }
};

// Submits one held job (priority 0, time limit 5 min, output to /dev/null, `true` as script).
SubmitOutcome SubmitHeldJob(const HeldJob& job);

// Whether `error` says slurmctld was not reached or did not answer (connection refused, send or
// receive failed, timed out), rather than that it refused the job: the job may or may not
// exist, and the submission may be tried again.
bool IsCommunicationError(int error);

}  // namespace sovereign::testing
