// The last check before a placed job starts, run by sovereign-prolog as slurmctld's
// PrologSlurmctld: are the nodes slurmctld allocated inside the sites the job's datasets allow,
// under the register in force (the newest snapshot sovereignd published)?
//
// It catches what the plugin's guards cannot see: admin acts outside job_modify (a partition's
// Nodes= changed, a node's site feature rewritten, a reservation), a register narrowed since
// submission, a bug. It fails safe: a job whose tag cannot be read, or that cannot be checked
// because no register is readable, is refused like a violating one.
//
// Thread-safety: a pure function.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "sovereign/cluster.h"
#include "sovereign/snapshot_file.h"

namespace sovereign::prolog {

struct StartVerdict {
  enum class Kind {
    kNotPlaced,  // no sovereign tag: not a job the plugin placed
    kAllowed,    // every node is at an allowed site
    kRefused,    // hold the job and fail the prolog
  };
  Kind kind = Kind::kNotPlaced;
  std::string decision_id;             // of the tag, when there is one
  std::vector<std::string> datasets;   // of the tag
  std::string register_version;        // judged under this register (empty when none)
  // Why the start is refused: "node us-h100-1 (site sanjose-1): region us is not allowed for
  // patients-eu", one entry per offending node (or the one reason it cannot be checked).
  std::vector<std::string> reasons;
};

// `admin_comment` is the job's (null when none); `snapshot` the newest good snapshot or null,
// with `snapshot_error` saying why there is none; `node_names` the job's allocated nodes;
// `nodes` what slurmctld says of every node.
StartVerdict CheckStart(const char* admin_comment, const snapshot::LoadedSnapshot* snapshot,
                        const absl::Status& snapshot_error, const std::string& site_feature_prefix,
                        const std::vector<std::string>& node_names,
                        const std::vector<NodeStatus>& nodes);

}  // namespace sovereign::prolog
