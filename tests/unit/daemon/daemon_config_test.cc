#include "wiring/daemon_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace sovereign::service {
namespace {

using ::testing::HasSubstr;

void ExpectSameRoles(const RoleMembers& a, const RoleMembers& b) {
  EXPECT_EQ(a.uids, b.uids);
  EXPECT_EQ(a.gids, b.gids);
  EXPECT_EQ(a.common_names, b.common_names);
}

TEST(DaemonConfigTest, ExampleFileSpellsOutEveryDefault) {
  absl::StatusOr<DaemonConfig> c =
      LoadDaemonConfig(SOVEREIGN_SOURCE_DIR "/config/sovereignd.example.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  DaemonConfig d;
  EXPECT_EQ(c->socket_path, d.socket_path);
  EXPECT_EQ(c->socket_mode, d.socket_mode);
  EXPECT_EQ(c->register_path, d.register_path);
  EXPECT_EQ(c->register_write_back, d.register_write_back);
  EXPECT_EQ(c->register_history_path, d.register_history_path);
  EXPECT_EQ(c->cluster_snapshot_path, d.cluster_snapshot_path);
  EXPECT_EQ(c->audit_enabled, d.audit_enabled);
  EXPECT_EQ(c->audit.path, d.audit.path);
  EXPECT_EQ(c->audit.signing_key_path, d.audit.signing_key_path);
  EXPECT_EQ(c->audit.checkpoint_interval, d.audit.checkpoint_interval);
  EXPECT_EQ(c->audit.sync, d.audit.sync);
  EXPECT_EQ(c->audit.commit_window, d.audit.commit_window);
  EXPECT_EQ(c->tcp.listen, d.tcp.listen);
  EXPECT_EQ(c->tcp.certificate, d.tcp.certificate);
  EXPECT_EQ(c->tcp.key, d.tcp.key);
  EXPECT_EQ(c->tcp.client_ca, d.tcp.client_ca);
  ExpectSameRoles(c->roles.admins, d.roles.admins);
  ExpectSameRoles(c->roles.auditors, d.roles.auditors);
  ExpectSameRoles(c->roles.service, d.roles.service);
  EXPECT_EQ(c->log_level, d.log_level);
  EXPECT_EQ(c->max_threads, d.max_threads);
  EXPECT_EQ(c->min_pollers, d.min_pollers);
  EXPECT_EQ(c->max_pollers, d.max_pollers);
  EXPECT_EQ(c->slurm.max_cluster_age, d.slurm.max_cluster_age);
  EXPECT_EQ(c->slurm.carbon_series_dir, d.slurm.carbon_series_dir);
  EXPECT_EQ(c->slurm.carbon_basis, d.slurm.carbon_basis);
  EXPECT_EQ(c->power.prometheus_url, d.power.prometheus_url);
  EXPECT_EQ(c->power.metric, d.power.metric);
  EXPECT_EQ(c->power.host_label, d.power.host_label);
  EXPECT_EQ(c->power.gpu_label, d.power.gpu_label);
  EXPECT_EQ(c->power.interval, d.power.interval);
  EXPECT_EQ(c->power.max_age, d.power.max_age);
  EXPECT_EQ(c->power.history, d.power.history);
  EXPECT_EQ(c->weights.enabled, d.weights.enabled);
  EXPECT_EQ(c->weights.interval, d.weights.interval);
  EXPECT_EQ(c->weights.min_interval, d.weights.min_interval);
  EXPECT_EQ(c->weights.hysteresis, d.weights.hysteresis);
}

TEST(DaemonConfigTest, PowerAndWeightsSections) {
  absl::StatusOr<DaemonConfig> c = ParseDaemonConfig(
      "slurm: {slurm_conf: /etc/slurm/slurm.conf}\n"
      "power:\n  prometheus_url: http://127.0.0.1:9400/metrics\n  metric: gpu_watts\n"
      "  host_label: instance\n  gpu_label: index\n  interval: 5s\n  max_age: 1m\n"
      "  history: 4\n"
      "weights: {enabled: true, interval: 10s, min_interval: 2m, hysteresis: 2.5%}\n",
      "d.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->power.prometheus_url, "http://127.0.0.1:9400/metrics");
  EXPECT_EQ(c->power.metric, "gpu_watts");
  EXPECT_EQ(c->power.host_label, "instance");
  EXPECT_EQ(c->power.gpu_label, "index");
  EXPECT_EQ(c->power.interval, absl::Seconds(5));
  EXPECT_EQ(c->power.max_age, absl::Minutes(1));
  EXPECT_EQ(c->power.history, 4);
  EXPECT_TRUE(c->weights.enabled);
  EXPECT_EQ(c->weights.interval, absl::Seconds(10));
  EXPECT_EQ(c->weights.min_interval, absl::Minutes(2));
  EXPECT_DOUBLE_EQ(c->weights.hysteresis, 0.025);
}

TEST(DaemonConfigTest, PowerAndWeightsErrors) {
  absl::StatusOr<DaemonConfig> c = ParseDaemonConfig(
      "power:\n  prometheus_url: 127.0.0.1:9400\n  interval: 0s\n  history: 0\n"
      "weights:\n  enabled: true\n  hysteresis: 5\n  min_interval: soon\n",
      "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(std::string(c.status().message()),
            "d.yaml:2:19: power.prometheus_url: \"127.0.0.1:9400\" is not an http:// or https:// "
            "URL such as http://127.0.0.1:9400/metrics\n"
            "d.yaml:3:13: power.interval: \"0s\" must be longer than zero\n"
            "d.yaml:4:12: power.history: \"0\" is not a whole number from 1 to 1000\n"
            "d.yaml:7:15: weights.hysteresis: \"5\" is not a percentage from 0% to 100%, such as "
            "5%\n"
            "d.yaml:8:17: weights.min_interval: \"soon\" is not a duration such as 30s, 5m or "
            "1h30m\n"
            "d.yaml:6:12: weights.enabled: node weights need the Slurm side: set "
            "slurm.slurm_conf");
}

TEST(DaemonConfigTest, CarbonSection) {
  absl::StatusOr<DaemonConfig> c = ParseDaemonConfig(
      "carbon:\n  series_dir: /etc/sovereign/carbon\n  basis: market-based\n", "d.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->slurm.carbon_series_dir, "/etc/sovereign/carbon");
  EXPECT_EQ(c->slurm.carbon_basis, CarbonBasis::kMarket);
  c = ParseDaemonConfig("carbon:\n  basis: average\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(std::string(c.status().message()),
            "d.yaml:2:10: carbon.basis: \"average\" is not one of location-based, market-based");
}

TEST(DaemonConfigTest, DefaultsAsDocumented) {
  DaemonConfig d;
  EXPECT_EQ(d.socket_path, "/run/sovereign/sovereignd.sock");
  EXPECT_EQ(d.socket_mode, 0666u);
  EXPECT_EQ(d.audit.path, "/var/lib/sovereign/audit.db");
  EXPECT_EQ(d.audit.sync, audit::Sync::kNormal);
  EXPECT_EQ(d.audit.checkpoint_interval, 1000);
  EXPECT_THAT(d.roles.admins.uids, ::testing::ElementsAre(0u));
  EXPECT_TRUE(ParseDaemonConfig("", "empty.yaml").ok());
}

TEST(DaemonConfigTest, ValuesAndNames) {
  absl::StatusOr<DaemonConfig> c = ParseDaemonConfig(
      "socket: {path: /tmp/s.sock, mode: '0660'}\n"
      "audit: {sync: full, commit_window_us: 500, enabled: false}\n"
      "roles:\n  admins: {users: [root, 4201], groups: [root]}\n"
      "  auditors: {common_names: [auditor-1]}\n",
      "d.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->socket_path, "/tmp/s.sock");
  EXPECT_EQ(c->socket_mode, 0660u);
  EXPECT_EQ(c->audit.sync, audit::Sync::kFull);
  EXPECT_EQ(c->audit.commit_window.count(), 500);
  EXPECT_FALSE(c->audit_enabled);
  EXPECT_THAT(c->roles.admins.uids, ::testing::ElementsAre(0u, 4201u));
  EXPECT_THAT(c->roles.admins.gids, ::testing::ElementsAre(0u));
  EXPECT_THAT(c->roles.auditors.common_names, ::testing::ElementsAre("auditor-1"));
}

TEST(DaemonConfigTest, EveryErrorIsReportedWithItsPlace) {
  absl::StatusOr<DaemonConfig> c = ParseDaemonConfig(
      "socket:\n  mode: 999\n"
      "audit:\n  sync: fast\n  checkpoint_interval: -1\n"
      "roles:\n  admins: {groups: [no-such-group-xyz], users: [no-such-user-xyz]}\n"
      "log: {level: loud}\n"
      "tcp: {listen: '127.0.0.1:7443'}\n"
      "extra: 1\n",
      "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(c.status().message(),
            "d.yaml:2:9: socket.mode: \"999\" is not an octal mode such as \"0666\"\n"
            "d.yaml:4:9: audit.sync: \"fast\" is not one of normal, full\n"
            "d.yaml:5:24: audit.checkpoint_interval: \"-1\" is not a whole number from 0 to "
            "1099511627776\n"
            "d.yaml:7:21: roles.admins.groups: group \"no-such-group-xyz\" does not exist\n"
            "d.yaml:7:49: roles.admins.users: user \"no-such-user-xyz\" does not exist\n"
            "d.yaml:8:14: log.level: \"loud\" is not one of trace, debug, info, warn, error, "
            "critical, off\n"
            "d.yaml:10:1: extra: unknown key (known: audit, carbon, cluster, limits, log, power, "
            "register, roles, server, slurm, socket, tcp, weights)\n"
            "d.yaml:9:6: tcp.listen: \"127.0.0.1:7443\" needs mutual TLS: set tcp.certificate, "
            "tcp.key, tcp.client_ca");
}

TEST(DaemonConfigTest, SyntaxErrorAndMissingFile) {
  absl::StatusOr<DaemonConfig> c = ParseDaemonConfig("socket: [\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(c.status().message(), HasSubstr("d.yaml:2:1: "));
  absl::StatusOr<DaemonConfig> missing = LoadDaemonConfig("/nonexistent/sovereignd.yaml");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(),
            "cannot read /nonexistent/sovereignd.yaml: No such file or directory");
}

}  // namespace
}  // namespace sovereign::service

namespace sovereign::service {
namespace {

TEST(DaemonConfigTest, SlurmSection) {
  absl::StatusOr<DaemonConfig> c = ParseDaemonConfig(
      "slurm:\n  slurm_conf: /etc/slurm/slurm.conf\n  snapshot: /s\n  spool: /sp\n"
      "  publish_interval_ms: 2000\n  ingest_interval_ms: 20\n  reconcile_interval_ms: 1000\n"
      "  rederive_after_s: 30\n",
      "d.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->slurm.slurm_conf, "/etc/slurm/slurm.conf");
  EXPECT_EQ(c->slurm.snapshot_path, "/s");
  EXPECT_EQ(c->slurm.spool_dir, "/sp");
  EXPECT_EQ(c->slurm.publish_interval_ms, 2000);
  EXPECT_EQ(c->slurm.ingest_interval_ms, 20);
  EXPECT_EQ(c->slurm.reconcile_interval_ms, 1000);
  EXPECT_EQ(c->slurm.rederive_after_s, 30);
  c = ParseDaemonConfig("slurm:\n  publish_interval_ms: 5\n  spol: /x\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              ::testing::HasSubstr("slurm.publish_interval_ms: \"5\" is not a whole number from "
                                   "100 to 3600000"));
  EXPECT_THAT(std::string(c.status().message()), ::testing::HasSubstr("slurm.spol: unknown key"));
  EXPECT_EQ(ParseDaemonConfig("", "d.yaml")->slurm.running_at_risk, "flag");
  EXPECT_EQ(
      ParseDaemonConfig("slurm:\n  running_at_risk: requeue\n", "d.yaml")->slurm.running_at_risk,
      "requeue");
  c = ParseDaemonConfig("slurm:\n  running_at_risk: kill\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()),
              ::testing::HasSubstr("d.yaml:2:20: slurm.running_at_risk: \"kill\" is not one of "
                                   "flag, requeue, cancel"));
}

// slurm.max_cluster_age is written as the plugin writes its own (one duration syntax); the older
// slurm.max_cluster_age_s, a number of seconds, still works.
TEST(DaemonConfigTest, MaxClusterAgeTakesThePluginsSyntaxOrSeconds) {
  EXPECT_EQ(ParseDaemonConfig("", "d.yaml")->slurm.max_cluster_age, absl::Minutes(5));
  for (const auto& [text, age] :
       std::vector<std::pair<std::string, absl::Duration>>{{"2m", absl::Minutes(2)},
                                                           {"90s", absl::Seconds(90)},
                                                           {"1h30m", absl::Minutes(90)},
                                                           {"1d", absl::Hours(24)},
                                                           {"1.5m", absl::Seconds(90)},
                                                           {"0", absl::ZeroDuration()}}) {
    absl::StatusOr<DaemonConfig> c =
        ParseDaemonConfig("slurm:\n  max_cluster_age: " + text + "\n", "d.yaml");
    ASSERT_TRUE(c.ok()) << text << ": " << c.status();
    EXPECT_EQ(c->slurm.max_cluster_age, age) << text;
  }
  EXPECT_EQ(
      ParseDaemonConfig("slurm:\n  max_cluster_age_s: 120\n", "d.yaml")->slurm.max_cluster_age,
      absl::Minutes(2));
  absl::StatusOr<DaemonConfig> c = ParseDaemonConfig("slurm:\n  max_cluster_age: soon\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "d.yaml:2:20: slurm.max_cluster_age: \"soon\" is not a duration such as 30s, 5m or "
            "1h30m");
  c = ParseDaemonConfig("slurm:\n  max_cluster_age: -1m\n", "d.yaml");
  EXPECT_FALSE(c.ok());
  c = ParseDaemonConfig("slurm:\n  max_cluster_age: 2m\n  max_cluster_age_s: 120\n", "d.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(),
            "d.yaml:3:22: slurm.max_cluster_age: give max_cluster_age or max_cluster_age_s, not "
            "both");
}

}  // namespace
}  // namespace sovereign::service
