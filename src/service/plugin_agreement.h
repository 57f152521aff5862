// sovereignd and the job_submit plugin meet at three settings, each written twice: the snapshot
// file (sovereignd publishes it, the plugin decides from it), the spool folder (the plugin
// writes it, sovereignd ingests it) and the age after which the cluster view is stale (both
// score alike only with the same age). Each side has its own config file; these compare them.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "daemon_config.h"
#include "submit_filter.h"

namespace sovereign::service {

// slurm.plugin_conf, or sovereign-plugin.conf in the directory of slurm.slurm_conf (where the
// plugin looks when slurmctld's environment does not name another file).
std::string PluginConfPath(const SlurmConfig& slurm);

// The plugin's config, as the plugin reads it. NOT_FOUND when there is no such file.
absl::StatusOr<plugin::FilterOptions> ReadPluginConf(const std::string& path);

// One line per setting on which the two disagree, saying what breaks; empty when they agree.
std::vector<std::string> PluginDisagreements(const SlurmConfig& slurm,
                                             const plugin::FilterOptions& plugin,
                                             const std::string& plugin_conf_path);

// What sovereignd says at start and --check-config: the disagreements with the plugin's config
// at PluginConfPath(slurm), or why that file cannot be compared; empty when they agree.
std::vector<std::string> PluginConfigWarnings(const SlurmConfig& slurm);

}  // namespace sovereign::service
