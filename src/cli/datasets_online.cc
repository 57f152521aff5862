#include "datasets_online.h"

#include <iostream>

#include "daemon_client.h"
#include "datasets.h"
#include "sovereign/v1/placement.grpc.pb.h"

namespace sovereign::cli {

int DatasetsOnline(const GlobalOptions& global) {
  v1::ListDatasetsRequest req;
  v1::ListDatasetsResponse resp;
  if (int rc = CallDaemon<v1::PlacementService>(
          global, &v1::PlacementService::Stub::ListDatasets, req, &resp);
      rc != kExitOk) {
    return rc;
  }
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
  std::cout << (global.json ? DatasetsJson(answer) : RenderDatasets(answer));
  return kExitOk;
}

}  // namespace sovereign::cli
