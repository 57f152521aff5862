// Inside Decide(): the state its steps share and the helpers they use to word a refusal.
// placement.cc holds the steps that resolve and rank; refusals.cc the steps that explain why
// no compliant partition can take the job. Internal to the placement library.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sovereign/placement.h"
#include "sovereign/residency.h"

namespace sovereign::decide_internal {

// Decision state shared by the steps.
struct Work {
  const JobRequest& req;
  const ClusterView& view;
  const Register& reg;
  Decision& d;
  const Account* account = nullptr;      // the job's account, if the register knows it
  std::vector<const Dataset*> datasets;  // the labels, resolved
  std::optional<Residency> residency;    // where they may be processed (site level)
  int eligible = 0;                      // partitions that could run the job now
  bool any_requested_compliant = false;  // a compliant partition was requested (or no -p)
};

void Reject(Decision& d, RejectCode code, std::string reason);

// A name the job gave, quoted back: at most 32 bytes of it (QuoteUserText).
std::string Quote(std::string_view name);

// Names the job gave, as a list: "a, b, c" (a plain name as written, any other quoted),
// at most five then "and N more".
std::string NameList(const std::vector<std::string>& names);

// "region eu" or "regions eu, ch".
std::string ListRegions(const std::vector<std::string>& regions);

// Step 6: the job named partitions with -p and none of them is compliant. True when rejected.
bool RejectRequestedOutside(Work& w);

// Step 7: no partition can run the job now; say the most useful reason. True when rejected.
bool RejectNoCandidate(Work& w);

}  // namespace sovereign::decide_internal
