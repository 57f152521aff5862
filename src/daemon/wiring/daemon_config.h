// sovereignd's configuration file (YAML). Every field, its default and its meaning are listed
// in docs/daemon-config.md; config/sovereignd.example.yaml spells out every default.
//
// Parsing is strict: an unknown key, a value of the wrong type, an unknown user or group is an
// error naming file:line:column, the key and the bad value, so that a typo cannot silently
// leave a default (or a role) in place. All errors are reported at once.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "identity/call_limiter.h"
#include "identity/caller.h"
#include "power/power_source.h"
#include "sovereign/audit_log.h"
#include "sovereign/carbon_series.h"

namespace sovereign::service {

struct TcpListenerConfig {
  // host:port to listen on with mutual TLS, e.g. "0.0.0.0:7443"; empty = no TCP listener.
  std::string listen;
  // The server's certificate chain and private key (PEM).
  std::string certificate;
  std::string key;
  // CA that signs client certificates; a client without a valid certificate is refused.
  std::string client_ca;
};

// The Slurm side: what the job_submit plugin reads and writes, and the controller to ask.
struct SlurmConfig {
  // slurm.conf of the cluster this daemon serves. Empty: no Slurm integration (no snapshot is
  // published, no spool ingested, no job reconciled).
  std::string slurm_conf;
  // The job_submit plugin's config, compared with the settings below at start and by
  // --check-config. Empty: sovereign-plugin.conf in the directory of slurm_conf.
  std::string plugin_conf;
  // The snapshot file the plugin decides from (its sovereign-plugin.conf `snapshot`).
  std::string snapshot_path = "/var/lib/sovereign/snapshot";
  // The plugin's spool folder (its sovereign-plugin.conf `spool`).
  std::string spool_dir = "/var/spool/sovereign";
  // Republish the snapshot (fresh cluster view) at least this often, in milliseconds.
  int64_t publish_interval_ms = 10000;
  // Read the spool this often: a decision reaches the audit log within about this long.
  int64_t ingest_interval_ms = 50;
  // Check where jobs run this often.
  int64_t reconcile_interval_ms = 5000;
  // A tagged job whose decision is still not in the log after this long gets one re-derived
  // from its tag, in seconds.
  int64_t rederive_after_s = 120;
  // Decide/Explain treat the published cluster view as stale after this long: keep it equal to
  // the plugin's max_cluster_age (default 5m) so that both answer alike. Written as the plugin
  // writes it (`max_cluster_age: 5m`, sovereign::ParseDuration), or, as before, a number of
  // seconds (`max_cluster_age_s: 300`).
  absl::Duration max_cluster_age = absl::Minutes(5);
  // What happens to a running job that a newly applied register no longer allows where it
  // runs: "flag" (recorded as at_risk, left running), "requeue" or "cancel".
  std::string running_at_risk = "flag";
  // A folder of grid carbon intensity series, one <site>.csv per site that has one
  // (sovereign/carbon_series.h), read again at each publication and published with the
  // register; empty: every site's annual mean from the register. Whether the figures are
  // location-based or market-based.
  std::string carbon_series_dir;
  CarbonBasis carbon_basis = CarbonBasis::kLocation;
};

// Node Weights from each node's facility watts per GPU (slurm_loops/node_weights.h). Needs
// slurm.slurm_conf.
struct WeightsConfig {
  bool enabled = false;
  // Check every node's weight this often (a weight reset by scontrol reconfigure or a restart
  // of slurmctld is set again within about this long).
  absl::Duration interval = absl::Seconds(30);
  // A node's weight changes for a new figure at most once in this long ...
  absl::Duration min_interval = absl::Minutes(5);
  // ... and only when the figure moved by more than this fraction of the weight set.
  double hysteresis = 0.05;
};

struct DaemonConfig {
  // The unix socket every local client uses; its directory is created if missing.
  std::string socket_path = "/run/sovereign/sovereignd.sock";
  // Permissions of the socket file. Everyone may connect by default: what a caller may do is
  // decided by its credentials, not by who can open the socket.
  mode_t socket_mode = 0666;

  // The sovereignty register (YAML).
  std::string register_path = "/etc/slurm/sovereign-register.yaml";
  // Write registers applied over gRPC back to register_path, so a restart keeps them.
  bool register_write_back = true;
  // Every applied register version (SQLite).
  std::string register_history_path = "/var/lib/sovereign/registers.db";
  // Cluster snapshot JSON for placement; empty = all partitions up with all GPUs free.
  std::string cluster_snapshot_path;

  // Record decisions in the audit log. Disabling it is for benchmarks only: Decide then
  // answers without recording, and the audit RPCs fail.
  bool audit_enabled = true;
  audit::AuditOptions audit;  // path, sync, commit_window, checkpoint_interval, signing key

  SlurmConfig slurm;
  // Live GPU power from a Prometheus exporter (NVIDIA's DCGM exporter), for node weights:
  // prometheus_url (empty: none, weights come from the register's figures), metric, host_label,
  // gpu_label, interval, max_age, history (power/power_source.h). fetch, clock and timeout are
  // not read from the file (timeout: the interval, at most 5 s).
  power::PowerOptions power;
  WeightsConfig weights;

  TcpListenerConfig tcp;
  RolesConfig roles;  // see caller.h; default: root is admin, auditor and service

  // trace, debug, info, warn, error, critical, off.
  std::string log_level = "info";
  // Most threads the gRPC server runs handlers on (0 = gRPC's default).
  int max_threads = 0;
  // Threads kept waiting for new calls (at least min_pollers, at most max_pollers idle).
  int min_pollers = 2;
  int max_pollers = 4;
  // What a caller without a role may ask (call_limiter.h): calls per second and at once per
  // uid, streams open at once per uid.
  CallLimits user_limits;

  DaemonConfig();
};

// Parses YAML text; `filename` is used in error messages. INVALID_ARGUMENT lists every error,
// one per line.
absl::StatusOr<DaemonConfig> ParseDaemonConfig(std::string_view yaml, std::string_view filename);
// Reads and parses `path`.
absl::StatusOr<DaemonConfig> LoadDaemonConfig(const std::string& path);

}  // namespace sovereign::service
