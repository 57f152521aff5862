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
#include "dataset_option.h"

namespace sovereign::plugin {
namespace {

// spank_job_control_setenv() stores "SOVEREIGN_DATASETS=..."; slurmctld prefixes "SPANK_"
// only later, for the prolog's environment. Accept both.
constexpr absl::string_view kSpankVar = "SOVEREIGN_DATASETS=";
// The job a job was submitted from, as the SPANK plugin passes it.
constexpr absl::string_view kParentVar = "SOVEREIGN_PARENT_JOB=";
// What separates the tokens of a --comment.
constexpr char kCommentSeparators[] = " \t\r\n;";

bool Set(uint32_t v) { return v != NO_VAL && v != 0; }

// Appends the comma-separated names in `list` to *out, skipping ones already there.
absl::Status AddNames(absl::string_view list, absl::string_view where,
                      std::vector<std::string>* out) {
  for (absl::string_view name : absl::StrSplit(list, ',')) {
    name = absl::StripAsciiWhitespace(name);
    if (name.empty()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "empty dataset name in ", where, " \"", list,
          "\"; use a comma-separated list such as --dataset=patients-eu,imagenet-public"));
    }
    if (std::find(out->begin(), out->end(), name) == out->end()) {
      out->emplace_back(name);
    }
  }
  return absl::OkStatus();
}

// User text echoed in a message is cut to this many bytes.
constexpr size_t kMaxEcho = 60;
std::string Quote(absl::string_view text) {
  return spank::QuoteUserText(std::string_view(text.data(), text.size()), kMaxEcho);
}

// What a --comment token is, as far as datasets go (see job_translate.h).
enum class CommentToken { kOther, kDeclaration, kUnreadable };

// Classifies `token`; for a declaration sets *names to the text after "dataset:".
CommentToken ClassifyCommentToken(absl::string_view token, absl::string_view* names) {
  absl::string_view rest;
  if (absl::StartsWithIgnoreCase(token, "datasets")) {
    rest = token.substr(8);
  } else if (absl::StartsWithIgnoreCase(token, "dataset")) {
    rest = token.substr(7);
  } else {
    return CommentToken::kOther;
  }
  if (!rest.empty() && rest.front() != ':' && rest.front() != '=') {
    return CommentToken::kOther;  // "dataset_v2", "datasets.", "datasetname": not a key
  }
  if (rest.size() >= 2 && rest.front() == ':') {
    *names = rest.substr(1);
    return CommentToken::kDeclaration;
  }
  return CommentToken::kUnreadable;  // "dataset", "dataset:", "dataset=...", "dataset="
}

}  // namespace

absl::Status AddCommentDatasets(absl::string_view comment, std::vector<std::string>* out) {
  const std::vector<absl::string_view> tokens =
      absl::StrSplit(comment, absl::ByAnyChar(kCommentSeparators), absl::SkipEmpty());
  for (size_t i = 0; i < tokens.size(); ++i) {
    absl::string_view names;
    switch (ClassifyCommentToken(tokens[i], &names)) {
      case CommentToken::kOther:
        break;
      case CommentToken::kDeclaration:
        if (absl::Status s = AddNames(names, "--comment", out); !s.ok()) {
          return s;
        }
        break;
      case CommentToken::kUnreadable: {
        // Quote what was typed: the token, and the next ones while the names evidently
        // follow ("dataset: patients-eu", "dataset = patients-eu").
        absl::string_view typed = tokens[i];
        for (size_t next = i + 1; next < tokens.size(); ++next) {
          const bool names_follow = typed.back() == ':' || typed.back() == '=' ||
                                    absl::EqualsIgnoreCase(typed, "dataset") ||
                                    absl::EqualsIgnoreCase(typed, "datasets");
          if (!names_follow) {
            break;
          }
          typed = absl::string_view(
              typed.data(),
              static_cast<size_t>(tokens[next].data() + tokens[next].size() - typed.data()));
        }
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot read the dataset declaration ", Quote(typed),
            " in --comment; write \"dataset:\" and the names as one word, without spaces, e.g. "
            "--comment=dataset:patients-eu or --comment=dataset:patients-eu,imagenet-public"));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> DeclaredDatasets(const job_desc_msg_t& desc) {
  std::vector<std::string> out;
  for (uint32_t i = 0; desc.spank_job_env != nullptr && i < desc.spank_job_env_size; ++i) {
    absl::string_view var = desc.spank_job_env[i] == nullptr ? "" : desc.spank_job_env[i];
    absl::ConsumePrefix(&var, "SPANK_");
    if (absl::ConsumePrefix(&var, kSpankVar)) {
      if (absl::Status s = AddNames(var, "--dataset", &out); !s.ok()) {
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
  return req;
}

}  // namespace sovereign::plugin
