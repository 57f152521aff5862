// `sovereignctl datasets` against the live daemon (no --register given): the datasets the
// user running it may use, as sovereignd sees them under the register in force.
#pragma once

#include "commands.h"

namespace sovereign::cli {

// Asks the daemon and prints the answer (RenderDatasets, or DatasetsJson with --json).
// Returns the exit code: 0 answered, 1 refused, 3 daemon unreachable.
int DatasetsOnline(const GlobalOptions& global);

}  // namespace sovereign::cli
