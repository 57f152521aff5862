// The body of a decision's audit record: the core's DecisionToJson (the request, the verdict
// and every candidate's score) plus the decision id, who decided and who asked. Hashed into the
// chain verbatim.
#pragma once

#include <string>

#include "sovereign/placement.h"
#include "sovereign/register.h"

namespace sovereign::service {

// DecisionJsonText(...) with "id", "source": "sovereignd" and "caller" added; compact JSON.
std::string DecisionBody(const JobRequest& request, const Decision& decision, const Register& reg,
                         const std::string& decision_id, const std::string& caller);

}  // namespace sovereign::service
