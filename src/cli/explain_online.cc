#include "explain_online.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "daemon_client.h"
#include "sovereign/v1/placement.grpc.pb.h"

namespace sovereign::cli {
namespace {

void ToRequest(const JobRequest& in, v1::JobRequest* out) {
  out->set_user(in.user);
  if (!in.user.empty()) {
    out->set_uid(in.uid);
  }
  for (const std::string& g : in.groups) {
    out->add_groups(g);
  }
  out->set_account(in.account);
  for (const std::string& d : in.datasets) {
    out->add_datasets(d);
  }
  for (const std::string& p : in.partitions) {
    out->add_partitions(p);
  }
  out->set_gpus(in.gpus);
  out->set_gpu_type(in.gpu_type);
  out->set_nodes(in.nodes);
  if (in.time_limit > absl::ZeroDuration()) {
    out->mutable_time_limit()->set_seconds(absl::ToInt64Seconds(in.time_limit));
  }
}

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
  auto channel = ConnectToDaemon(global.socket);
  if (!channel.ok()) {
    return ReportError(channel.status());
  }
  auto stub = v1::PlacementService::NewStub(*channel);
  v1::ExplainRequest req;
  ToRequest(request, req.mutable_job());
  v1::ExplainResponse resp;
  grpc::Status s = stub->Explain(CallContext().get(), req, &resp);
  if (!s.ok()) {
    return ReportError(s, global.socket);
  }
  if (global.json) {
    std::cout << ToJson(resp.decision()) << "\n";
  } else {
    Print(resp.decision());
  }
  return resp.decision().verdict() == v1::VERDICT_PLACE ? kExitOk : kExitNo;
}

}  // namespace sovereign::cli
