#include "wiring/plugin_agreement.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sovereign::service {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

SlurmConfig Daemon() {
  SlurmConfig s;
  s.slurm_conf = "/etc/slurm/slurm.conf";
  s.snapshot_path = "/var/lib/sovereign/snapshot";
  s.spool_dir = "/var/spool/sovereign";
  s.max_cluster_age = absl::Minutes(5);
  return s;
}

TEST(PluginAgreementTest, ThePluginConfigIsBesideSlurmConfUnlessNamed) {
  SlurmConfig s = Daemon();
  EXPECT_EQ(PluginConfPath(s), "/etc/slurm/sovereign-plugin.conf");
  s.slurm_conf = "slurm.conf";
  EXPECT_EQ(PluginConfPath(s), "./sovereign-plugin.conf");
  s.plugin_conf = "/opt/slurm/etc/sovereign.conf";
  EXPECT_EQ(PluginConfPath(s), "/opt/slurm/etc/sovereign.conf");
}

TEST(PluginAgreementTest, TheDefaultsAgree) {
  EXPECT_THAT(PluginDisagreements(Daemon(), PluginSettings(), "p.conf"), IsEmpty());
  PluginSettings same_paths_written_otherwise;
  same_paths_written_otherwise.spool_dir = "/var/spool/./sovereign/";
  same_paths_written_otherwise.snapshot_path = "/var/lib/sovereign//snapshot";
  EXPECT_THAT(PluginDisagreements(Daemon(), same_paths_written_otherwise, "p.conf"), IsEmpty());
}

TEST(PluginAgreementTest, EachDisagreementSaysWhatBreaks) {
  PluginSettings p;
  p.snapshot_path = "/srv/snapshot";
  p.spool_dir = "/srv/spool";
  p.max_cluster_age = absl::Minutes(2);
  EXPECT_THAT(
      PluginDisagreements(Daemon(), p, "/etc/slurm/sovereign-plugin.conf"),
      ElementsAre("/etc/slurm/sovereign-plugin.conf has snapshot = /srv/snapshot but sovereignd "
                  "publishes to /var/lib/sovereign/snapshot (slurm.snapshot): the plugin does "
                  "not see this daemon's register and refuses labelled jobs",
                  "/etc/slurm/sovereign-plugin.conf has spool = /srv/spool but sovereignd reads "
                  "/var/spool/sovereign (slurm.spool): the plugin's decisions do not reach the "
                  "audit log",
                  "/etc/slurm/sovereign-plugin.conf has max_cluster_age = 2m but sovereignd's "
                  "slurm.max_cluster_age is 5m: Decide and explain may score a job "
                  "differently from the plugin"));
}

}  // namespace
}  // namespace sovereign::service
