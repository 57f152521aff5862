// Steps 6 and 7 of Decide(): when no compliant partition can take the job, the refusal that
// helps most: a -p outside what the datasets allow, a GPU type found only elsewhere, a job larger
// than any compliant partition, or each partition's own reason.
#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "decide_steps.h"
#include "sovereign/user_text.h"

namespace sovereign::decide_internal {

void Reject(Decision& d, RejectCode code, std::string reason) {
  d.verdict = Verdict::kReject;
  d.code = code;
  d.reason = std::move(reason);
}

std::string Quote(std::string_view name) { return QuoteUserText(name, 32); }

std::string NameList(const std::vector<std::string>& names) {
  // At most this many names, each as written when it is a plain name, else quoted and cut: the
  // message goes to the researcher and into slurmctld's log, whatever the job asked for.
  constexpr size_t kShown = 5;
  constexpr size_t kPlainBytes = 64;
  std::string out;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) {
    const std::string& n = names[i];
    const bool plain = !n.empty() && n.size() <= kPlainBytes &&
                       std::all_of(n.begin(), n.end(), [](char c) {
                         return c > ' ' && c < 0x7f && c != ',' && c != '"';
                       });
    absl::StrAppend(&out, i == 0 ? "" : ", ", plain ? n : Quote(n));
  }
  if (names.size() > kShown) {
    absl::StrAppend(&out, " and ", names.size() - kShown, " more");
  }
  return out;
}

std::string ListRegions(const std::vector<std::string>& regions) {
  return regions.size() == 1 ? absl::StrCat("region ", regions[0])
                             : absl::StrCat("regions ", absl::StrJoin(regions, ", "));
}

namespace {

// Why candidate `c` cannot take the job, with the residency Decide already worked out.
std::string Why(const Work& w, const Candidate& c) {
  return DescribeExclusion(c, w.d, w.reg, w.residency ? &*w.residency : nullptr);
}

// "dataset patients-eu may only be processed in region eu" (or the unlabelled policy).
std::string ResidencyRule(const Work& w) {
  if (w.d.labels.empty()) {
    return absl::StrCat("jobs without datasets run in ", ListRegions(w.d.allowed_regions),
                        " (site policy)");
  }
  return absl::StrCat(w.d.labels.size() == 1 ? "dataset " : "datasets ",
                      absl::StrJoin(w.d.labels, ", "), " may only be processed in ",
                      ListRegions(w.d.allowed_regions));
}

// When the job asks for a GPU type that no compliant partition it may use has: where that type
// is (outside what the datasets allow, and why) and which types it may ask for instead.
// nullopt when a compliant partition has the type, or the job names none.
std::optional<std::string> GpuTypeNotAllowed(const Work& w) {
  const std::string& type = w.req.gpu_type;
  if (type.empty()) {
    return std::nullopt;
  }
  std::vector<std::string> types;  // of the partitions the job may use
  std::vector<std::string> outside;
  bool anywhere = false;
  for (const Candidate& c : w.d.candidates) {
    const Partition& p = w.reg.partitions()[c.partition];
    const bool compliant = c.exclusion != Exclusion::kRegionNotAllowed &&
                           c.exclusion != Exclusion::kJurisdictionNotAccepted;
    if (compliant && c.exclusion == Exclusion::kNotRequested) {
      if (p.gpu_type == type) {
        return std::nullopt;  // another -p would do: the generic reason says which
      }
      continue;
    }
    if (compliant) {
      if (p.gpu_type == type) {
        return std::nullopt;
      }
      types.push_back(p.gpu_type);
    } else if (p.gpu_type == type) {
      outside.push_back(absl::StrCat(p.name, " (", Why(w, c), ")"));
    }
    anywhere = anywhere || p.gpu_type == type;
  }
  std::sort(types.begin(), types.end());
  types.erase(std::unique(types.begin(), types.end()), types.end());
  const std::string instead =
      types.empty() ? std::string("; no GPU type is left that your datasets allow")
                    : absl::StrCat("; GPU types you may ask for: ", absl::StrJoin(types, ", "));
  if (!anywhere) {
    return absl::StrCat("no partition in the sovereignty register has ", type, " GPUs", instead);
  }
  return absl::StrCat(type, " GPUs are only where your datasets may not be processed: ",
                      absl::StrJoin(outside, "; "), instead);
}

// When the job is larger than every compliant partition it could use (up, with its GPU type)
// is in all: what it asked for, what the largest of them has, and what would fit. nullopt when
// one is big enough (then it waits for nodes or GPUs, and the generic reason says so).
std::optional<std::string> LargerThanAnyPartition(const Work& w) {
  const JobRequest& req = w.req;
  const Candidate* largest = nullptr;
  int largest_nodes = 0;
  for (const Candidate& c : w.d.candidates) {
    switch (c.exclusion) {
      case Exclusion::kTooFewGpusPerNode:
      case Exclusion::kTooFewNodes:
        break;
      case Exclusion::kNotUp:
      case Exclusion::kNotInCluster:
        return std::nullopt;  // it may be big enough once it is back
      default:
        continue;
    }
    const PartitionStatus& s = w.view.status(c.partition);
    // Without Slurm's count, the register's: nodes that are down still count.
    const int nodes = s.nodes_total.value_or(w.reg.partitions()[c.partition].nodes);
    const int per_node = req.nodes > 0 ? (req.gpus + req.nodes - 1) / req.nodes : 0;
    const bool fits = int64_t{req.gpus} <= int64_t{c.gpus_per_node} * nodes &&
                      per_node <= c.gpus_per_node && c.nodes <= nodes;
    if (fits) {
      return std::nullopt;  // fits the hardware: only nodes that are down are missing
    }
    if (largest == nullptr ||
        int64_t{c.gpus_per_node} * nodes > int64_t{largest->gpus_per_node} * largest_nodes) {
      largest = &c;
      largest_nodes = nodes;
    }
  }
  if (largest == nullptr) {
    return std::nullopt;
  }
  const int64_t all = int64_t{largest->gpus_per_node} * largest_nodes;
  std::string asked = absl::StrCat("the job asks for ", req.gpus, " GPUs");
  if (req.nodes > 0) {
    absl::StrAppend(&asked, " on ", req.nodes, req.nodes == 1 ? " node" : " nodes");
  }
  std::string hint;
  if (req.nodes == 0) {
    hint = absl::StrCat("ask for at most ", all, " GPUs");
  } else if (req.nodes > largest_nodes) {
    hint = absl::StrCat("ask for at most ", largest_nodes, largest_nodes == 1 ? " node" : " nodes");
  } else {
    hint = absl::StrCat("ask for at most ", largest->gpus_per_node, " GPUs per node");
  }
  return absl::StrCat(asked, "; the largest compliant partition, ",
                      w.reg.partitions()[largest->partition].name, ", has ", largest_nodes,
                      largest_nodes == 1 ? " node" : " nodes", " with ", largest->gpus_per_node,
                      " GPUs each (", all, " GPUs); ", hint);
}

// Partitions compliant with the residency rules, whatever their state: what the user may use.
std::vector<std::string> UsablePartitions(const Work& w) {
  std::vector<std::string> names;
  for (const Candidate& c : w.d.candidates) {
    if (c.exclusion != Exclusion::kRegionNotAllowed &&
        c.exclusion != Exclusion::kJurisdictionNotAccepted) {
      names.push_back(w.reg.partitions()[c.partition].name);
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

bool RejectRequestedOutside(Work& w) {
  const JobRequest& request = w.req;
  if (request.partitions.empty() || w.any_requested_compliant) {
    return false;
  }
  const Register& reg = w.reg;
  Decision& d = w.d;
  std::vector<std::string> names = UsablePartitions(w);
  std::vector<std::string> unknown;
  // Requested partitions inside the allowed regions, refused only for their operator's
  // jurisdiction: the residency rule alone would not say why.
  std::vector<std::string> operator_refused;
  for (const std::string& name : request.partitions) {
    const int i = reg.PartitionIndex(name);
    if (i < 0) {
      unknown.push_back(name);
    } else if (d.candidates[i].exclusion == Exclusion::kJurisdictionNotAccepted) {
      operator_refused.push_back(
          absl::StrCat("partition ", name, ": ", Why(w, d.candidates[i])));
    }
  }
  const std::string not_registered =
      absl::StrCat(unknown.size() == 1 ? "partition " : "partitions ", NameList(unknown),
                   unknown.size() == 1 ? " is" : " are", " not in the sovereignty register");
  std::string what;
  if (unknown.size() == request.partitions.size()) {
    what = not_registered;
  } else if (unknown.size() + operator_refused.size() == request.partitions.size()) {
    what = absl::StrJoin(operator_refused, "; ");
    if (!unknown.empty()) {
      absl::StrAppend(&what, "; ", not_registered);
    }
  } else {
    what = ResidencyRule(w);
  }
  Reject(d, RejectCode::kPartitionOutsideRegion,
         absl::StrCat(what, "; partitions you may use: ",
                      names.empty() ? "none" : absl::StrJoin(names, ", ")));
  return true;
}

bool RejectNoCandidate(Work& w) {
  if (w.eligible != 0) {
    return false;
  }
  Decision& d = w.d;
  if (std::optional<std::string> why = GpuTypeNotAllowed(w); why.has_value()) {
    Reject(d, RejectCode::kNoCandidate, *std::move(why));
    return true;
  }
  if (std::optional<std::string> why = LargerThanAnyPartition(w); why.has_value()) {
    Reject(d, RejectCode::kNoCandidate, *std::move(why));
    return true;
  }
  std::vector<std::string> why;
  // Whether a smaller or different job could run now, or only a partition coming back up.
  bool any_size_limit = false;
  for (const Candidate& c : d.candidates) {
    if (c.exclusion != Exclusion::kRegionNotAllowed &&
        c.exclusion != Exclusion::kJurisdictionNotAccepted &&
        c.exclusion != Exclusion::kNotRequested) {
      why.push_back(absl::StrCat(w.reg.partitions()[c.partition].name, ": ",
                                 Why(w, c)));
      any_size_limit = any_size_limit || (c.exclusion != Exclusion::kNotUp &&
                                          c.exclusion != Exclusion::kNotInCluster);
    }
  }
  if (why.empty()) {
    Reject(d, RejectCode::kNoCandidate,
           absl::StrCat(ResidencyRule(w), ", and no partition there is run by an operator "
                        "under a jurisdiction the datasets accept"));
  } else {
    Reject(d, RejectCode::kNoCandidate,
           absl::StrCat("no compliant partition can run this job now (", absl::StrJoin(why, "; "),
                        any_size_limit ? "); ask for fewer GPUs or another GPU type"
                                       : "); try again when one of them is up, or ask your "
                                         "cluster admins"));
  }
  return true;
}

}  // namespace sovereign::decide_internal
