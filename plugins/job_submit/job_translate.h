// Translation of what slurmctld hands a job_submit plugin (job_desc_msg_t) into the core's
// JobRequest, and of the labels a job may carry. Plain functions over Slurm's public struct:
// unit-tested without slurmctld.
//
// Where a job's datasets come from, and how the SPANK option and --comment are read:
// sovereign/dataset_declaration.h. The SPANK option arrives in spank_job_env as
// "SOVEREIGN_DATASETS=a,b" (slurmctld later shows it to prologs as SPANK_SOVEREIGN_DATASETS).
// GPUs come from the TRES fields 22.05 fills: --gpus (tres_per_job), --gres=gpu:T:N and
// --gpus-per-node (tres_per_node), --gpus-per-task (tres_per_task x tasks), read by the core's
// JobGpus (sovereign/slurm_tres.h). The user is the core's UserInfo (sovereign/unix_accounts.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sovereign/dataset_declaration.h"
#include "sovereign/placement.h"
#include "sovereign/slurm_tres.h"
#include "sovereign/unix_accounts.h"

extern "C" {
#include <slurm/slurm.h>
}

namespace sovereign::plugin {

// Datasets declared in the SPANK environment and the comment, in that order, de-duplicated.
// INVALID_ARGUMENT (with the researcher-facing text) for an empty name in a list and for an
// unreadable declaration in the comment (sovereign/dataset_declaration.h).
absl::StatusOr<std::vector<std::string>> DeclaredDatasets(const job_desc_msg_t& desc);

// How far the job lets its start move for less CO2: SOVEREIGN_GREEN_WINDOW in spank_job_env
// (--green-window), else a `green-window:` token in the comment; zero when neither. The
// researcher-facing INVALID_ARGUMENT of ReadGreenWindow for an unreadable value.
absl::StatusOr<absl::Duration> GreenWindow(const job_desc_msg_t& desc);

// The jobs a job was submitted from inside of, whose datasets it inherits: the ids in
// spank_job_env's SOVEREIGN_PARENT_JOB (with or without the "SPANK_" prefix), set by the SPANK
// plugin from the submitter's SLURM_JOB_ID; when there is none, SLURM_JOB_ID in the
// environment sbatch sends (desc.environment). Values that are not a job id (1..2^32-1) are
// skipped. Empty when the job was not submitted from inside a job, or when the submitter
// removed SLURM_JOB_ID: this is a guard against losing labels by accident, not against a
// researcher who means to (every field here is written by the submitting client).
std::vector<uint32_t> ParentJobIds(const job_desc_msg_t& desc);

// The full request. `submit_uid` is the caller's uid (job_desc->user_id may name another user
// when root submits on someone's behalf: that user is the one whose rights count).
absl::StatusOr<JobRequest> TranslateJobDesc(const job_desc_msg_t& desc, const UserInfo& user,
                                            absl::Time now);

}  // namespace sovereign::plugin
