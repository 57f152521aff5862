#include "explain_online.h"

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "daemon_client.h"
#include "explain_table.h"
#include "proto_convert.h"
#include "sovereign/v1/placement.grpc.pb.h"

namespace sovereign::cli {
namespace {

std::string StatusOf(const v1::Candidate& c) {
  if (c.exclusion() != v1::EXCLUSION_ELIGIBLE) {
    return "excluded";
  }
  return c.rank() == 1 ? "chosen" : "eligible";
}

std::string TimeText(const google::protobuf::Timestamp& t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

// The same lines and columns as the offline explain (explain_table.h), from sovereignd's answer.
void Print(const v1::Decision& d) {
  if (d.verdict() == v1::VERDICT_PLACE) {
    std::cout << "verdict:  place on " << d.partition() << " (region " << d.region() << ")\n";
  } else {
    std::cout << "verdict:  reject (" << d.code_name() << ")\n";
  }
  std::cout << "reason:   " << d.reason() << "\n";
  const std::string labels = d.labels().empty() ? "none" : absl::StrJoin(d.labels(), ", ");
  if (!d.candidates().empty()) {
    std::cout << "labels:   " << labels << "; allowed regions: "
              << (d.allowed_regions().empty() ? "none" : absl::StrJoin(d.allowed_regions(), ", "))
              << "\n";
  } else if (!d.labels().empty()) {
    std::cout << "labels:   " << labels << "\n";
  }
  std::cout << "register: " << d.register_version().substr(0, 12);
  if (!d.objective().empty()) {
    std::cout << " (objective " << d.objective() << ")";
  }
  std::cout << "\n";
  ClusterSource cluster;
  if (d.has_cluster_taken_at()) {
    cluster.path = "sovereignd's cluster view";
    cluster.taken_at = absl::FromUnixSeconds(d.cluster_taken_at().seconds());
    cluster.show_age = true;
  }
  const absl::Time decided = absl::FromUnixSeconds(d.decided_at().seconds());
  std::cout << "cluster:  " << ClusterText(cluster, decided) << "\n";
  std::vector<MeasuredPowerRow> measured;
  for (const v1::Candidate& c : d.candidates()) {
    if (!c.power_from().empty() && c.power_from() != "register") {
      measured.push_back({c.partition(), c.power_from(), c.gpu_watts(),
                          decided - absl::FromUnixSeconds(c.power_at().seconds())});
    }
  }
  if (std::string power = PowerText(measured, d.candidates().size()); !power.empty()) {
    std::cout << "power:    " << power << "\n";
  }
  std::cout << "decided:  " << TimeText(d.decided_at()) << "\n";
  if (d.has_green()) {
    const v1::GreenStart& g = d.green();
    auto time = [](const google::protobuf::Timestamp& t) {
      return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
    };
    std::cout << "green:    "
              << GreenText({absl::Seconds(g.window().seconds()), absl::Seconds(g.asked().seconds()),
                            time(g.immediate_start()), time(g.start()), g.immediate_partition(),
                            g.partition(), g.immediate_co2_grams(), g.co2_grams(), g.saving(),
                            g.moved()})
              << "\n";
  }
  if (d.candidates().empty()) {
    std::cout << "\nNo partition was considered: the request was refused first.\n";
    return;
  }
  std::vector<CandidateRow> rows;
  for (const v1::Candidate& c : d.candidates()) {
    const bool eligible = c.exclusion() == v1::EXCLUSION_ELIGIBLE;
    rows.push_back({c.rank(), c.partition(), c.region(), c.site(), StatusOf(c),
                    eligible ? (c.rank() == 1 ? std::string("chosen")
                                              : absl::StrCat("eligible, ranked ", c.rank()))
                             : c.exclusion_reason(),
                    c.nodes(), c.energy_kwh(), c.jobs_per_kwh(), c.co2_grams(), c.free_gpus()});
  }
  std::cout << "\n" << RenderCandidates(std::move(rows));
}

}  // namespace

int ExplainOnline(const GlobalOptions& global, const JobRequest& request) {
  v1::ExplainRequest req;
  service::ToProto(request, req.mutable_job());
  // A refusal is the answer "no", in either form.
  auto exit_code = [](const v1::ExplainResponse& resp) {
    return resp.decision().verdict() == v1::VERDICT_PLACE ? kExitOk : kExitNo;
  };
  return CallAndPrint<v1::PlacementService>(
      global, &v1::PlacementService::Stub::Explain, req,
      [&](const v1::ExplainResponse& resp) {
        PrintJson(resp.decision());
        return exit_code(resp);
      },
      [&](const v1::ExplainResponse& resp) {
        Print(resp.decision());
        return exit_code(resp);
      });
}

}  // namespace sovereign::cli
