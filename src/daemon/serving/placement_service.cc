#include "serving/placement_service.h"

#include <algorithm>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "records/audit_records.h"
#include "serving/grpc_status.h"
#include "proto_convert.h"
#include "sovereign/dataset_access.h"
#include "sovereign/job_tag.h"
#include "sovereign/placement.h"
#include "sovereign/unix_accounts.h"

namespace sovereign::service {
namespace {

}  // namespace

PlacementServiceImpl::PlacementServiceImpl(ServiceContext* ctx)
    : ctx_(ctx) {}

absl::StatusOr<JobRequest> PlacementServiceImpl::Authorise(const Caller& caller,
                                                           const v1::JobRequest& job,
                                                           absl::Time now) {
  absl::StatusOr<JobRequest> request = FromProto(job, now);
  if (!request.ok()) {
    return request.status();
  }
  if (caller.Has(Role::kService)) {
    if (request->user.empty()) {
      return absl::InvalidArgumentError(
          "job field \"user\" is empty: a service caller must name the job's user");
    }
    if (!job.has_uid()) {
      // An unknown name is an error: the job must not be decided, and recorded, as uid 0's.
      absl::StatusOr<UnixUser> user = UserByName(request->user);
      if (!user.ok()) {
        return absl::Status(absl::IsNotFound(user.status()) ? absl::StatusCode::kInvalidArgument
                                                             : user.status().code(),
                            absl::StrCat("job field \"user\": ", user.status().message(),
                                         "; give the job's uid with the request"));
      }
      request->uid = user->uid;
    }
    return request;
  }
  if (caller.transport == Caller::Transport::kTls) {
    return absl::PermissionDeniedError(absl::StrCat(
        caller.Describe(), " has no Unix identity: only the service role may decide over TCP"));
  }
  if (!request->user.empty() && request->user != caller.user) {
    return absl::PermissionDeniedError(absl::StrCat(caller.Describe(),
                                                    " may ask only for its own jobs, not for "
                                                    "user \"",
                                                    request->user, "\" (service role needed)"));
  }
  if (job.has_uid() && job.uid() != caller.uid) {
    return absl::PermissionDeniedError(absl::StrCat(caller.Describe(),
                                                    " may ask only for its own jobs, not for "
                                                    "uid ",
                                                    job.uid(), " (service role needed)"));
  }
  for (const std::string& group : request->groups) {
    if (std::find(caller.groups.begin(), caller.groups.end(), group) == caller.groups.end()) {
      return absl::PermissionDeniedError(
          absl::StrCat(caller.Describe(), " is not in group \"", group, "\""));
    }
  }
  request->user = caller.user;
  request->uid = caller.uid;
  request->groups = caller.groups;
  return request;
}

void PlacementServiceImpl::DecideFor(const Caller& caller, const v1::JobRequest& job,
                                     const std::string& wanted_id, bool record, v1::Decision* out,
                                     const std::function<void(absl::Status)>& finish) {
  absl::Time now = absl::Now();
  absl::StatusOr<JobRequest> request = Authorise(caller, job, now);
  if (!request.ok()) {
    return finish(request.status());
  }
  if (!wanted_id.empty()) {  // Decide's: the service role's alone
    if (!IsValidDecisionId(wanted_id)) {
      return finish(absl::InvalidArgumentError(absl::StrCat(
          "decision id \"", wanted_id, "\" must be 1 to 64 characters of A-Z a-z 0-9 . _ -")));
    }
  }
  // The register is held for the whole decision: a concurrent Apply does not change it midway.
  std::shared_ptr<const ActiveRegister> active = ctx_->registers->Current();
  // With Slurm, decide as the plugin does: against the published snapshot's cluster view (and
  // its staleness rule), as long as the snapshot carries the register in force (a new register
  // is republished within half a second).
  const snapshot::SnapshotWatcher* watcher = ctx_->snapshot.load(std::memory_order_acquire);
  std::shared_ptr<const snapshot::LoadedSnapshot> snap =
      watcher != nullptr ? watcher->Current() : nullptr;
  if (snap != nullptr && snap->reg->version() != active->reg->version()) {
    snap = nullptr;
  }
  const Register& reg = snap != nullptr ? *snap->reg : *active->reg;
  snapshot::ChosenView chosen{&active->view, false};
  if (snap != nullptr) {
    chosen = snapshot::ChooseView(*snap, now, ctx_->max_cluster_age);
  }
  Decision decision = sovereign::Decide(*request, *chosen.view, reg, now);
  if (chosen.stale) {
    snapshot::NoteStaleView(ctx_->max_cluster_age, &decision);
  }
  std::string id = wanted_id.empty() ? ids_.Next(now) : wanted_id;

  ToProto(decision, reg, out);
  out->set_decision_id(id);
  out->set_objective(std::string(ObjectiveName(reg.policy().objective)));
  if (chosen.view->taken_at() != absl::InfinitePast()) {
    ToProto(chosen.view->taken_at(), out->mutable_cluster_taken_at());
  }
  if (decision.verdict == Verdict::kPlace) {
    // The tag exactly as the Slurm plugin writes it into admin_comment.
    out->set_job_tag(FormatJobTag(
        {id, decision.labels, decision.region, std::string(reg.short_version())}));
  }
  if (!record || ctx_->log == nullptr) {
    ctx_->decisions_served.fetch_add(1, std::memory_order_relaxed);
    return finish(absl::OkStatus());
  }
  audit::AuditRecord rec = DecisionRecord(*request, decision, reg, id, caller.Describe());
  // Nothing is answered that is not written down: the answer goes out from the log's
  // completion, which runs once the record is durable.
  std::string body = rec.body_json;
  ctx_->log->AppendAsync(
      std::move(rec), [this, out, id, finish, body = std::move(body)](
                          absl::StatusOr<audit::AuditRecord> stored) {
        if (!stored.ok()) {
          return finish(
              absl::Status(stored.status().code(),
                           absl::StrCat("decision not made, as it could not be recorded: ",
                                        stored.status().message())));
        }
        if (stored->body_json != body) {
          return finish(absl::AlreadyExistsError(
              absl::StrCat("decision ", id, " was recorded before (seq ", stored->seq,
                           "); read it with GetDecision instead of deciding again")));
        }
        out->set_recorded(true);
        out->set_audit_seq(stored->seq);
        ctx_->decisions_served.fetch_add(1, std::memory_order_relaxed);
        finish(absl::OkStatus());
      });
}

grpc::ServerUnaryReactor* PlacementServiceImpl::Decide(grpc::CallbackServerContext* context,
                                          const v1::DecideRequest* request,
                                          v1::DecideResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  SOVEREIGN_AUTHORISE_OR_FINISH(caller, reactor, *ctx_, *context, kAnyCaller,
                                "ask for a placement");
  // Every Decide appends a record to the audit log: only the service role (the Slurm
  // controller's user and its tools) may grow the log. Anyone may ask where a job would go.
  if (!caller->Has(Role::kService)) {
    reactor->Finish(ToGrpcStatus(absl::PermissionDeniedError(absl::StrCat(
        caller->Describe(),
        " may not record a placement: Decide is for the service role; Explain (sovereignctl "
        "explain) says where a job would go and why, and records nothing"))));
    return reactor;
  }
  DecideFor(*caller, request->job(), request->decision_id(), /*record=*/true,
            response->mutable_decision(),
            [reactor](absl::Status s) { reactor->Finish(ToGrpcStatus(s)); });
  return reactor;
}

grpc::ServerUnaryReactor* PlacementServiceImpl::Explain(grpc::CallbackServerContext* context,
                                           const v1::ExplainRequest* request,
                                           v1::ExplainResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  SOVEREIGN_AUTHORISE_OR_FINISH(caller, reactor, *ctx_, *context, kAnyCaller,
                                "ask for a placement");
  DecideFor(*caller, request->job(), "", /*record=*/false, response->mutable_decision(),
            [reactor](absl::Status s) { reactor->Finish(ToGrpcStatus(s)); });
  return reactor;
}

grpc::ServerUnaryReactor* PlacementServiceImpl::ListDatasets(
    grpc::CallbackServerContext* context, const v1::ListDatasetsRequest* /*request*/,
    v1::ListDatasetsResponse* response) {
  grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
  SOVEREIGN_AUTHORISE_OR_FINISH(caller, reactor, *ctx_, *context, kAnyCaller, "list datasets");
  if (caller->transport == Caller::Transport::kTls) {
    reactor->Finish(ToGrpcStatus(absl::PermissionDeniedError(
        absl::StrCat(caller->Describe(), " has no Unix identity: datasets are listed for the "
                                         "Unix user who asks"))));
    return reactor;
  }
  std::shared_ptr<const ActiveRegister> active = ctx_->registers->Current();
  const Register& reg = *active->reg;
  // The partitions' state as the plugin would see it: the published snapshot's view when it
  // carries the register in force, else the daemon's own.
  const snapshot::SnapshotWatcher* watcher = ctx_->snapshot.load(std::memory_order_acquire);
  std::shared_ptr<const snapshot::LoadedSnapshot> snap =
      watcher != nullptr ? watcher->Current() : nullptr;
  const ClusterView* view = &active->view;
  if (snap != nullptr && snap->reg->version() == reg.version()) {
    view = &snap->view;
  }
  response->set_user(caller->user);
  for (const std::string& g : caller->groups) {
    response->add_groups(g);
  }
  response->set_register_version(reg.version());
  for (const DatasetAccess& a : UsableDatasets(reg, view, caller->user, caller->groups)) {
    v1::UsableDataset* d = response->add_datasets();
    d->set_name(a.dataset->name);
    d->set_classification(std::string(ClassificationName(a.dataset->classification)));
    d->set_access(a.access);
    for (const std::string& r : a.dataset->regions) {
      d->add_regions(r);
    }
    for (const std::string& j : a.dataset->jurisdictions) {
      d->add_jurisdictions(j);
    }
    for (const std::string& acc : a.implied_by_accounts) {
      d->add_implied_by_accounts(acc);
    }
    for (const DatasetPartitionAccess& p : a.partitions) {
      v1::DatasetPartition* dp = d->add_partitions();
      dp->set_name(p.name);
      dp->set_site(p.site);
      dp->set_region(p.region);
      dp->set_state(p.state);
    }
  }
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

}  // namespace sovereign::service
