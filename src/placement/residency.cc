#include "sovereign/residency.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sovereign/cluster.h"

namespace sovereign {
namespace {

// A node list longer than this many names is not expanded (a typo such as n[1-99999999]).
constexpr size_t kMaxExpandedNodes = 1 << 20;

bool Contains(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Where the last AND term of a feature expression starts: the position of the last '&' outside
// brackets and parentheses (npos when there is none). False when the brackets do not balance.
bool LastTopLevelAnd(absl::string_view f, size_t* cut) {
  int depth = 0;
  *cut = absl::string_view::npos;
  for (size_t i = 0; i < f.size(); ++i) {
    const char c = f[i];
    if (c == '(' || c == '[') {
      ++depth;
    } else if (c == ')' || c == ']') {
      if (--depth < 0) {
        return false;
      }
    } else if (c == '&' && depth == 0) {
      *cut = i;
    }
  }
  return depth == 0;
}

}  // namespace

Residency Residency::Of(const std::vector<const Dataset*>& labels, const Register& reg) {
  Residency r;
  r.reg_ = &reg;
  r.labels_ = labels;
  const size_t nregions = reg.regions().size();
  const Policy& policy = reg.policy();
  r.unrestricted_ = labels.empty() && policy.unlabelled == UnlabelledRule::kAnyRegion;
  r.region_allowed_.assign(nregions, 1);
  if (labels.empty() && policy.unlabelled == UnlabelledRule::kDefaultRegion) {
    r.region_allowed_.assign(nregions, 0);
    if (int i = reg.RegionIndex(policy.default_region); i >= 0) {
      r.region_allowed_[i] = 1;
    }
  }
  for (const Dataset* ds : labels) {
    for (size_t i = 0; i < nregions; ++i) {
      r.region_allowed_[i] = r.region_allowed_[i] && Contains(ds->regions, reg.regions()[i].name);
    }
  }
  r.site_rule_.assign(reg.sites().size(), static_cast<char>(SiteRule::kAllowed));
  for (size_t s = 0; s < reg.sites().size(); ++s) {
    const Site& site = reg.sites()[s];
    const int region = reg.RegionOfSite(static_cast<int>(s));
    if (region < 0 || !r.region_allowed_[region]) {
      r.site_rule_[s] = static_cast<char>(SiteRule::kRegion);
      continue;
    }
    for (const Dataset* ds : labels) {
      if (!ds->jurisdictions.empty() &&
          !Contains(ds->jurisdictions, site.operator_jurisdiction)) {
        r.site_rule_[s] = static_cast<char>(SiteRule::kJurisdiction);
        break;
      }
    }
  }
  return r;
}

absl::StatusOr<Residency> Residency::OfNames(const std::vector<std::string>& labels,
                                             const Register& reg) {
  std::vector<const Dataset*> resolved;
  resolved.reserve(labels.size());
  for (const std::string& name : labels) {
    const Dataset* ds = reg.FindDataset(name);
    if (ds == nullptr) {
      return absl::NotFoundError(absl::StrCat("dataset \"", name, "\" is not in register ",
                                              std::string(reg.short_version())));
    }
    if (std::find(resolved.begin(), resolved.end(), ds) == resolved.end()) {
      resolved.push_back(ds);
    }
  }
  return Of(resolved, reg);
}

std::vector<int> Residency::allowed_sites() const {
  std::vector<int> out;
  for (size_t s = 0; s < site_rule_.size(); ++s) {
    if (site_rule_[s] == 0) {
      out.push_back(static_cast<int>(s));
    }
  }
  return out;
}

std::string Residency::WhyNot(int site) const {
  const Site& s = reg_->sites()[site];
  std::vector<std::string> who;
  switch (site_rule(site)) {
    case SiteRule::kAllowed:
      return "";
    case SiteRule::kRegion:
      if (labels_.empty()) {
        return absl::StrCat("region ", s.region,
                            " is outside the default region for jobs without datasets");
      }
      for (const Dataset* ds : labels_) {
        if (!Contains(ds->regions, s.region)) {
          who.push_back(ds->name);
        }
      }
      return absl::StrCat("region ", s.region, " is not allowed for ", absl::StrJoin(who, ", "));
    case SiteRule::kJurisdiction:
      for (const Dataset* ds : labels_) {
        if (!ds->jurisdictions.empty() && !Contains(ds->jurisdictions, s.operator_jurisdiction)) {
          who.push_back(ds->name);
        }
      }
      return absl::StrCat("operator ", s.operator_name, " is under ", s.operator_jurisdiction,
                          " jurisdiction, not accepted for ", absl::StrJoin(who, ", "));
  }
  return "";
}

std::string SiteFeature(std::string_view prefix, std::string_view site) {
  return absl::StrCat(absl::string_view(prefix.data(), prefix.size()),
                      absl::string_view(site.data(), site.size()));
}

std::vector<char> SitesWithNodes(const Register& reg, std::string_view prefix,
                                 const std::vector<NodeStatus>& nodes) {
  std::vector<char> out(reg.sites().size(), 0);
  absl::string_view p(prefix.data(), prefix.size());
  for (const NodeStatus& node : nodes) {
    for (const std::string& feature : node.features) {
      absl::string_view f = feature;
      if (absl::ConsumePrefix(&f, p)) {
        if (const Site* site = reg.FindSite(std::string_view(f.data(), f.size()))) {
          out[site - reg.sites().data()] = 1;
        }
      }
    }
  }
  return out;
}

std::string SiteGuardTerm(const Residency& residency, std::string_view prefix,
                          const std::vector<char>* site_has_nodes) {
  if (residency.unrestricted()) {
    return "";
  }
  std::vector<std::string> features;
  for (int s : residency.allowed_sites()) {
    if (site_has_nodes != nullptr && !(*site_has_nodes)[s]) {
      continue;
    }
    // The register outlives the residency, so this reference is safe.
    features.push_back(SiteFeature(prefix, residency.site_name(s)));
  }
  if (features.size() <= 1) {
    return features.empty() ? "" : features[0];
  }
  return absl::StrCat("(", absl::StrJoin(features, "|"), ")");
}

std::string AppendSiteGuard(std::string_view features, std::string_view guard) {
  absl::string_view f(features.data(), features.size());
  absl::string_view g(guard.data(), guard.size());
  f = absl::StripAsciiWhitespace(f);
  if (f.empty()) {
    return std::string(g);
  }
  return absl::StrCat(f, "&", g);
}

absl::StatusOr<std::vector<std::string>> TrailingSiteGuard(std::string_view features,
                                                           std::string_view prefix) {
  absl::string_view f(features.data(), features.size());
  absl::string_view p(prefix.data(), prefix.size());
  auto not_guarded = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat("features \"", f, "\" ", why));
  };
  if (f.find('*') != absl::string_view::npos) {
    // Seen on Slurm 22.05: with a count anywhere, only the counted terms are enforced.
    return not_guarded("use node counts (*N), under which Slurm does not enforce a site guard");
  }
  // The guard is either the whole expression or what follows the last top-level '&'.
  size_t cut = absl::string_view::npos;
  if (!LastTopLevelAnd(f, &cut)) {
    return not_guarded("have an unbalanced bracket");
  }
  absl::string_view term = cut == absl::string_view::npos ? f : f.substr(cut + 1);
  const bool grouped = absl::ConsumePrefix(&term, "(");
  if (grouped && !absl::ConsumeSuffix(&term, ")")) {
    return not_guarded("do not end with a site guard");
  }
  std::vector<std::string> sites;
  for (absl::string_view one : absl::StrSplit(term, '|')) {
    if (!absl::ConsumePrefix(&one, p) || one.empty() ||
        one.find_first_of("()[]&|*,! ") != absl::string_view::npos) {
      return not_guarded(absl::StrCat("do not end with a site guard (",
                                      p.empty() ? "" : absl::StrCat(p, "..."), ")"));
    }
    sites.emplace_back(one);
  }
  if (sites.size() > 1 && !grouped) {
    return not_guarded("do not end with a site guard");
  }
  return sites;
}

std::string StripSiteGuard(std::string_view features, std::string_view prefix) {
  absl::string_view f(features.data(), features.size());
  size_t cut = absl::string_view::npos;
  if (!TrailingSiteGuard(features, prefix).ok() || !LastTopLevelAnd(f, &cut)) {
    return std::string(f);
  }
  return cut == absl::string_view::npos ? std::string() : std::string(f.substr(0, cut));
}

std::string PartitionsBreak(const Register& reg, const Residency& residency,
                           std::string_view partitions) {
  for (absl::string_view p : absl::StrSplit(absl::string_view(partitions.data(), partitions.size()),
                                            ',', absl::SkipEmpty())) {
    const int pi = reg.PartitionIndex(std::string_view(p.data(), p.size()));
    if (pi < 0) {
      return absl::StrCat("partition ", p, " is not in the sovereignty register");
    }
    const int site = reg.SiteOfPartition(pi);
    if (!residency.site_allowed(site)) {
      return absl::StrCat("partition ", p, " (site ", reg.sites()[site].name,
                          "): ", residency.WhyNot(site));
    }
  }
  return "";
}

std::string GuardBreaks(const Register& reg, const Residency& residency, std::string_view features,
                        std::string_view prefix, bool* unreadable) {
  if (unreadable != nullptr) {
    *unreadable = false;
  }
  if (residency.unrestricted()) {
    return "";
  }
  absl::StatusOr<std::vector<std::string>> sites = TrailingSiteGuard(features, prefix);
  if (!sites.ok()) {
    if (unreadable != nullptr) {
      *unreadable = true;
    }
    return std::string(sites.status().message());
  }
  const absl::string_view f(features.data(), features.size());
  for (const std::string& name : *sites) {
    const Site* site = reg.FindSite(name);
    if (site == nullptr) {
      return absl::StrCat("features \"", f, "\" name site ", name,
                          ", which is not in the register");
    }
    const int si = static_cast<int>(site - reg.sites().data());
    if (!residency.site_allowed(si)) {
      return absl::StrCat("features \"", f, "\" allow site ", name, ": ", residency.WhyNot(si));
    }
  }
  return "";
}

NodeSite SiteOfNode(const Register& reg, std::string_view prefix,
                    const std::vector<std::string>& partitions,
                    const std::vector<std::string>& features) {
  NodeSite out;
  absl::string_view p(prefix.data(), prefix.size());
  int by_feature = -1;
  for (const std::string& feature : features) {
    absl::string_view f = feature;
    if (!absl::ConsumePrefix(&f, p)) {
      continue;
    }
    const Site* site = reg.FindSite(std::string_view(f.data(), f.size()));
    if (site == nullptr) {
      out.why = absl::StrCat("its feature ", feature, " names no site of the register");
      return out;
    }
    const int index = static_cast<int>(site - reg.sites().data());
    if (by_feature >= 0 && by_feature != index) {
      out.why = absl::StrCat("it carries two site features (", p, reg.sites()[by_feature].name,
                             ", ", feature, ")");
      return out;
    }
    by_feature = index;
  }
  if (by_feature < 0) {
    out.why = absl::StrCat("it carries no site feature (", p, "<site>)");
    return out;
  }
  for (const std::string& name : partitions) {
    const int pi = reg.PartitionIndex(name);
    if (pi >= 0 && reg.SiteOfPartition(pi) != by_feature) {
      out.why = absl::StrCat("its feature says site ", reg.sites()[by_feature].name,
                             " but it is in partition ", name, " of site ",
                             reg.sites()[reg.SiteOfPartition(pi)].name);
      return out;
    }
  }
  out.site = by_feature;
  return out;
}

std::vector<NodeVerdict> JudgeNodes(const Register& reg, std::string_view prefix,
                                    const std::vector<std::string>& labels,
                                    const std::vector<std::string>& node_names,
                                    const std::vector<NodeStatus>& nodes) {
  absl::StatusOr<Residency> residency = Residency::OfNames(labels, reg);
  std::vector<NodeVerdict> out;
  out.reserve(node_names.size());
  for (const std::string& name : node_names) {
    NodeVerdict v;
    v.node = name;
    const auto it = std::find_if(nodes.begin(), nodes.end(),
                                 [&](const NodeStatus& n) { return n.name == name; });
    NodeSite at;
    if (it == nodes.end()) {
      at.why = "slurmctld does not list it";
    } else {
      v.partitions = it->partitions;
      at = SiteOfNode(reg, prefix, it->partitions, it->features);
    }
    v.site = at.site;
    if (residency.ok() && residency->unrestricted()) {
      // Nothing to keep anywhere: a job without datasets under an any-region policy.
    } else if (at.site < 0) {
      v.why = absl::StrCat("node ", name, " has no known site: ", at.why);
    } else if (!residency.ok()) {
      v.why = absl::StrCat("node ", name, " (site ", reg.sites()[at.site].name, "): ",
                           residency.status().message());
    } else if (!residency->site_allowed(at.site)) {
      v.why = absl::StrCat("node ", name, " (site ", reg.sites()[at.site].name, "): ",
                           residency->WhyNot(at.site));
    }
    out.push_back(std::move(v));
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> ExpandNodeList(std::string_view list) {
  absl::string_view text(list.data(), list.size());
  std::vector<std::string> out;
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("node list \"", text, "\": ", why));
  };
  // Split on commas outside brackets.
  std::vector<absl::string_view> names;
  int depth = 0;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    const char c = i < text.size() ? text[i] : ',';
    if (c == '[') {
      ++depth;
    } else if (c == ']') {
      --depth;
    } else if (c == ',' && depth == 0) {
      names.push_back(absl::StripAsciiWhitespace(text.substr(start, i - start)));
      start = i + 1;
    }
    if (depth < 0 || depth > 1) {
      return bad("unbalanced or nested brackets");
    }
  }
  if (depth != 0) {
    return bad("unbalanced brackets");
  }
  for (absl::string_view name : names) {
    if (name.empty()) {
      continue;
    }
    const size_t open = name.find('[');
    if (open == absl::string_view::npos) {
      out.emplace_back(name);
      continue;
    }
    const size_t close = name.find(']', open);
    if (name.find('[', close) != absl::string_view::npos) {
      return bad("more than one bracket group in a name");
    }
    const absl::string_view head = name.substr(0, open);
    const absl::string_view tail = name.substr(close + 1);
    for (absl::string_view range : absl::StrSplit(name.substr(open + 1, close - open - 1), ',')) {
      std::pair<absl::string_view, absl::string_view> ends =
          absl::StrSplit(range, absl::MaxSplits('-', 1));
      if (ends.second.empty()) {
        ends.second = ends.first;
      }
      uint64_t lo = 0;
      uint64_t hi = 0;
      if (ends.first.empty() || !absl::SimpleAtoi(ends.first, &lo) ||
          !absl::SimpleAtoi(ends.second, &hi) || hi < lo) {
        return bad(absl::StrCat("range \"", range, "\" is not N or N-M"));
      }
      if (out.size() + (hi - lo) >= kMaxExpandedNodes) {
        return bad("too many nodes");
      }
      const size_t width = ends.first.size();  // "01-03": zero-padded to the first bound's width
      for (uint64_t n = lo; n <= hi; ++n) {
        std::string digits = absl::StrCat(n);
        if (digits.size() < width) {
          digits.insert(0, width - digits.size(), '0');
        }
        out.push_back(absl::StrCat(head, digits, tail));
      }
    }
  }
  return out;
}

}  // namespace sovereign
