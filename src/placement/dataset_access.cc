#include "sovereign/dataset_access.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "sovereign/residency.h"

namespace sovereign {
namespace {

bool Contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// GrantOf in words, for the table: "everyone", "user <name>" or "group <name>"; empty: none.
std::string AccessText(const DatasetGrant& grant, const std::string& user) {
  switch (grant.by) {
    case DatasetGrant::kEveryone:
      return "everyone";
    case DatasetGrant::kUser:
      return absl::StrCat("user ", user);
    case DatasetGrant::kGroup:
      return absl::StrCat("group ", *grant.group);
    case DatasetGrant::kNone:
      break;
  }
  return "";
}

}  // namespace

DatasetGrant GrantOf(const Dataset& ds, const std::string& user,
                     const std::vector<std::string>& groups) {
  if (ds.OpenToAll()) {
    return {DatasetGrant::kEveryone, nullptr};
  }
  if (Contains(ds.users, user)) {
    return {DatasetGrant::kUser, nullptr};
  }
  for (const std::string& g : groups) {
    if (Contains(ds.groups, g)) {
      return {DatasetGrant::kGroup, &g};
    }
  }
  return {};
}

std::vector<DatasetAccess> UsableDatasets(const Register& reg, const ClusterView* view,
                                          const std::string& user,
                                          const std::vector<std::string>& groups) {
  std::vector<DatasetAccess> out;
  for (const Dataset& ds : reg.datasets()) {
    DatasetAccess a;
    a.access = AccessText(GrantOf(ds, user, groups), user);
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
