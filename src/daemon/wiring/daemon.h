// sovereignd, wired: register store and manager, audit log, the gRPC services (placement,
// audit, register, admin, health, reflection), the unix-socket listener with peer credentials
// and the optional TCP listener with mutual TLS. main() only parses flags and turns signals into
// Reload() and Shutdown(); tests start a Daemon in-process the same way.
//
// Thread-safety: Reload() and Shutdown() may be called from any thread (a signal-handling
// thread); Shutdown() is idempotent.
#pragma once

#include <grpcpp/server.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "identity/unix_listener.h"
#include "records/learned_energy.h"
#include "register_lifecycle/register_manager.h"
#include "register_lifecycle/register_store.h"
#include "register_lifecycle/register_versions.h"
#include "serving/service_context.h"
#include "sovereign/audit_log.h"
#include "wiring/daemon_config.h"

namespace sovereign::slurm {
class SnapshotPublisher;
}
namespace sovereign::power {
class PowerSource;
}

namespace sovereign::service {

class AdminServiceImpl;
class AuditServiceImpl;
class PlacementServiceImpl;
class RegisterServiceImpl;
class SpoolIngester;
class Reconciler;
class WeightTuner;

class Daemon {
 public:
  // Opens the stores, loads the register (INVALID_ARGUMENT with every diagnostic when it is
  // invalid), binds the listeners and starts serving.
  static absl::StatusOr<std::unique_ptr<Daemon>> Start(const DaemonConfig& config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Re-reads the register file (SIGHUP). On error the register in force stays; the error is
  // logged, counted and returned.
  absl::Status Reload();
  // Stops accepting, lets calls in progress finish (every decision acknowledged is in the log
  // before its answer left), closes the stores.
  void Shutdown();

  const std::string& socket_path() const { return config_.socket_path; }
  // The TCP port actually bound (the config may say port 0); 0 without a TCP listener.
  int tcp_port() const { return tcp_port_; }
  ServiceContext* context() { return &ctx_; }

 private:
  explicit Daemon(DaemonConfig config);

  const DaemonConfig config_;
  std::unique_ptr<RegisterStore> store_;
  std::unique_ptr<RegisterManager> registers_;
  std::unique_ptr<audit::AuditLog> log_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<CallLimiter> limiter_;
  ServiceContext ctx_;
  std::unique_ptr<PlacementServiceImpl> placement_;
  std::unique_ptr<AuditServiceImpl> audit_;
  std::unique_ptr<RegisterServiceImpl> register_;
  std::unique_ptr<AdminServiceImpl> admin_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<UnixListener> listener_;
  // The Slurm side (config.slurm.slurm_conf set): snapshot out, spool in, jobs checked.
  absl::Status StartSlurm();
  // The power source and the weight tuner, as the config asks (part of StartSlurm).
  // Starts reading live GPU power when power.prometheus_url is set.
  void StartPower();
  void StartWeights();
  std::shared_ptr<const Register> RegisterByVersion(const std::string& version);
  // The register in force at time t (from the store's revisions; the current one before the
  // first).
  std::shared_ptr<const Register> RegisterInForceAt(absl::Time t);
  // Re-checks the jobs slurmctld holds against `reg` (RegisterImpact).
  absl::StatusOr<ImpactSummary> CheckJobs(const Register& reg, bool dry_run);
  // The snapshot publisher's, the ingesters' and the reconciler's health (GetStatus).
  SlurmSideStatus SlurmStatus();
  std::unique_ptr<RegisterImpact> impact_;
  std::unique_ptr<slurm::SnapshotPublisher> publisher_;
  // Reads back the published snapshot, as the plugin does, for PlacementService.
  std::unique_ptr<snapshot::SnapshotWatcher> snapshot_watcher_;
  std::unique_ptr<SpoolIngester> ingester_;
  std::unique_ptr<SpoolIngester> prolog_ingester_;
  std::unique_ptr<Reconciler> reconciler_;
  // Live GPU power (power.prometheus_url set) and the node weights (weights.enabled).
  std::unique_ptr<power::PowerSource> power_;
  std::unique_ptr<WeightTuner> weights_;
  // Each partition's finished jobs' measured energy: the learnt GPU power in the snapshot.
  LearnedEnergy learned_;
  std::mutex slurm_mu_;        // guards the Slurm loops above against Shutdown()
  RegisterVersions versions_;  // parsed registers by version, the most recently used
  int tcp_port_ = 0;
  std::mutex shutdown_mu_;
  bool shut_down_ = false;
};

}  // namespace sovereign::service
