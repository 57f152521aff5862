// PlacementService: Decide (recorded in the audit log before the answer leaves) and Explain
// (the same decision, not recorded).
//
// Who may ask for whom: a caller with the service role (the Slurm controller's user) may ask
// for any user and its request's user, uid and groups are taken as given. Anyone else asks for
// themselves: the daemon fills user, uid and groups from the connection's credentials, and a
// request naming another user, uid, or a group the caller is not in is refused.
//
// Thread-safety: the gRPC sync server calls the handlers from its thread pool concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "service_context.h"
#include "sovereign/placement.h"
#include "sovereign/v1/placement.grpc.pb.h"

namespace sovereign::service {

class PlacementServiceImpl final : public v1::PlacementService::Service {
 public:
  explicit PlacementServiceImpl(ServiceContext* ctx);

  grpc::Status Decide(grpc::ServerContext* context, const v1::DecideRequest* request,
                      v1::DecideResponse* response) override;
  grpc::Status Explain(grpc::ServerContext* context, const v1::ExplainRequest* request,
                       v1::ExplainResponse* response) override;

  // The request as it will be decided for `caller` (authorisation and identity filled in).
  static absl::StatusOr<JobRequest> Authorise(const Caller& caller, const v1::JobRequest& job,
                                              absl::Time now);

 private:
  absl::Status DecideFor(const Caller& caller, const v1::JobRequest& job,
                         const std::string& wanted_id, bool record, v1::Decision* out);
  std::string NextDecisionId(absl::Time now);

  ServiceContext* const ctx_;
  const uint32_t nonce_;
  std::atomic<uint64_t> counter_{0};
};

// "sovereign:v1 id=<id> ds=a,b region=eu reg=<12 hex>": the tag a placed job carries.
std::string FormatJobTag(const std::string& decision_id, const Decision& decision,
                         const Register& reg);

}  // namespace sovereign::service
