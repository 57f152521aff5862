// What the gRPC services share: who is calling, the register in force, the audit log, and the
// daemon's counters. Owned by the Daemon; services hold a pointer to it.
//
// Thread-safety: every member is either immutable after construction, atomic, or thread-safe
// itself.
#pragma once

#include <grpcpp/server_context.h>
#include <grpcpp/support/status.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "identity/authenticator.h"
#include "identity/call_limiter.h"
#include "identity/caller.h"
#include "register_lifecycle/register_manager.h"
#include "register_lifecycle/register_impact.h"
#include "sovereign/audit_log.h"
#include "sovereign/cluster_check.h"
#include "sovereign/snapshot_file.h"

namespace sovereign::service {

// How the Slurm side is doing, for `sovereignctl status` (admin.proto says what each means).
struct SlurmSideStatus {
  absl::Time snapshot_published_at = absl::InfinitePast();
  int64_t snapshot_write_failures = 0;
  std::string snapshot_last_write_error;
  std::string carbon_series_dir;  // empty: no series configured
  int64_t carbon_series = 0;
  // GPU power learnt from finished jobs, by partition (LearnedPower in admin.proto).
  struct Learned {
    std::string partition;
    int64_t jobs = 0;
    double gpu_hours = 0;
    double measured_watts_per_gpu = 0;
    int64_t min_jobs = 0;
    double register_watts_per_gpu = 0;
    double watts_per_gpu = 0;  // 0: not used yet
    absl::Time newest = absl::InfinitePast();
    bool in_register = false;
  };
  std::vector<Learned> learned_power;
  std::string carbon_error;
  int64_t cluster_read_failures = 0;
  std::string cluster_read_error;
  int64_t spool_backlog_bytes = 0;
  int64_t spool_ingested = 0;
  int64_t spool_ingest_failures = 0;
  std::string spool_ingest_error;
  int64_t spool_torn = 0;
  int64_t spool_undecodable = 0;
  int64_t reconcile_rounds = 0;
  int64_t reconcile_failures = 0;
  std::string reconcile_error;
  int64_t reconcile_full_reads = 0;
  int64_t reconcile_last_full_read_jobs = 0;
  absl::Duration reconcile_last_full_read_took;
  int64_t reconcile_jobs_followed = 0;
  int64_t reconcile_placements_awaiting = 0;
  int64_t reconcile_seen_ahead = 0;
  bool weights_enabled = false;
  int64_t weight_changes = 0;
  int64_t weight_reapplied = 0;
  int64_t weight_set_failures = 0;
  int64_t weight_record_failures = 0;
  std::string weight_error;
  struct NodeWeight {
    std::string node;
    uint32_t weight = 0;
    uint32_t desired = 0;
    double watts_per_gpu = 0;
    std::string source;
    std::string partition;
    absl::Time measured_at = absl::InfinitePast();
    int64_t samples = 0;
    absl::Time changed_at = absl::InfinitePast();
  };
  std::vector<NodeWeight> node_weights;
  std::string power_url;
  int64_t power_scrapes = 0;
  int64_t power_failures = 0;
  std::string power_error;
  absl::Time power_scraped_at = absl::InfinitePast();
  int64_t power_hosts = 0;
};

struct ServiceContext {
  Authenticator* auth = nullptr;
  // Bounds what callers without a role may ask (call_limiter.h); null: no bound.
  CallLimiter* limiter = nullptr;
  RegisterManager* registers = nullptr;
  // nullptr when the audit log is disabled (benchmarks only).
  audit::AuditLog* log = nullptr;
  std::string audit_sync = "normal";
  // The snapshot sovereignd publishes for the Slurm plugin (null without Slurm integration):
  // PlacementService decides against it, as the plugin does.
  std::atomic<const snapshot::SnapshotWatcher*> snapshot{nullptr};
  absl::Duration max_cluster_age = absl::Minutes(5);
  absl::Time started_at = absl::UnixEpoch();
  // Set when the daemon shuts down: long-running streams end.
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> decisions_served{0};
  // Re-checks the jobs slurmctld holds against a register (register_impact.h); unset without
  // the Slurm side. Called after every apply and rollback, and for a dry run.
  std::function<absl::StatusOr<ImpactSummary>(const Register&, bool dry_run)> check_jobs;
  // The Slurm side's health; unset without the Slurm side.
  std::function<SlurmSideStatus()> slurm_status;
  // Asks slurmctld what it has (cluster_check.h); unset without the Slurm side.
  std::function<absl::StatusOr<SlurmInventory>()> read_inventory;
};

// Any caller (for AuthoriseCall's `roles`).
inline constexpr unsigned kAnyCaller = 0;
inline constexpr unsigned kAdmins = static_cast<unsigned>(Role::kAdmin);
inline constexpr unsigned kReaders =
    static_cast<unsigned>(Role::kAdmin) | static_cast<unsigned>(Role::kAuditor);

// The caller of `context` if it may `action`: identified (UNAUTHENTICATED otherwise),
// holding one of `roles` (PERMISSION_DENIED otherwise; kAnyCaller: no role needed) and, without
// a role, within its per-user limits (RESOURCE_EXHAUSTED otherwise). With `needs_log`,
// FAILED_PRECONDITION when the audit log is disabled.
absl::StatusOr<Caller> AuthoriseCall(const ServiceContext& ctx,
                                     const grpc::ServerContextBase& context, unsigned roles,
                                     const std::string& action, bool needs_log = false);

// The preamble of every gRPC handler: declares `caller`, the caller of `context` if it may
// do what AuthoriseCall's remaining arguments say (roles, action, needs_log); otherwise the
// handler returns AuthoriseCall's status (UNAUTHENTICATED, PERMISSION_DENIED,
// RESOURCE_EXHAUSTED, FAILED_PRECONDITION) as its grpc::Status:
//   SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kAdmins, "apply a register");
// Needs grpc_status.h (ToGrpcStatus).
#define SOVEREIGN_AUTHORISE_OR_RETURN(caller, ctx, context, ...)      \
  absl::StatusOr<::sovereign::service::Caller> caller =               \
      ::sovereign::service::AuthoriseCall(ctx, context, __VA_ARGS__); \
  if (!caller.ok()) {                                                 \
    return ::sovereign::service::ToGrpcStatus(caller.status());       \
  }

// The same for a handler of the callback API: finishes `reactor` with the status and returns
// it.
#define SOVEREIGN_AUTHORISE_OR_FINISH(caller, reactor, ctx, context, ...) \
  absl::StatusOr<::sovereign::service::Caller> caller =                   \
      ::sovereign::service::AuthoriseCall(ctx, context, __VA_ARGS__);     \
  if (!caller.ok()) {                                                     \
    reactor->Finish(::sovereign::service::ToGrpcStatus(caller.status())); \
    return reactor;                                                       \
  }

// PERMISSION_DENIED unless `caller` has one of `roles` (a bit set of Role): "uid=65534(nobody)
// may not <action>: it needs the admin role".
absl::Status RequireRole(const Caller& caller, unsigned roles, const std::string& action);

// FAILED_PRECONDITION when the audit log is disabled.
absl::Status RequireAuditLog(const ServiceContext& ctx);

}  // namespace sovereign::service
