// The residency rule at site level, written once: where a job whose labels are a given set of
// datasets may run, and which node is at which site. Decide(), the Slurm plugin's guards (at
// submission and on every modification), the PrologSlurmctld check and sovereignd's
// attestation all ask this, so that no path judges by a weaker rule than placement does.
//
//   a site is allowed  <=>  its region is allowed for every label (each dataset's `regions`;
//                           for a job without labels, the policy's unlabelled rule)
//                      and  its operator's jurisdiction is accepted by every label that lists
//                           `jurisdictions`
//
// A job is kept on allowed sites by a node feature: every node carries "<prefix><site>"
// (`site_paris-1`), and the plugin appends one AND term to the job's features that only nodes
// of allowed sites satisfy (`site_paris-1` or `(site_paris-1|site_munich-1)`). Slurm
// intersects a job's features with every allocation it makes, whatever partition, node list or
// reservation the job ends up with.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "sovereign/register.h"

namespace sovereign {

// Why a site is not allowed for a set of labels.
enum class SiteRule { kAllowed, kRegion, kJurisdiction };

class Residency {
 public:
  // The rule for resolved datasets. `reg` must outlive the Residency.
  static Residency Of(const std::vector<const Dataset*>& labels, const Register& reg);
  // The rule for dataset names; NOT_FOUND naming the first name the register does not know.
  static absl::StatusOr<Residency> OfNames(const std::vector<std::string>& labels,
                                           const Register& reg);

  // True when nothing restricts the job: no labels and the policy lets unlabelled jobs run
  // anywhere. Such a job needs no node guard.
  bool unrestricted() const { return unrestricted_; }
  bool region_allowed(int region) const { return region_allowed_[region] != 0; }
  SiteRule site_rule(int site) const { return static_cast<SiteRule>(site_rule_[site]); }
  bool site_allowed(int site) const { return site_rule_[site] == 0; }
  bool partition_allowed(int partition) const {
    return site_allowed(reg_->SiteOfPartition(partition));
  }
  // Indexes into Register::sites() of the allowed sites, in register order.
  std::vector<int> allowed_sites() const;
  // Why `site` is not allowed, naming only the labels that exclude it: "region us is not
  // allowed for patients-eu" or "operator Example Cloud Inc. is under US jurisdiction, not
  // accepted for patients-eu". Empty when it is allowed.
  std::string WhyNot(int site) const;
  const std::vector<const Dataset*>& labels() const { return labels_; }
  const std::string& site_name(int site) const { return reg_->sites()[site].name; }

 private:
  Residency() = default;
  const Register* reg_ = nullptr;
  std::vector<const Dataset*> labels_;
  bool unrestricted_ = false;
  std::vector<char> region_allowed_;  // by region index
  std::vector<char> site_rule_;       // by site index: a SiteRule
};

// The node feature that names a site: "<prefix><site>".
std::string SiteFeature(std::string_view prefix, std::string_view site);

// The feature term only nodes of allowed sites satisfy: "site_a" for one site,
// "(site_a|site_b)" for several. Empty when no site is allowed or the job is unrestricted.
// `site_has_nodes` (by site index), when given, leaves out sites no node carries the feature
// of: Slurm refuses a job that names a feature no node has.
std::string SiteGuardTerm(const Residency& residency, std::string_view prefix,
                          const std::vector<char>* site_has_nodes = nullptr);

// By site index: whether some node carries the site's feature.
struct NodeStatus;
std::vector<char> SitesWithNodes(const Register& reg, std::string_view prefix,
                                 const std::vector<NodeStatus>& nodes);

// A job's feature expression with the guard appended as its last AND term. Slurm evaluates
// `&` and `|` from left to right, so "<anything>&<guard>" holds only where the guard holds.
std::string AppendSiteGuard(std::string_view features, std::string_view guard);

// The sites named by the guard that ends `features` (the inverse of AppendSiteGuard).
// INVALID_ARGUMENT when `features` does not end with a guard term, or when what precedes it
// could escape it: an unbalanced bracket or parenthesis, or a node count (`gpu*2&site_a`:
// Slurm 22.05 then enforces only the counted terms; seen on the mini cluster).
absl::StatusOr<std::vector<std::string>> TrailingSiteGuard(std::string_view features,
                                                           std::string_view prefix);

// Why a job held to `residency` may not be in these partitions (a comma-separated list): the
// first that is not in the register or whose site is not allowed ("partition gpu-us-h100 (site
// sanjose-1): region us is not allowed for patients-eu"). Empty when all comply.
std::string PartitionsBreak(const Register& reg, const Residency& residency,
                            std::string_view partitions);

// Why a job held to `residency` may not have these features: they do not end with a site guard
// (TrailingSiteGuard's message; *unreadable is then set), or the guard names a site that is not
// in the register or not allowed. Empty when they comply, or when the job is unrestricted.
std::string GuardBreaks(const Register& reg, const Residency& residency, std::string_view features,
                        std::string_view prefix, bool* unreadable = nullptr);

// `features` without its trailing site guard (TrailingSiteGuard): what the user asked for.
// `features` unchanged when it does not end with one.
std::string StripSiteGuard(std::string_view features, std::string_view prefix);

// The site a node is at, from the two things that say so: its site feature and the register
// partitions it belongs to. Known (index into Register::sites()) only when the node carries
// exactly one site feature naming a register site and every register partition it is in is
// at that site; otherwise -1 and `why` says which declaration is missing or disagrees. A node
// of unknown site is allowed for no restricted job.
struct NodeSite {
  int site = -1;
  std::string why;
};
NodeSite SiteOfNode(const Register& reg, std::string_view prefix,
                    const std::vector<std::string>& partitions,
                    const std::vector<std::string>& features);

// Judges the nodes a job was given: each node's site (SiteOfNode, from `nodes`, what
// slurmctld says of every node) against the residency of `labels` under `reg`. One entry per
// name in `node_names`; `why` is empty for an allowed node, else names the node, its site and
// the rule it breaks ("node us-h100-1 (site sanjose-1): region us is not allowed for
// patients-eu"). A node slurmctld does not list, or whose site is unknown, is not allowed,
// unless the labels restrict nothing (Residency::unrestricted).
struct NodeVerdict {
  std::string node;
  int site = -1;  // index into Register::sites(), -1 when unknown
  std::vector<std::string> partitions;
  std::string why;
};
std::vector<NodeVerdict> JudgeNodes(const Register& reg, std::string_view prefix,
                                    const std::vector<std::string>& labels,
                                    const std::vector<std::string>& node_names,
                                    const std::vector<NodeStatus>& nodes);

// Expands a Slurm host list ("fr-a100-[1-2],us-h100-1", "n[01-03,7]"): one bracket group per
// name. INVALID_ARGUMENT for anything else, so that a caller that cannot read a node list
// refuses rather than guesses.
absl::StatusOr<std::vector<std::string>> ExpandNodeList(std::string_view list);

}  // namespace sovereign
