// The human form of a decision, as `sovereignctl explain` prints it: the verdict, the one-line
// reason the researcher would read in sbatch's output, what was asked, and one row per
// partition (chosen first, then the other eligible ones by rank, then the excluded ones in
// register order) with its status, why, and its estimated energy and CO2 for this job.
//
// Thread-safety: a pure function of its arguments.
#pragma once

#include <string>

#include "sovereign/cluster.h"
#include "sovereign/placement.h"

namespace sovereign::cli {

// Where the cluster view came from, for the header line.
struct ClusterSource {
  std::string path;  // empty: ClusterView::AllUp
  absl::Time taken_at = absl::InfinitePast();
};

// `decision` must have been made for `request` under `reg`.
std::string RenderDecision(const Decision& decision, const JobRequest& request, const Register& reg,
                           const ClusterSource& cluster);

}  // namespace sovereign::cli
