// PlacementService: Decide (recorded in the audit log before the answer leaves) and Explain
// (the same decision, not recorded).
//
// Who may ask for whom: a caller with the service role (the Slurm controller's user) may ask
// for any user and its request's user, uid and groups are taken as given. Anyone else asks for
// themselves: the daemon fills user, uid and groups from the connection's credentials, and a
// request naming another user, uid, or a group the caller is not in is refused.
//
// Thread-safety: a callback service. gRPC calls the handlers concurrently from its threads; a
// Decide's answer is sent from the audit log's completion (the caller's thread when the log was
// idle, else the log's writer thread), so no gRPC thread waits for a group commit.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "absl/status/statusor.h"
#include "serving/service_context.h"
#include "sovereign/decision_id.h"
#include "sovereign/placement.h"
#include "sovereign/v1/placement.grpc.pb.h"

namespace sovereign::service {

class PlacementServiceImpl final : public v1::PlacementService::CallbackService {
 public:
  explicit PlacementServiceImpl(ServiceContext* ctx);

  grpc::ServerUnaryReactor* Decide(grpc::CallbackServerContext* context,
                                   const v1::DecideRequest* request,
                                   v1::DecideResponse* response) override;
  grpc::ServerUnaryReactor* Explain(grpc::CallbackServerContext* context,
                                    const v1::ExplainRequest* request,
                                    v1::ExplainResponse* response) override;
  // The datasets the caller may use, for the caller's own Unix identity (as Explain).
  grpc::ServerUnaryReactor* ListDatasets(grpc::CallbackServerContext* context,
                                         const v1::ListDatasetsRequest* request,
                                         v1::ListDatasetsResponse* response) override;

  // The request as it will be decided for `caller` (authorisation and identity filled in).
  static absl::StatusOr<JobRequest> Authorise(const Caller& caller, const v1::JobRequest& job,
                                              absl::Time now);

 private:
  // Decides for `caller` into `out` and calls `finish` exactly once: at once, or, when
  // `record`, from the audit log's completion once the record is durable.
  void DecideFor(const Caller& caller, const v1::JobRequest& job, const std::string& wanted_id,
                 bool record, v1::Decision* out, const std::function<void(absl::Status)>& finish);

  ServiceContext* const ctx_;
  DecisionIds ids_;
};


}  // namespace sovereign::service
