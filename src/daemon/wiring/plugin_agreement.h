// sovereignd and the job_submit plugin meet at three settings that each side's config file
// names: the snapshot file (sovereignd publishes it, the plugin decides from it), the spool
// folder (the plugin writes it, sovereignd ingests it) and the age after which the cluster view
// is stale (both score alike only with the same age). The plugin's file is read with the core's
// reader into the core's type (sovereign/plugin_settings.h), and durations have one syntax
// (sovereign/duration.h), so what is left here is the comparison itself: do the two files name the
// same three things?
#pragma once

#include <string>
#include <vector>

#include "wiring/daemon_config.h"
#include "sovereign/plugin_settings.h"

namespace sovereign::service {

// slurm.plugin_conf, or sovereign-plugin.conf in the directory of slurm.slurm_conf (where the
// plugin looks when slurmctld's environment does not name another file).
std::string PluginConfPath(const SlurmConfig& slurm);

// One line per setting on which the two disagree, saying what breaks; empty when they agree.
std::vector<std::string> PluginDisagreements(const SlurmConfig& slurm,
                                             const PluginSettings& plugin,
                                             const std::string& plugin_conf_path);

// What sovereignd says at start and --check-config: the disagreements with the plugin's config
// at PluginConfPath(slurm), or why that file cannot be compared; empty when they agree.
std::vector<std::string> PluginConfigWarnings(const SlurmConfig& slurm);

}  // namespace sovereign::service
