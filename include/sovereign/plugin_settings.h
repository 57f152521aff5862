// sovereign-plugin.conf: the settings the job_submit plugin runs with, and the contract between
// it and the programs that must agree with it. One type and one reader for everyone: the
// plugin (inside slurmctld), sovereign-prolog (the same file, for the snapshot, the spool and
// the site feature prefix) and sovereignd (which compares the file with its own config and
// takes the site feature prefix from it). docs/admin.md lists the keys.
//
// The file is "key = value" lines; '#' starts a comment. An unknown key or a bad value is an
// error naming the file and line, so that a typo cannot leave a default in place.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sovereign {

struct PluginSettings {
  // `snapshot`: the snapshot sovereignd publishes.
  std::string snapshot_path = "/var/lib/sovereign/snapshot";
  // `spool`: where decisions are spooled for sovereignd.
  std::string spool_dir = "/var/spool/sovereign";
  // `spool_fdatasync`: fdatasync every spooled decision (survives power loss; costs a disk
  // flush per submission).
  bool spool_fdatasync = false;
  // `max_cluster_age`: a cluster view older than this is not used for scoring: residency is
  // still enforced from the register, partitions are scored from the register's static
  // figures, and the decision says so. The register part of a snapshot never ages.
  absl::Duration max_cluster_age = absl::Minutes(5);
  // `site_feature_prefix`: node feature that names a node's site ("<prefix><site>" on every
  // node, e.g. site_paris-1). A placed job's features get one AND term that only nodes of the
  // sites its datasets allow satisfy: the node-set guard. Empty: no guard (test configurations
  // only).
  std::string site_feature_prefix = "site_";
  // `region_feature_prefix`: node feature that marks a region ("<prefix><region>"): when set,
  // also added to the job's features (informational: the site guard is the one that confines).
  // Empty: not added.
  std::string region_feature_prefix;
  // `user_cache_ttl`: how long a user's name and groups are cached.
  absl::Duration user_cache_ttl = absl::Seconds(60);
};

// Parses the file's text; `source` names it in errors ("<source>:<line>: ...").
// INVALID_ARGUMENT for an unknown key or a bad value. Durations take sovereign::ParseDuration's
// syntax (30s, 5m, 1h30m, 1d, 1.5h, ...) and may not be negative.
absl::StatusOr<PluginSettings> ParsePluginSettings(std::string_view text,
                                                   const std::string& source);

// Reads and parses the file at `path`. NOT_FOUND / PERMISSION_DENIED when it cannot be read.
absl::StatusOr<PluginSettings> ReadPluginSettings(const std::string& path);

// sovereign-plugin.conf in the directory of `slurm_conf` ("./sovereign-plugin.conf" for a bare
// file name): where the plugin looks unless its environment names another file.
std::string PluginSettingsBeside(const std::string& slurm_conf);

// Where the plugin and sovereign-prolog read the file: $SOVEREIGN_PLUGIN_CONF, else
// PluginSettingsBeside($SLURM_CONF), else /etc/slurm/sovereign-plugin.conf.
std::string PluginSettingsPath();

}  // namespace sovereign
