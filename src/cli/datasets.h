// `sovereignctl datasets`: the datasets a researcher may declare, where each may be processed
// and the partitions that qualify. Offline (--register, optionally --cluster and --user) it
// reads the register here; without --register it asks sovereignd, which answers for the user
// who asks. Both forms print the same table, or the same JSON with --json.
//
// Thread-safety: writes to stdout/stderr; call from the main thread.
#pragma once

#include <string>
#include <vector>

#include "sovereign/dataset_access.h"

namespace sovereign::cli {

// The answer, whoever computed it.
struct DatasetsAnswer {
  std::string user;
  std::vector<std::string> groups;
  std::string register_version;  // full SHA-256
  struct Row {
    std::string name, classification, access;
    std::vector<std::string> regions, jurisdictions, implied_by_accounts;
    std::vector<DatasetPartitionAccess> partitions;
  };
  std::vector<Row> datasets;
};

// The table a person reads, and the JSON document scripts read.
std::string RenderDatasets(const DatasetsAnswer& answer);
std::string DatasetsJson(const DatasetsAnswer& answer);

}  // namespace sovereign::cli
