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
  absl::Time start = absl::InfinitePast();  // when the job could start: now or its --begin
  absl::Duration run = absl::ZeroDuration();  // its time limit, or the policy's default
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

// The grid intensity a run meets at a site: the site's carbon series where it covers
// [from, from + w.run) (covered of it), the register's annual mean for the rest.
struct GridIntensity {
  double gco2_per_kwh = 0;
  double covered = 0;  // 0: the annual mean alone
  bool forecast = false;
  CarbonBasis basis = CarbonBasis::kLocation;
};
GridIntensity GridIntensityOver(const Work& w, const Register::PartitionFigures& f,
                                absl::Time from);

// Step 10, for a placed job with a green window: moves its start (and partition) to the least
// CO2 within the window when that saves at least policy.green_min_saving; fills d.green.
void ChooseGreenStart(Work& w);

}  // namespace sovereign::decide_internal
