#include "decision_body.h"

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "sovereign/decision_json.h"

namespace sovereign::service {
namespace {

std::string Quoted(const std::string& text) {
  return nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string DecisionBody(const JobRequest& request, const Decision& decision, const Register& reg,
                         const std::string& decision_id, const std::string& caller) {
  // Concatenated rather than built as a DOM: this runs once per Decide, on the hot path.
  return absl::StrCat("{\"id\":", Quoted(decision_id), ",\"source\":\"sovereignd\",\"caller\":",
                      Quoted(caller), ",\"request\":", JobRequestToJson(request),
                      ",\"decision\":", DecisionToJson(decision, reg), "}");
}

}  // namespace sovereign::service
