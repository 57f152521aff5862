// What changed between two registers, object by object: regions, sites, partitions, datasets
// and accounts added, removed or changed (with every changed field), and policy fields.
//
// Computed from the parsed registers (their canonical form, where set-like lists are sorted
// and free of duplicates), not from the YAML text: reordering, comments and formatting are not
// changes.
#pragma once

#include <string>
#include <vector>

#include "sovereign/register.h"

namespace sovereign {

struct FieldDiff {
  std::string field;
  std::string old_value;  // canonical JSON of the value; empty when absent
  std::string new_value;
};

struct ObjectDiff {
  enum class Change { kAdded, kRemoved, kChanged };
  std::string kind;  // "policy", "region", "site", "partition", "dataset", "account"
  std::string name;  // empty for the policy
  Change change = Change::kChanged;
  std::vector<FieldDiff> fields;  // kChanged only
};

// Changes that turn `from` into `to`, in the order policy, regions, sites, partitions,
// datasets, accounts; by name within a kind.
std::vector<ObjectDiff> DiffRegisters(const Register& from, const Register& to);

}  // namespace sovereign
