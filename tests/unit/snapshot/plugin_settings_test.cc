#include "sovereign/plugin_settings.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sovereign {
namespace {

// sovereign-plugin.conf, as the plugin, sovereign-prolog and sovereignd all read it.
TEST(PluginSettingsTest, ReadsEveryKeyAndNamesBadLines) {
  auto o = ParsePluginSettings(
      "# plugin config\nsnapshot = /s\nspool=/sp\nspool_fdatasync = yes\n"
      "max_cluster_age = 2m\nregion_feature_prefix =\nuser_cache_ttl = 10s\n"
      "site_feature_prefix = sov_site_\n",
      "p.conf");
  ASSERT_TRUE(o.ok()) << o.status();
  EXPECT_EQ(o->snapshot_path, "/s");
  EXPECT_EQ(o->spool_dir, "/sp");
  EXPECT_TRUE(o->spool_fdatasync);
  EXPECT_EQ(o->max_cluster_age, absl::Minutes(2));
  EXPECT_EQ(o->region_feature_prefix, "");
  EXPECT_EQ(o->site_feature_prefix, "sov_site_");
  EXPECT_EQ(o->user_cache_ttl, absl::Seconds(10));
  EXPECT_EQ(ParsePluginSettings("spool /x\n", "p.conf").status().message(),
            "p.conf:1: expected \"key = value\", got \"spool /x\"");
  EXPECT_EQ(ParsePluginSettings("\nspol = /x\n", "p.conf").status().message(),
            "p.conf:2: unknown key \"spol\" (known: snapshot, spool, spool_fdatasync, "
            "max_cluster_age, site_feature_prefix, region_feature_prefix, user_cache_ttl)");
  // Durations take the syntax the register and sovereignd's config take (sovereign/text.h).
  for (const auto& [text, age] : std::vector<std::pair<std::string, absl::Duration>>{
           {"90s", absl::Seconds(90)},
           {"1h30m", absl::Minutes(90)},
           {"1d", absl::Hours(24)},
           {"1.5m", absl::Seconds(90)},
           {"0", absl::ZeroDuration()},
           {"inf", absl::InfiniteDuration()}}) {
    auto parsed = ParsePluginSettings("max_cluster_age = " + text, "p.conf");
    ASSERT_TRUE(parsed.ok()) << text << ": " << parsed.status();
    EXPECT_EQ(parsed->max_cluster_age, age) << text;
  }
  EXPECT_FALSE(ParsePluginSettings("max_cluster_age = -1m", "p.conf").ok());
  EXPECT_EQ(ParsePluginSettings("max_cluster_age = soon", "p.conf").status().message(),
            "p.conf:1: max_cluster_age: \"soon\": expected a duration such as 30s or 5m");
  EXPECT_EQ(ParsePluginSettings("spool_fdatasync = maybe", "p.conf").status().message(),
            "p.conf:1: spool_fdatasync: \"maybe\": expected yes or no");
}

TEST(PluginSettingsTest, DefaultsAsDocumented) {
  PluginSettings d;
  EXPECT_EQ(d.snapshot_path, "/var/lib/sovereign/snapshot");
  EXPECT_EQ(d.spool_dir, "/var/spool/sovereign");
  EXPECT_FALSE(d.spool_fdatasync);
  EXPECT_EQ(d.max_cluster_age, absl::Minutes(5));
  EXPECT_EQ(d.site_feature_prefix, "site_");
  EXPECT_EQ(d.region_feature_prefix, "");
  EXPECT_EQ(d.user_cache_ttl, absl::Seconds(60));
  absl::StatusOr<PluginSettings> empty = ParsePluginSettings("# nothing\n\n", "p.conf");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->snapshot_path, d.snapshot_path);
}

TEST(PluginSettingsTest, ReadsAFile) {
  char tmpl[] = "/tmp/plugin_settings_XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string path = std::string(tmpl) + "/sovereign-plugin.conf";
  absl::StatusOr<PluginSettings> missing = ReadPluginSettings(path);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "cannot read " + path + ": No such file or directory");
  std::ofstream(path) << "snapshot = /srv/snapshot\nmax_cluster_age = 90s\n";
  absl::StatusOr<PluginSettings> p = ReadPluginSettings(path);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->snapshot_path, "/srv/snapshot");
  EXPECT_EQ(p->max_cluster_age, absl::Seconds(90));
  std::ofstream(path) << "snapshto = /srv/snapshot\n";
  EXPECT_THAT(std::string(ReadPluginSettings(path).status().message()),
              ::testing::StartsWith(path + ":1: unknown key \"snapshto\""));
  std::filesystem::remove_all(tmpl);
}

TEST(PluginSettingsTest, WhereTheFileIs) {
  EXPECT_EQ(PluginSettingsBeside("/etc/slurm/slurm.conf"), "/etc/slurm/sovereign-plugin.conf");
  EXPECT_EQ(PluginSettingsBeside("slurm.conf"), "./sovereign-plugin.conf");
  EXPECT_EQ(PluginSettingsBeside("/slurm.conf"), "/sovereign-plugin.conf");
  EXPECT_EQ(PluginSettingsBeside(""), "./sovereign-plugin.conf");
  unsetenv("SOVEREIGN_PLUGIN_CONF");
  unsetenv("SLURM_CONF");
  EXPECT_EQ(PluginSettingsPath(), "/etc/slurm/sovereign-plugin.conf");
  setenv("SLURM_CONF", "/opt/slurm/etc/slurm.conf", 1);
  EXPECT_EQ(PluginSettingsPath(), "/opt/slurm/etc/sovereign-plugin.conf");
  setenv("SOVEREIGN_PLUGIN_CONF", "/srv/plugin.conf", 1);
  EXPECT_EQ(PluginSettingsPath(), "/srv/plugin.conf");
  unsetenv("SOVEREIGN_PLUGIN_CONF");
  unsetenv("SLURM_CONF");
}

}  // namespace
}  // namespace sovereign
