#include "datasets_online.h"

#include <iostream>

#include "daemon_client.h"
#include "datasets.h"
#include "sovereign/v1/placement.grpc.pb.h"

namespace sovereign::cli {

namespace {

// The daemon's answer in the form the offline command prints (datasets.h).
DatasetsAnswer ToAnswer(const v1::ListDatasetsResponse& resp) {
  DatasetsAnswer answer;
  answer.user = resp.user();
  answer.groups.assign(resp.groups().begin(), resp.groups().end());
  answer.register_version = resp.register_version();
  for (const v1::UsableDataset& d : resp.datasets()) {
    DatasetsAnswer::Row row;
    row.name = d.name();
    row.classification = d.classification();
    row.access = d.access();
    row.regions.assign(d.regions().begin(), d.regions().end());
    row.jurisdictions.assign(d.jurisdictions().begin(), d.jurisdictions().end());
    row.implied_by_accounts.assign(d.implied_by_accounts().begin(),
                                   d.implied_by_accounts().end());
    for (const v1::DatasetPartition& p : d.partitions()) {
      row.partitions.push_back({p.name(), p.site(), p.region(), p.state()});
    }
    answer.datasets.push_back(std::move(row));
  }
  return answer;
}

}  // namespace

int DatasetsOnline(const GlobalOptions& global) {
  return CallAndPrint<v1::PlacementService>(
      global, &v1::PlacementService::Stub::ListDatasets, v1::ListDatasetsRequest(),
      [](const v1::ListDatasetsResponse& resp) { std::cout << DatasetsJson(ToAnswer(resp)); },
      [](const v1::ListDatasetsResponse& resp) { std::cout << RenderDatasets(ToAnswer(resp)); });
}

}  // namespace sovereign::cli
