// The body of a decision's audit record: the request, the decision with every candidate's
// score, the decision id and who asked, as one JSON object. Hashed into the chain verbatim.
#pragma once

#include <string>

#include "sovereign/placement.h"
#include "sovereign/register.h"

namespace sovereign::service {

// {"id":"<decision id>","source":"sovereignd","caller":"uid=1000(alice)",
//  "request":<JobRequestToJson>,"decision":<DecisionToJson>}
std::string DecisionBody(const JobRequest& request, const Decision& decision, const Register& reg,
                         const std::string& decision_id, const std::string& caller);

}  // namespace sovereign::service
