// Minimal cross-reference validation; the full rule set is filled in with the YAML parser.
#include "absl/strings/str_cat.h"
#include "register_internal.h"

namespace sovereign::register_internal {

void Validate(const Parts& parts, std::vector<Diagnostic>* out) {
  auto has = [](const auto& items, const std::string& name) {
    for (const auto& item : items) {
      if (item.name == name) {
        return true;
      }
    }
    return false;
  };
  for (const Site& s : parts.sites) {
    if (!has(parts.regions, s.region)) {
      out->push_back({s.location, absl::StrCat("site \"", s.name, "\": field \"region\": region \"",
                                               s.region, "\" is not declared")});
    }
  }
  for (const Partition& p : parts.partitions) {
    if (!has(parts.sites, p.site)) {
      out->push_back({p.location, absl::StrCat("partition \"", p.name, "\": field \"site\": site \"",
                                               p.site, "\" is not declared")});
    }
  }
}

}  // namespace sovereign::register_internal
