#include "decision_body.h"

#include <nlohmann/json.hpp>

#include "sovereign/decision_json.h"

namespace sovereign::service {

std::string DecisionBody(const JobRequest& request, const Decision& decision, const Register& reg,
                         const std::string& decision_id, const std::string& caller) {
  nlohmann::json body = DecisionToJson(decision, request, reg);
  body["id"] = decision_id;
  body["source"] = "sovereignd";
  body["caller"] = caller;
  // Invalid UTF-8 in a user-supplied name is replaced, never thrown on.
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace sovereign::service
