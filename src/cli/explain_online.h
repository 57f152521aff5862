// `sovereignctl explain` against the live daemon (no --register given): the same question as
// the offline explain, answered by sovereignd with the register in force and its cluster view,
// and not recorded in the audit log.
#pragma once

#include "commands.h"
#include "sovereign/placement.h"

namespace sovereign::cli {

// Asks the daemon where `request` would go and prints the answer (a table, or JSON with
// --json). user/uid/groups may be left empty: the daemon uses the caller's. Returns the exit
// code: 0 placed, 1 rejected or refused, 3 daemon unreachable.
int ExplainOnline(const GlobalOptions& global, const JobRequest& request);

}  // namespace sovereign::cli
