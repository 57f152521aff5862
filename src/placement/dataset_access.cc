#include "sovereign/dataset_access.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "sovereign/residency.h"

namespace sovereign {
namespace {

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// Why `user` may use `ds`, or empty when they may not.
std::string Access(const Dataset& ds, const std::string& user,
                   const std::vector<std::string>& groups) {
  if (ds.OpenToAll()) {
    return "everyone";
  }
  if (Contains(ds.users, user)) {
    return absl::StrCat("user ", user);
  }
  for (const std::string& g : groups) {
    if (Contains(ds.groups, g)) {
      return absl::StrCat("group ", g);
    }
  }
  return "";
}

}  // namespace

std::vector<DatasetAccess> UsableDatasets(const Register& reg, const ClusterView* view,
                                          const std::string& user,
                                          const std::vector<std::string>& groups) {
  std::vector<DatasetAccess> out;
  for (const Dataset& ds : reg.datasets()) {
    DatasetAccess a;
    a.access = Access(ds, user, groups);
    if (a.access.empty()) {
      continue;
    }
    a.dataset = &ds;
    const Residency residency = Residency::Of({&ds}, reg);
    for (size_t i = 0; i < reg.partitions().size(); ++i) {
      const int pi = static_cast<int>(i);
      if (!residency.partition_allowed(pi)) {
        continue;
      }
      const Partition& p = reg.partitions()[i];
      DatasetPartitionAccess pa{p.name, p.site,
                                reg.regions()[reg.RegionOfPartition(pi)].name, ""};
      if (view != nullptr) {
        pa.state = view->present(pi) ? std::string(PartitionStateName(view->status(pi).state))
                                     : std::string("absent");
      }
      a.partitions.push_back(std::move(pa));
    }
    for (const Account& account : reg.accounts()) {
      if (Contains(account.datasets, ds.name)) {
        a.implied_by_accounts.push_back(account.name);
      }
    }
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace sovereign
