// `sovereignctl register validate` against the cluster sovereignd serves (no --slurm-conf
// given): the daemon checks the register against slurmctld's partitions, nodes and GPUs and
// its host's Unix groups and users.
#pragma once

#include <string>

#include "commands.h"

namespace sovereign::cli {

// Never prints: when the daemon cannot be asked, not_checked says why.
ClusterCheckReport ValidateClusterOnline(const GlobalOptions& global, const std::string& yaml,
                                         const std::string& filename);

}  // namespace sovereign::cli
