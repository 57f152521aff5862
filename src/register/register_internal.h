// Internals shared by the register's parser, validator and canonicaliser. Not installed.
#pragma once

#include <string>
#include <vector>

#include "sovereign/register.h"

namespace sovereign::register_internal {

// Everything a register declares, before validation.
struct Parts {
  Policy policy;
  std::vector<Region> regions;
  std::vector<Site> sites;
  std::vector<Partition> partitions;
  std::vector<Dataset> datasets;
  std::vector<Account> accounts;
};

// Checks every cross-reference and value range; appends one Diagnostic per problem (all of
// them, not only the first). Does not stop early.
void Validate(const Parts& parts, std::vector<Diagnostic>* out);

// The canonical form: compact JSON with object keys sorted and named objects sorted by name,
// unordered lists (regions, groups, ...) sorted. Independent of YAML formatting and order.
std::string Canonicalize(const Parts& parts);

// Lowercase hex SHA-256 of `bytes`.
std::string Sha256Hex(const std::string& bytes);

}  // namespace sovereign::register_internal
