// RegisterService: the register in force, its history, and how admins change it.
//
// Anyone may Get and Validate; admins and auditors read History and Diff; only admins Apply
// and Rollback.
//
// Thread-safety: handlers run concurrently; changes are serialised by the RegisterManager.
#pragma once

#include "serving/service_context.h"
#include "sovereign/v1/register.grpc.pb.h"

namespace sovereign::service {

class RegisterServiceImpl final : public v1::RegisterService::Service {
 public:
  explicit RegisterServiceImpl(ServiceContext* ctx) : ctx_(ctx) {}

  grpc::Status Get(grpc::ServerContext* context, const v1::GetRegisterRequest* request,
                   v1::GetRegisterResponse* response) override;
  grpc::Status Validate(grpc::ServerContext* context, const v1::ValidateRegisterRequest* request,
                        v1::ValidateRegisterResponse* response) override;
  grpc::Status Apply(grpc::ServerContext* context, const v1::ApplyRegisterRequest* request,
                     v1::ApplyRegisterResponse* response) override;
  grpc::Status History(grpc::ServerContext* context, const v1::RegisterHistoryRequest* request,
                       v1::RegisterHistoryResponse* response) override;
  grpc::Status Diff(grpc::ServerContext* context, const v1::DiffRegisterRequest* request,
                    v1::DiffRegisterResponse* response) override;
  grpc::Status Rollback(grpc::ServerContext* context, const v1::RollbackRegisterRequest* request,
                        v1::ApplyRegisterResponse* response) override;

 private:
  // A stored version (full or prefix), parsed; empty = the register in force.
  absl::StatusOr<std::shared_ptr<const Register>> LoadVersion(const std::string& version) const;

  ServiceContext* const ctx_;
};

}  // namespace sovereign::service
