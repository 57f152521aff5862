#include "explain_online.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "daemon_client.h"
#include "proto_convert.h"
#include "sovereign/v1/placement.grpc.pb.h"

namespace sovereign::cli {
namespace {

void Print(const v1::Decision& d) {
  if (d.verdict() == v1::VERDICT_PLACE) {
    std::cout << "PLACE in " << d.partition() << " (region " << d.region() << ")\n";
  } else {
    std::cout << "REJECT (" << d.code_name() << ")\n";
  }
  std::cout << "reason:          " << d.reason() << "\n"
            << "datasets:        " << absl::StrJoin(d.labels(), ",") << "\n"
            << "allowed regions: " << absl::StrJoin(d.allowed_regions(), ",") << "\n"
            << "register:        " << d.register_version().substr(0, 12) << "\n";
  std::vector<std::vector<std::string>> rows;
  for (const v1::Candidate& c : d.candidates()) {
    bool eligible = c.exclusion() == v1::EXCLUSION_ELIGIBLE;
    rows.push_back({c.partition(), c.region(), c.rank() > 0 ? absl::StrCat(c.rank()) : "-",
                    eligible ? absl::StrFormat("%.3f", c.energy_kwh()) : "",
                    eligible ? absl::StrFormat("%.0f", c.co2_grams()) : "",
                    absl::StrCat(c.free_gpus()), eligible ? "" : c.exclusion_reason()});
  }
  std::cout << FormatTable({"PARTITION", "REGION", "RANK", "KWH", "GCO2", "FREE_GPUS", "EXCLUDED"},
                           rows);
}

}  // namespace

int ExplainOnline(const GlobalOptions& global, const JobRequest& request) {
  v1::ExplainRequest req;
  service::ToProto(request, req.mutable_job());
  v1::ExplainResponse resp;
  if (int rc = CallDaemon<v1::PlacementService>(global, &v1::PlacementService::Stub::Explain, req,
                                                &resp);
      rc != kExitOk) {
    return rc;
  }
  if (global.json) {
    std::cout << ToJson(resp.decision()) << "\n";
  } else {
    Print(resp.decision());
  }
  return resp.decision().verdict() == v1::VERDICT_PLACE ? kExitOk : kExitNo;
}

}  // namespace sovereign::cli
