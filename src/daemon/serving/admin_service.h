// AdminService: the daemon's status for `sovereignctl status`. Any authenticated caller.
#pragma once

#include "serving/service_context.h"
#include "sovereign/v1/admin.grpc.pb.h"

namespace sovereign::service {

class AdminServiceImpl final : public v1::AdminService::Service {
 public:
  explicit AdminServiceImpl(ServiceContext* ctx) : ctx_(ctx) {}

  grpc::Status GetStatus(grpc::ServerContext* context, const v1::GetStatusRequest* request,
                         v1::GetStatusResponse* response) override;

 private:
  ServiceContext* const ctx_;
};

}  // namespace sovereign::service
