// JSON renderings of a request and its decision: what `sovereignctl explain --json` prints,
// what golden tests compare, and the body of an audit record.
//
// Figures are rounded to 4 decimals so that outputs are stable across compilers.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "sovereign/placement.h"

namespace sovereign {

// Compact JSON text, members in sorted order; ill-formed UTF-8 in a name becomes U+FFFD.
std::string JobRequestJsonText(const JobRequest& request);

// A member appended to the decision document: a string (quoted, escaped), or with `json` the
// value's JSON text as it is (a number, true, false). A member with a null key is left out.
struct ExtraMember {
  const char* key;
  std::string_view value;
  bool json = false;
};

// The decision document as compact JSON text (the audit log's body; no JSON tree is built),
// with `extra` members appended. `reg` must be the register the decision was made under (its
// partition indexes).
std::string DecisionJsonText(const Decision& decision, const JobRequest& request,
                             const Register& reg, std::initializer_list<ExtraMember> extra = {});

}  // namespace sovereign
