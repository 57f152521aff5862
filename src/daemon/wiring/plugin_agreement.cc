#include "wiring/plugin_agreement.h"

#include <filesystem>

#include "absl/strings/str_cat.h"

namespace sovereign::service {
namespace {

// "/var/spool/sovereign/" and "/var/spool/./sovereign" are "/var/spool/sovereign".
std::filesystem::path Normal(const std::string& path) {
  std::filesystem::path p = std::filesystem::path(path).lexically_normal();
  if (!p.has_filename() && p != p.root_path()) {
    p = p.parent_path();
  }
  return p;
}

bool SamePath(const std::string& a, const std::string& b) { return Normal(a) == Normal(b); }

}  // namespace

std::string PluginConfPath(const SlurmConfig& slurm) {
  return slurm.plugin_conf.empty() ? PluginSettingsBeside(slurm.slurm_conf) : slurm.plugin_conf;
}

std::vector<std::string> PluginDisagreements(const SlurmConfig& slurm,
                                             const PluginSettings& plugin,
                                             const std::string& plugin_conf_path) {
  std::vector<std::string> out;
  if (!SamePath(plugin.snapshot_path, slurm.snapshot_path)) {
    out.push_back(absl::StrCat(plugin_conf_path, " has snapshot = ", plugin.snapshot_path,
                               " but sovereignd publishes to ", slurm.snapshot_path,
                               " (slurm.snapshot): the plugin does not see this daemon's register"
                               " and refuses labelled jobs"));
  }
  if (!SamePath(plugin.spool_dir, slurm.spool_dir)) {
    out.push_back(absl::StrCat(plugin_conf_path, " has spool = ", plugin.spool_dir,
                               " but sovereignd reads ", slurm.spool_dir,
                               " (slurm.spool): the plugin's decisions do not reach the audit log"));
  }
  if (plugin.max_cluster_age != slurm.max_cluster_age) {
    out.push_back(absl::StrCat(
        plugin_conf_path, " has max_cluster_age = ", absl::FormatDuration(plugin.max_cluster_age),
        " but sovereignd's slurm.max_cluster_age is ", absl::FormatDuration(slurm.max_cluster_age),
        ": Decide and explain may score a job differently from the plugin"));
  }
  return out;
}

std::vector<std::string> PluginConfigWarnings(const SlurmConfig& slurm) {
  const std::string path = PluginConfPath(slurm);
  absl::StatusOr<PluginSettings> plugin = ReadPluginSettings(path);
  if (!plugin.ok()) {
    return {absl::StrCat("cannot compare with the job_submit plugin's config: ",
                         plugin.status().message())};
  }
  return PluginDisagreements(slurm, *plugin, path);
}

}  // namespace sovereign::service
