#include "start_check.h"

#include "absl/strings/str_cat.h"
#include "sovereign/job_tag.h"
#include "sovereign/residency.h"

namespace sovereign::prolog {

StartVerdict CheckStart(const char* admin_comment, const snapshot::LoadedSnapshot* snapshot,
                        const absl::Status& snapshot_error, const std::string& site_feature_prefix,
                        const std::vector<std::string>& node_names,
                        const std::vector<NodeStatus>& nodes) {
  StartVerdict v;
  absl::StatusOr<JobTag> tag = ParseJobTag(admin_comment);
  if (absl::IsNotFound(tag.status())) {
    return v;
  }
  v.kind = StartVerdict::Kind::kRefused;
  if (!tag.ok()) {
    v.reasons.push_back(absl::StrCat("the job's residency tag cannot be read (",
                                     tag.status().message(), ")"));
    return v;
  }
  v.decision_id = tag->decision_id;
  v.datasets = tag->datasets;
  if (snapshot == nullptr) {
    v.reasons.push_back(absl::StrCat("no sovereignty register can be read to check the start (",
                                     snapshot_error.ok() ? "no snapshot" : snapshot_error.message(),
                                     ")"));
    return v;
  }
  const Register& reg = *snapshot->reg;
  v.register_version = reg.version();
  for (NodeVerdict& node :
       JudgeNodes(reg, site_feature_prefix, tag->datasets, node_names, nodes)) {
    if (!node.why.empty()) {
      v.reasons.push_back(std::move(node.why));
    }
  }
  if (node_names.empty()) {
    v.reasons.push_back("slurmctld named no allocated nodes");
  }
  if (v.reasons.empty()) {
    v.kind = StartVerdict::Kind::kAllowed;
  }
  return v;
}

}  // namespace sovereign::prolog
