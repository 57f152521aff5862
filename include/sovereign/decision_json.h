// JSON renderings of a request and its decision: what `sovereignctl explain --json` prints,
// what golden tests compare, and the body of an audit record.
//
// Figures are rounded to 4 decimals so that outputs are stable across compilers.
#pragma once

#include "nlohmann/json.hpp"
#include "sovereign/placement.h"

namespace sovereign {

nlohmann::json JobRequestToJson(const JobRequest& request);

// `reg` must be the register the decision was made under (its partition indexes).
nlohmann::json DecisionToJson(const Decision& decision, const JobRequest& request,
                              const Register& reg);

}  // namespace sovereign
