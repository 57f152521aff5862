// sovereignd: the sovereignty register, the audit log and the gRPC API of sovereign.
//
//   sovereignd --config /etc/sovereign/sovereignd.yaml
//   sovereignd --config F --check-config     validate the config and the register (also against
//                                            slurm.conf and this host's users), then exit
//
// Signals: SIGHUP re-reads the register file (an invalid one is refused, the old one stays);
// SIGTERM and SIGINT stop the daemon after the calls in progress have been answered.
#include <signal.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "wiring/daemon.h"
#include "wiring/daemon_config.h"
#include "wiring/plugin_agreement.h"
#include "register_lifecycle/register_manager.h"
#include "sovereign/cluster_check.h"
#include "sovereign/register.h"

namespace {

int CheckConfig(const sovereign::service::DaemonConfig& config, const std::string& path) {
  absl::StatusOr<std::shared_ptr<const sovereign::Register>> reg =
      sovereign::Register::Load(config.register_path);
  if (!reg.ok()) {
    std::cerr << "sovereignd: register " << config.register_path << " is invalid:\n"
              << reg.status().message() << "\n";
    return 1;
  }
  std::cout << "sovereignd: config " << path << " is valid; register " << config.register_path
            << " is valid (version " << (*reg)->short_version() << ")\n";
  // The register against the cluster: slurm.conf (slurmctld may not run yet) and this host's
  // Unix groups and users, which are the ones the plugin and the daemon look up.
  std::vector<sovereign::ClusterFinding> findings;
  std::string against = "this host's Unix groups and users";
  if (!config.slurm.slurm_conf.empty()) {
    absl::StatusOr<sovereign::SlurmInventory> inv =
        sovereign::ReadSlurmConf(config.slurm.slurm_conf);
    if (!inv.ok()) {
      std::cerr << "sovereignd: cannot check the register against the cluster: "
                << inv.status().message() << "\n";
      return 1;
    }
    findings = sovereign::CheckAgainstSlurm(**reg, *inv);
    against = inv->source + " and " + against;
  }
  std::vector<sovereign::ClusterFinding> accounts =
      sovereign::CheckAccounts(**reg, sovereign::NssAccountLookup());
  findings.insert(findings.end(), accounts.begin(), accounts.end());
  const int errors = sovereign::CountErrors(findings);
  const int warnings = static_cast<int>(findings.size()) - errors;
  for (const sovereign::ClusterFinding& f : findings) {
    std::cerr << "sovereignd: " << f.ToString() << "\n";
  }
  std::cout << "sovereignd: register checked against " << against << ": " << errors
            << (errors == 1 ? " error, " : " errors, ") << warnings
            << (warnings == 1 ? " warning\n" : " warnings\n");
  if (!config.slurm.slurm_conf.empty()) {
    // Not an error: slurmctld's environment may name another plugin config.
    std::vector<std::string> warnings = sovereign::service::PluginConfigWarnings(config.slurm);
    for (const std::string& warning : warnings) {
      std::cerr << "sovereignd: warning: " << warning << "\n";
    }
    if (warnings.empty()) {
      std::cout << "sovereignd: " << sovereign::service::PluginConfPath(config.slurm)
                << " names the same snapshot, spool and max_cluster_age\n";
    }
  }
  return errors > 0 ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sovereignd: sovereignty register, audit log and gRPC API"};
  std::string config_path = "/etc/sovereign/sovereignd.yaml";
  bool check_only = false;
  app.add_option("--config", config_path, "daemon config (YAML)")->capture_default_str();
  app.add_flag("--check-config", check_only,
               "validate the config and the register it names, then exit");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  absl::StatusOr<sovereign::service::DaemonConfig> config =
      sovereign::service::LoadDaemonConfig(config_path);
  if (!config.ok()) {
    std::cerr << "sovereignd: " << config.status().message() << "\n";
    return 1;
  }
  if (check_only) {
    return CheckConfig(*config, config_path);
  }
  spdlog::set_level(spdlog::level::from_str(config->log_level));

  // Signals are taken synchronously by this thread; every thread started from here on
  // inherits the mask and never sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  absl::StatusOr<std::unique_ptr<sovereign::service::Daemon>> daemon =
      sovereign::service::Daemon::Start(*config);
  if (!daemon.ok()) {
    std::cerr << "sovereignd: cannot start: " << daemon.status().message() << "\n";
    return 1;
  }
  while (true) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) {
      continue;
    }
    if (sig == SIGHUP) {
      spdlog::info("SIGHUP: reloading the register from {}", config->register_path);
      (void)(*daemon)->Reload();  // logged and counted inside
      continue;
    }
    spdlog::info("{}: shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
    break;
  }
  (*daemon)->Shutdown();
  return 0;
}
