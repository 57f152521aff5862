#include "serving/admin_service.h"

#include "serving/grpc_status.h"
#include "proto_convert.h"

#ifndef SOVEREIGN_VERSION
#define SOVEREIGN_VERSION "unknown"
#endif

namespace sovereign::service {
namespace {

// Violations and at-risk records are counted up to this many (each counted record is read).
constexpr int kStatusCountLimit = 1000;

}  // namespace

grpc::Status AdminServiceImpl::GetStatus(grpc::ServerContext* context,
                                         const v1::GetStatusRequest* /*request*/,
                                         v1::GetStatusResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kAnyCaller, "ask for the daemon's status");
  std::shared_ptr<const ActiveRegister> active = ctx_->registers->Current();
  response->set_daemon_version(SOVEREIGN_VERSION);
  ToProto(ctx_->started_at, response->mutable_started_at());
  response->set_register_version(active->reg->version());
  response->set_register_revision(active->revision);
  response->set_audit_enabled(ctx_->log != nullptr);
  response->set_audit_head_seq(ctx_->log != nullptr ? ctx_->log->HeadSeq() : 0);
  response->set_audit_sync(ctx_->audit_sync);
  if (ctx_->log != nullptr) {
    audit::CommitStats commits = ctx_->log->GetCommitStats();
    response->set_audit_records_appended(commits.records);
    response->set_audit_transactions(commits.transactions);
    response->set_audit_already_logged(commits.already_logged);
    // The verdict index makes these cheap; the count stops at a bound.
    for (const auto& [verdict, setter] :
         {std::pair<const char*, void (v1::GetStatusResponse::*)(int64_t)>{
              "violation", &v1::GetStatusResponse::set_audit_violations},
          {"at_risk", &v1::GetStatusResponse::set_audit_at_risk}}) {
      audit::AuditQuery q;
      q.verdict = verdict;
      q.limit = kStatusCountLimit;
      absl::StatusOr<std::vector<audit::AuditRecord>> found = ctx_->log->List(q);
      (response->*setter)(found.ok() ? static_cast<int64_t>(found->size()) : -1);
    }
  }
  if (ctx_->slurm_status) {
    SlurmSideStatus s = ctx_->slurm_status();
    response->set_slurm_enabled(true);
    if (s.snapshot_published_at != absl::InfinitePast()) {
      ToProto(s.snapshot_published_at, response->mutable_snapshot_published_at());
    }
    response->set_snapshot_write_failures(s.snapshot_write_failures);
    response->set_snapshot_last_write_error(s.snapshot_last_write_error);
    response->set_carbon_series_dir(s.carbon_series_dir);
    response->set_carbon_series(s.carbon_series);
    for (const SlurmSideStatus::Learned& l : s.learned_power) {
      v1::LearnedPower* out = response->add_learned_power();
      out->set_partition(l.partition);
      out->set_jobs(l.jobs);
      out->set_gpu_hours(l.gpu_hours);
      out->set_measured_watts_per_gpu(l.measured_watts_per_gpu);
      out->set_min_jobs(l.min_jobs);
      out->set_register_watts_per_gpu(l.register_watts_per_gpu);
      out->set_watts_per_gpu(l.watts_per_gpu);
      out->set_in_register(l.in_register);
      if (l.newest != absl::InfinitePast()) {
        ToProto(l.newest, out->mutable_newest());
      }
    }
    response->set_carbon_error(s.carbon_error);
    response->set_cluster_read_failures(s.cluster_read_failures);
    response->set_cluster_read_error(s.cluster_read_error);
    response->set_spool_backlog_bytes(s.spool_backlog_bytes);
    response->set_spool_ingested(s.spool_ingested);
    response->set_spool_ingest_failures(s.spool_ingest_failures);
    response->set_spool_ingest_error(s.spool_ingest_error);
    response->set_spool_torn(s.spool_torn);
    response->set_spool_undecodable(s.spool_undecodable);
    response->set_reconcile_rounds(s.reconcile_rounds);
    response->set_reconcile_failures(s.reconcile_failures);
    response->set_reconcile_full_reads(s.reconcile_full_reads);
    response->set_reconcile_last_full_read_jobs(s.reconcile_last_full_read_jobs);
    response->set_reconcile_last_full_read_ms(
        absl::ToInt64Milliseconds(s.reconcile_last_full_read_took));
    response->set_reconcile_jobs_followed(s.reconcile_jobs_followed);
    response->set_reconcile_placements_awaiting(s.reconcile_placements_awaiting);
    response->set_reconcile_seen_ahead(s.reconcile_seen_ahead);
    response->set_reconcile_error(s.reconcile_error);
    response->set_weights_enabled(s.weights_enabled);
    response->set_weight_changes(s.weight_changes);
    response->set_weight_reapplied(s.weight_reapplied);
    response->set_weight_set_failures(s.weight_set_failures);
    response->set_weight_record_failures(s.weight_record_failures);
    response->set_weight_error(s.weight_error);
    for (const SlurmSideStatus::NodeWeight& n : s.node_weights) {
      v1::NodeWeight* out = response->add_node_weights();
      out->set_node(n.node);
      out->set_weight(n.weight);
      out->set_desired(n.desired);
      out->set_watts_per_gpu(n.watts_per_gpu);
      out->set_source(n.source);
      out->set_partition(n.partition);
      if (n.measured_at != absl::InfinitePast()) {
        ToProto(n.measured_at, out->mutable_measured_at());
      }
      out->set_samples(n.samples);
      if (n.changed_at != absl::InfinitePast()) {
        ToProto(n.changed_at, out->mutable_changed_at());
      }
    }
    response->set_power_url(s.power_url);
    response->set_power_scrapes(s.power_scrapes);
    response->set_power_failures(s.power_failures);
    response->set_power_error(s.power_error);
    if (s.power_scraped_at != absl::InfinitePast()) {
      ToProto(s.power_scraped_at, response->mutable_power_scraped_at());
    }
    response->set_power_hosts(s.power_hosts);
  }
  response->set_decisions_served(ctx_->decisions_served.load());
  if (ctx_->limiter != nullptr) {
    response->set_calls_over_user_limits(ctx_->limiter->refused());
  }
  response->set_reload_failures(ctx_->registers->reload_failures());
  for (const std::string& role : caller->RoleNames()) {
    response->add_caller_roles(role);
  }
  response->set_caller(caller->Describe());
  return grpc::Status::OK;
}

}  // namespace sovereign::service
