// GPUs in Slurm's TRES strings: how a job's GPU request reads, for the job_submit plugin (a job
// being submitted) and for sovereignd (a pending job re-decided under a new register, from
// what slurmctld reports). Plain string parsing: no Slurm header or library.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace sovereign {

// GPUs asked for in one TRES string such as "gres:gpu:h100:2,gres:mps:100". Sets *type when
// the entry names one. INVALID_ARGUMENT for a count that is not a number.
absl::StatusOr<int> GpusInTres(const char* tres, std::string* type);

// GPUs of a whole job from its three TRES fields: per job, else per node x nodes, else per
// task x tasks (nodes and tasks: 0 = not given, counted as 1).
absl::StatusOr<int> JobGpus(const char* tres_per_job, const char* tres_per_node,
                            const char* tres_per_task, int nodes, int tasks, std::string* type);

}  // namespace sovereign
