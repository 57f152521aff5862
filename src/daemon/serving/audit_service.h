// AuditService: the decision log for auditors (everything) and users (their own decisions).
//
// Admins and auditors read every record, the checkpoint, the export and Verify. Anyone else
// lists, watches and reads only records whose user is themselves; asking for another user's is
// refused (PERMISSION_DENIED), never silently narrowed.
//
// Thread-safety: handlers run concurrently on the sync server's threads. A WatchDecisions
// stream holds one thread until the client cancels or the daemon stops.
#pragma once

#include "serving/service_context.h"
#include "sovereign/v1/audit.grpc.pb.h"

namespace sovereign::service {

class AuditServiceImpl final : public v1::AuditService::Service {
 public:
  explicit AuditServiceImpl(ServiceContext* ctx) : ctx_(ctx) {}

  grpc::Status ListDecisions(grpc::ServerContext* context, const v1::ListDecisionsRequest* request,
                             v1::ListDecisionsResponse* response) override;
  grpc::Status GetDecision(grpc::ServerContext* context, const v1::GetDecisionRequest* request,
                           v1::GetDecisionResponse* response) override;
  grpc::Status WatchDecisions(grpc::ServerContext* context,
                              const v1::WatchDecisionsRequest* request,
                              grpc::ServerWriter<v1::WatchDecisionsResponse>* writer) override;
  grpc::Status GetCheckpoint(grpc::ServerContext* context, const v1::GetCheckpointRequest* request,
                             v1::GetCheckpointResponse* response) override;
  grpc::Status Export(grpc::ServerContext* context, const v1::ExportRequest* request,
                      grpc::ServerWriter<v1::ExportResponse>* writer) override;
  grpc::Status Verify(grpc::ServerContext* context, const v1::VerifyRequest* request,
                      v1::VerifyResponse* response) override;
  grpc::Status EnergyReport(grpc::ServerContext* context, const v1::EnergyReportRequest* request,
                            v1::EnergyReportResponse* response) override;

 private:
  // The caller's filter, narrowed to what it may read. PERMISSION_DENIED when it asks for
  // another user's records; INVALID_ARGUMENT for a verdict no record can have, a region that is
  // neither in the register in force nor in any record, or a register version that is not hex.
  absl::StatusOr<audit::AuditQuery> ScopedQuery(const Caller& caller,
                                                const v1::DecisionFilter& filter) const;

  ServiceContext* const ctx_;
};

}  // namespace sovereign::service
