// Translation of what slurmctld hands a job_submit plugin (job_desc_msg_t) into the core's
// JobRequest, and of the labels a job may carry. Plain functions over Slurm's public struct:
// unit-tested without slurmctld.
//
// Where a job's datasets come from, in order:
//   - the SPANK option `--dataset=a,b` (spank_job_env "SOVEREIGN_DATASETS=a,b", which
//     slurmctld later shows to prologs as SPANK_SOVEREIGN_DATASETS);
//   - a `dataset:a,b` token in --comment, for clusters without the SPANK plugin;
//   - the account's implied datasets (added later by the core, from the register).
// GPUs come from the TRES fields 22.05 fills: --gpus (tres_per_job), --gres=gpu:T:N and
// --gpus-per-node (tres_per_node), --gpus-per-task (tres_per_task x tasks).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sovereign/placement.h"

extern "C" {
#include <slurm/slurm.h>
}

namespace sovereign::plugin {

// What the plugin knows about the submitting user (from NSS, cached).
struct UserInfo {
  std::string name;
  std::vector<std::string> groups;
};

// GPUs asked for in one TRES string such as "gres:gpu:h100:2,gres:mps:100". Sets *type when
// the entry names one. INVALID_ARGUMENT for a count that is not a number.
absl::StatusOr<int> GpusInTres(const char* tres, std::string* type);

// Datasets declared in the SPANK environment and the comment, in that order, de-duplicated.
// INVALID_ARGUMENT (with the researcher-facing text) for an empty name in a list.
absl::StatusOr<std::vector<std::string>> DeclaredDatasets(const job_desc_msg_t& desc);

// The full request. `submit_uid` is the caller's uid (job_desc->user_id may name another user
// when root submits on someone's behalf: that user is the one whose rights count).
absl::StatusOr<JobRequest> TranslateJobDesc(const job_desc_msg_t& desc, const UserInfo& user,
                                            absl::Time now);

// The tag the plugin writes into admin_comment: "sovereign:v1;id=<id>;ds=a,b;region=eu;
// reg=<12 hex>" (no spaces, so that `scontrol show job -o` keeps it one field). Parsed back by
// the job_modify guard and the reconciler.
struct JobTag {
  std::string decision_id;
  std::vector<std::string> datasets;
  std::string region;
  std::string register_version;  // short form
};
std::string FormatJobTag(const JobTag& tag);
// NOT_FOUND when `admin_comment` carries no tag; INVALID_ARGUMENT when it is malformed.
absl::StatusOr<JobTag> ParseJobTag(const char* admin_comment);

}  // namespace sovereign::plugin
