#include "decision_body.h"

#include "sovereign/decision_json.h"

namespace sovereign::service {

std::string DecisionBody(const JobRequest& request, const Decision& decision, const Register& reg,
                         const std::string& decision_id, const std::string& caller) {
  return DecisionJsonText(decision, request, reg,
                          {{"id", decision_id}, {"source", "sovereignd"}, {"caller", caller}});
}

}  // namespace sovereign::service
