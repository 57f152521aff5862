#include "serving/register_service.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "serving/grpc_status.h"
#include "proto_convert.h"
#include "sovereign/register_diff.h"

namespace sovereign::service {
namespace {

constexpr int kDefaultHistory = 50;
constexpr int kMaxHistory = 1000;

// A stored revision as the API shows it (the register service alone answers with revisions).
void RevisionToProto(const StoredRegister& in, v1::RegisterRevision* out) {
  out->set_revision(in.revision);
  out->set_version(in.version);
  out->set_short_version(in.version.substr(0, 12));
  ToProto(in.applied_at, out->mutable_applied_at());
  out->set_applied_by(in.applied_by);
  out->set_action(in.action);
  out->set_source(in.source);
  out->set_comment(in.comment);
}

void FillApplyResponse(const ApplyResult& r, v1::ApplyRegisterResponse* out) {
  RevisionToProto(r.revision, out->mutable_revision());
  out->set_previous_version(r.previous_version);
  out->set_changed(r.changed);
}

// What `reg` does to the jobs slurmctld holds, into the response (nothing without Slurm).
void CheckJobs(const ServiceContext& ctx, const Register& reg, bool dry_run,
               v1::ApplyRegisterResponse* out) {
  if (!ctx.check_jobs) {
    return;
  }
  absl::StatusOr<ImpactSummary> s = ctx.check_jobs(reg, dry_run);
  v1::JobImpact* impact = out->mutable_impact();
  if (!s.ok()) {
    impact->add_errors(std::string(s.status().message()));
    return;
  }
  impact->set_checked(true);
  impact->set_pending_checked(s->pending_checked);
  impact->set_moved(s->moved);
  impact->set_held(s->held);
  impact->set_running_at_risk(s->running_at_risk);
  for (const std::string& d : s->details) {
    impact->add_details(d);
  }
  for (const std::string& e : s->errors) {
    impact->add_errors(e);
  }
}

// `reg` against the cluster sovereignd serves and the Unix groups and users of this host.
void CheckCluster(const ServiceContext& ctx, const Register& reg, v1::ClusterCheck* out) {
  std::vector<ClusterFinding> findings = CheckAccounts(reg, NssAccountLookup());
  if (!ctx.read_inventory) {
    out->set_not_checked("sovereignd has no Slurm side (slurm.slurm_conf is empty)");
  } else if (absl::StatusOr<SlurmInventory> inv = ctx.read_inventory(); !inv.ok()) {
    out->set_not_checked(std::string(inv.status().message()));
  } else {
    out->set_checked(true);
    out->set_source(inv->source);
    std::vector<ClusterFinding> slurm = CheckAgainstSlurm(reg, *inv);
    findings.insert(findings.begin(), slurm.begin(), slurm.end());
  }
  for (const ClusterFinding& f : findings) {
    v1::Diagnostic* d =
        f.severity == FindingSeverity::kError ? out->add_errors() : out->add_warnings();
    ToProto(Diagnostic{f.location, f.message}, d);
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Register>> RegisterServiceImpl::LoadVersion(
    const std::string& version) const {
  if (version.empty()) {
    return ctx_->registers->Current()->reg;
  }
  absl::StatusOr<StoredRegister> stored = ctx_->registers->store()->FindVersion(version);
  if (!stored.ok()) {
    return stored.status();
  }
  return Register::Parse(stored->yaml, stored->source);
}

grpc::Status RegisterServiceImpl::Get(grpc::ServerContext* context,
                                      const v1::GetRegisterRequest* request,
                                      v1::GetRegisterResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kAnyCaller, "read the register");
  std::shared_ptr<const ActiveRegister> active = ctx_->registers->Current();
  const std::string wanted =
      request->version().empty() ? active->reg->version() : request->version();
  absl::StatusOr<StoredRegister> stored = ctx_->registers->store()->FindVersion(wanted);
  if (!stored.ok()) {
    return ToGrpcStatus(stored.status());
  }
  absl::StatusOr<std::shared_ptr<const Register>> reg =
      Register::Parse(stored->yaml, stored->source);
  if (!reg.ok()) {
    return ToGrpcStatus(reg.status());
  }
  RevisionToProto(*stored, response->mutable_revision());
  response->set_yaml(stored->yaml);
  response->set_canonical_json((*reg)->canonical());
  response->set_active(stored->version == active->reg->version());
  return grpc::Status::OK;
}

grpc::Status RegisterServiceImpl::Validate(grpc::ServerContext* context,
                                           const v1::ValidateRegisterRequest* request,
                                           v1::ValidateRegisterResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kAnyCaller, "validate a register");
  std::vector<Diagnostic> diagnostics;
  absl::StatusOr<std::shared_ptr<const Register>> reg = Register::Parse(
      request->yaml(), request->filename().empty() ? "register.yaml" : request->filename(),
      &diagnostics);
  response->set_valid(reg.ok());
  if (reg.ok()) {
    response->set_version((*reg)->version());
    if (request->check_cluster()) {
      CheckCluster(*ctx_, **reg, response->mutable_cluster());
    }
  }
  for (const Diagnostic& d : diagnostics) {
    ToProto(d, response->add_diagnostics());
  }
  return grpc::Status::OK;
}

grpc::Status RegisterServiceImpl::Apply(grpc::ServerContext* context,
                                        const v1::ApplyRegisterRequest* request,
                                        v1::ApplyRegisterResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kAdmins, "apply a register");
  const std::string filename = request->filename().empty() ? "register.yaml" : request->filename();
  if (request->dry_run()) {
    absl::StatusOr<std::shared_ptr<const Register>> next =
        Register::Parse(request->yaml(), filename);
    if (!next.ok()) {
      return ToGrpcStatus(next.status());
    }
    response->set_previous_version(ctx_->registers->Current()->reg->version());
    response->mutable_revision()->set_version((*next)->version());
    CheckJobs(*ctx_, **next, /*dry_run=*/true, response);
    return grpc::Status::OK;
  }
  absl::StatusOr<ApplyResult> r =
      ctx_->registers->Apply(request->yaml(), filename, caller->Describe(), "apply",
                             request->comment(), request->expected_version());
  if (!r.ok()) {
    return ToGrpcStatus(r.status());
  }
  FillApplyResponse(*r, response);
  CheckJobs(*ctx_, *ctx_->registers->Current()->reg, /*dry_run=*/false, response);
  return grpc::Status::OK;
}

grpc::Status RegisterServiceImpl::History(grpc::ServerContext* context,
                                          const v1::RegisterHistoryRequest* request,
                                          v1::RegisterHistoryResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kReaders, "read the register history");
  int limit =
      request->page_size() <= 0 ? kDefaultHistory : std::min(request->page_size(), kMaxHistory);
  int64_t before = 0;
  if (!request->page_token().empty() &&
      (!absl::SimpleAtoi(request->page_token(), &before) || before <= 0)) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("page_token \"", request->page_token(), "\" is not one this server gave")));
  }
  absl::StatusOr<std::vector<StoredRegister>> history =
      ctx_->registers->store()->History(limit, before);
  if (!history.ok()) {
    return ToGrpcStatus(history.status());
  }
  for (const StoredRegister& r : *history) {
    RevisionToProto(r, response->add_revisions());
  }
  if (static_cast<int>(history->size()) == limit && history->back().revision > 1) {
    response->set_next_page_token(absl::StrCat(history->back().revision));
  }
  return grpc::Status::OK;
}

grpc::Status RegisterServiceImpl::Diff(grpc::ServerContext* context,
                                       const v1::DiffRegisterRequest* request,
                                       v1::DiffRegisterResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kReaders, "diff register versions");
  const bool to_file = !request->to_yaml().empty();
  if (request->from_version().empty() && !to_file) {
    return ToGrpcStatus(absl::InvalidArgumentError("from_version is empty"));
  }
  if (to_file && !request->to_version().empty()) {
    return ToGrpcStatus(
        absl::InvalidArgumentError("give to_version or to_yaml, not both"));
  }
  absl::StatusOr<std::shared_ptr<const Register>> from = LoadVersion(request->from_version());
  if (!from.ok()) {
    return ToGrpcStatus(from.status());
  }
  absl::StatusOr<std::shared_ptr<const Register>> to =
      to_file ? Register::Parse(request->to_yaml(), request->to_filename().empty()
                                                        ? "register.yaml"
                                                        : request->to_filename())
              : LoadVersion(request->to_version());
  if (!to.ok()) {
    return ToGrpcStatus(to.status());
  }
  response->set_from_version((*from)->version());
  response->set_to_version((*to)->version());
  for (const ObjectDiff& d : DiffRegisters(**from, **to)) {
    ToProto(d, response->add_changes());
  }
  return grpc::Status::OK;
}

grpc::Status RegisterServiceImpl::Rollback(grpc::ServerContext* context,
                                           const v1::RollbackRegisterRequest* request,
                                           v1::ApplyRegisterResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kAdmins, "roll the register back");
  absl::StatusOr<ApplyResult> r =
      ctx_->registers->Rollback(request->version(), caller->Describe(), request->comment());
  if (!r.ok()) {
    return ToGrpcStatus(r.status());
  }
  FillApplyResponse(*r, response);
  CheckJobs(*ctx_, *ctx_->registers->Current()->reg, /*dry_run=*/false, response);
  return grpc::Status::OK;
}

}  // namespace sovereign::service
