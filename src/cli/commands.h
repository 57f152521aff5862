// sovereignctl's subcommand groups. Each Add* function registers its subcommands on the
// given CLI11 app and sets their callbacks; a callback stores the process exit code in
// `*exit_code` (0 ok, 1 the answer is "no" or the input is invalid, 2 usage or I/O error,
// 3 the daemon could not be reached).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "sovereign/cluster_check.h"
#include "sovereign/placement.h"

namespace sovereign::cli {

// Process exit codes, as above.
inline constexpr int kExitOk = 0;
inline constexpr int kExitNo = 1;           // a refusal, or an invalid register or snapshot
inline constexpr int kExitUsage = 2;        // bad arguments, a file that cannot be read
inline constexpr int kExitUnreachable = 3;  // sovereignd did not answer

// Options every subcommand shares.
struct GlobalOptions {
  // sovereignd's unix socket.
  std::string socket = "/run/sovereign/sovereignd.sock";
  // Machine-readable output.
  bool json = false;
};

// The register checked against the cluster (cluster_check.h): by `--slurm-conf`, or by
// sovereignd (its live view of slurmctld, and its host's Unix groups and users).
struct ClusterCheckReport {
  bool checked = false;      // the cluster was asked
  std::string source;        // what was asked, when checked
  std::string not_checked;   // why not, otherwise
  std::vector<ClusterFinding> findings;  // the cluster's and the Unix accounts'
};
// Asks sovereignd to check a register file's text; fills not_checked when it cannot be asked.
using ClusterCheckOnlineFn = ClusterCheckReport (*)(const GlobalOptions& global,
                                                    const std::string& yaml,
                                                    const std::string& filename);

// register validate: offline, against a slurm.conf with --slurm-conf, or (`online`:
// sovereignctl passes ValidateClusterOnline) against the cluster sovereignd serves.
void AddRegisterOfflineCommands(CLI::App& register_cmd, GlobalOptions& global, int* exit_code,
                                ClusterCheckOnlineFn online = nullptr);
// register apply|history|diff|rollback|show (against the daemon).
void AddRegisterOnlineCommands(CLI::App& register_cmd, GlobalOptions& global, int* exit_code);
// explain: offline with --register/--cluster; without --register, `online` asks the daemon
// (sovereignctl passes ExplainOnline, explain_online.h; null, as in tests that link the
// offline commands alone: --register is required). `online` returns the exit code.
using ExplainOnlineFn = int (*)(const GlobalOptions& global, const JobRequest& request);
void AddExplainCommand(CLI::App& app, GlobalOptions& global, int* exit_code,
                       ExplainOnlineFn online = nullptr);
// datasets: offline with --register; without it, `online` asks the daemon (DatasetsOnline in
// datasets_online.h; null: --register is required). `online` returns the exit code.
using DatasetsOnlineFn = int (*)(const GlobalOptions& global);
void AddDatasetsCommand(CLI::App& app, GlobalOptions& global, int* exit_code,
                        DatasetsOnlineFn online = nullptr);
// audit list|show|watch|verify|export.
void AddAuditCommands(CLI::App& audit_cmd, GlobalOptions& global, int* exit_code);
// status.
void AddStatusCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddEnergyCommand(CLI::App& app, GlobalOptions& global, int* exit_code);

}  // namespace sovereign::cli
