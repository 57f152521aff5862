// Which datasets a user may use, where each may be processed, and the partitions that qualify:
// what `sovereignctl datasets` shows a researcher before they write --dataset. The same rule as
// placement: a dataset with neither groups nor users is open to everyone, else the user must be
// named or be in one of its groups; its partitions are those at the sites Residency allows for
// a job touching it alone.
//
// Thread-safety: a pure function of its arguments.
#pragma once

#include <string>
#include <vector>

#include "sovereign/cluster.h"
#include "sovereign/register.h"

namespace sovereign {

struct DatasetPartitionAccess {
  std::string name, site, region;
  // PartitionStateName of its state in the view; "absent" when the view does not list it;
  // empty when no view was given.
  std::string state;
};

struct DatasetAccess {
  const Dataset* dataset = nullptr;
  // "everyone", "user <name>" or "group <name>" (the first of the user's groups that allows it).
  std::string access;
  std::vector<DatasetPartitionAccess> partitions;  // register order
  std::vector<std::string> implied_by_accounts;    // register order
};

// Why `user` (in `groups`) may use `ds`: open to everyone, named, or through a group (the first
// of `groups` that allows it); kNone when they may not. Placement refuses a job on this rule.
// Allocates nothing: Decide asks it for every dataset of every job.
struct DatasetGrant {
  enum By { kNone, kEveryone, kUser, kGroup } by = kNone;
  const std::string* group = nullptr;  // with kGroup: the allowing entry of `groups`
};
DatasetGrant GrantOf(const Dataset& ds, const std::string& user,
                     const std::vector<std::string>& groups);

// The datasets `user` (in `groups`) may use, in register order. `view` (bound to `reg`) may be
// null: then partitions carry no state.
std::vector<DatasetAccess> UsableDatasets(const Register& reg, const ClusterView* view,
                                          const std::string& user,
                                          const std::vector<std::string>& groups);

}  // namespace sovereign
