#include "job_translate.h"

#include <algorithm>
#include <cstring>

#include "absl/algorithm/container.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sovereign/dataset_declaration.h"

namespace sovereign::plugin {
namespace {

// spank_job_control_setenv() stores "SOVEREIGN_DATASETS=..."; slurmctld prefixes "SPANK_"
// only later, for the prolog's environment. Accept both.
constexpr absl::string_view kSpankVar = "SOVEREIGN_DATASETS=";
// The job a job was submitted from, as the SPANK plugin passes it.
constexpr absl::string_view kParentVar = "SOVEREIGN_PARENT_JOB=";
// --green-window, as the SPANK plugin passes it.
constexpr absl::string_view kGreenVar = "SOVEREIGN_GREEN_WINDOW=";

bool Set(uint32_t v) { return v != NO_VAL && v != 0; }

}  // namespace

absl::StatusOr<std::vector<std::string>> DeclaredDatasets(const job_desc_msg_t& desc) {
  std::vector<std::string> out;
  for (uint32_t i = 0; desc.spank_job_env != nullptr && i < desc.spank_job_env_size; ++i) {
    absl::string_view var = desc.spank_job_env[i] == nullptr ? "" : desc.spank_job_env[i];
    absl::ConsumePrefix(&var, "SPANK_");
    if (absl::ConsumePrefix(&var, kSpankVar)) {
      if (absl::Status s = AddDatasetNames(var, "--dataset", &out); !s.ok()) {
        return s;
      }
    }
  }
  if (desc.comment != nullptr) {
    if (absl::Status s = AddCommentDatasets(desc.comment, &out); !s.ok()) {
      return s;
    }
  }
  return out;
}

absl::StatusOr<absl::Duration> GreenWindow(const job_desc_msg_t& desc) {
  absl::Duration window = absl::ZeroDuration();
  if (desc.comment != nullptr) {
    if (absl::Status s = AddCommentGreenWindow(desc.comment, &window); !s.ok()) {
      return s;
    }
  }
  for (uint32_t i = 0; desc.spank_job_env != nullptr && i < desc.spank_job_env_size; ++i) {
    absl::string_view var = desc.spank_job_env[i] == nullptr ? "" : desc.spank_job_env[i];
    absl::ConsumePrefix(&var, "SPANK_");
    if (absl::ConsumePrefix(&var, kGreenVar)) {
      if (absl::Status s = ReadGreenWindow(var, "--green-window", &window); !s.ok()) {
        return s;
      }
    }
  }
  return window;
}

std::vector<uint32_t> ParentJobIds(const job_desc_msg_t& desc) {
  std::vector<uint32_t> ids;
  auto add = [&ids](absl::string_view value) {
    uint32_t id = 0;
    if (!value.empty() && absl::c_all_of(value, absl::ascii_isdigit) &&
        absl::SimpleAtoi(value, &id) && id != 0 && !absl::c_linear_search(ids, id)) {
      ids.push_back(id);
    }
  };
  for (uint32_t i = 0; desc.spank_job_env != nullptr && i < desc.spank_job_env_size; ++i) {
    absl::string_view var = desc.spank_job_env[i] == nullptr ? "" : desc.spank_job_env[i];
    absl::ConsumePrefix(&var, "SPANK_");
    if (absl::ConsumePrefix(&var, kParentVar)) {
      add(var);
    }
  }
  if (!ids.empty()) {
    return ids;
  }
  for (uint32_t i = 0; desc.environment != nullptr && i < desc.env_size; ++i) {
    absl::string_view var = desc.environment[i] == nullptr ? "" : desc.environment[i];
    if (absl::ConsumePrefix(&var, "SLURM_JOB_ID=")) {
      add(var);
    }
  }
  return ids;
}

absl::StatusOr<JobRequest> TranslateJobDesc(const job_desc_msg_t& desc, const UserInfo& user,
                                            absl::Time now) {
  JobRequest req;
  req.user = user.name;
  req.uid = desc.user_id;
  req.groups = user.groups;
  if (desc.account != nullptr) {
    req.account = desc.account;
  }
  absl::StatusOr<std::vector<std::string>> datasets = DeclaredDatasets(desc);
  if (!datasets.ok()) {
    return datasets.status();
  }
  req.datasets = *std::move(datasets);
  if (desc.partition != nullptr) {
    req.partitions = absl::StrSplit(desc.partition, ',', absl::SkipEmpty());
  }
  req.nodes = Set(desc.min_nodes) ? static_cast<int>(desc.min_nodes) : 0;

  absl::StatusOr<int> gpus =
      JobGpus(desc.tres_per_job, desc.tres_per_node, desc.tres_per_task, req.nodes,
              Set(desc.num_tasks) ? static_cast<int>(desc.num_tasks) : 0, &req.gpu_type);
  if (!gpus.ok()) {
    return gpus.status();
  }
  req.gpus = *gpus;
  if (Set(desc.time_limit) && desc.time_limit != INFINITE) {
    req.time_limit = absl::Minutes(desc.time_limit);
  }
  req.submit_time = now;
  if (desc.begin_time > absl::ToTimeT(now)) {
    req.begin_time = absl::FromTimeT(desc.begin_time);
  }
  absl::StatusOr<absl::Duration> green = GreenWindow(desc);
  if (!green.ok()) {
    return green.status();
  }
  req.green_window = *green;
  return req;
}

}  // namespace sovereign::plugin
