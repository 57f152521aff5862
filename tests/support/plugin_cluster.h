// The fixture of the tests that run job_submit/sovereign inside a real slurmctld: one mini
// cluster per test binary (scripts/minicluster with the SPANK option and the plugin loaded),
// sovereign-prolog as PrologSlurmctld, the example register's researchers as real Unix users, and
// helpers to publish the snapshot as sovereignd does, submit as a user, and read the spool.
//
// Used by plugin_e2e_test.cc, residency_e2e_test.cc and doc_sbatch_e2e_test.cc; each defines its
// own test class deriving from PluginClusterTest.
#pragma once

#include <sys/stat.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cluster_reader.h"
#include "support/minicluster.h"
#include "gtest/gtest.h"
#include "slurm_loops/snapshot_publisher.h"
#include "sovereign/spool.h"
#include "sovereign/spool_record.h"
#include "support/temp_dir.h"

namespace sovereign::e2e {

using sovereign::testing::ReadText;

class PluginClusterTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    EnsureResearchers();
    MiniClusterOptions options;
    options.spank_so = SOVEREIGN_SPANK_SO;
    options.plugin_dir = SOVEREIGN_PLUGIN_DIR;
    options.prolog = SOVEREIGN_PROLOG_PATH;
    auto c = MiniCluster::Start(std::move(options));
    if (c.ok()) {
      cluster_ = c->release();
      chmod(cluster_->output_dir().c_str(), 01777);  // researchers write their job output
    } else {
      start_error_ = new std::string(c.status().ToString());
    }
  }

  static void TearDownTestSuite() {
    if (cluster_ != nullptr) {
      bool failed = ::testing::UnitTest::GetInstance()->Failed();
      cluster_->set_keep_dir(failed);
      // A sanitizer report from inside slurmctld (the plugin) fails the test here.
      const absl::Status stopped = cluster_->Stop();
      EXPECT_TRUE(stopped.ok()) << stopped;
      if (failed || !stopped.ok()) {
        fprintf(stderr, "mini-cluster state and logs kept in %s\n", cluster_->dir().c_str());
      }
      delete cluster_;
      cluster_ = nullptr;
    }
    delete start_error_;
    start_error_ = nullptr;
  }

  void SetUp() override { ASSERT_NE(cluster_, nullptr) << (start_error_ ? *start_error_ : ""); }

  MiniCluster& cluster() { return *cluster_; }
  std::string SnapshotPath() { return cluster().dir() + "/sovereign/snapshot"; }
  std::string SpoolDir() { return cluster().dir() + "/sovereign/spool"; }

  static std::string ExampleRegister() {
    return sovereign::testing::ExampleRegisterYaml();
  }

  // Publishes `yaml` (default: the example register) with the live cluster view, as sovereignd
  // does, and waits (bounded) until the plugin has taken it: slurmctld's log says it took the
  // snapshot published at published_at() (the plugin looks at the file every 500 ms).
  void Publish(const std::string& yaml = ExampleRegister()) {
    ASSERT_NO_FATAL_FAILURE(PublishFile(yaml));
    absl::StatusOr<std::string> took = cluster().WaitForPluginSnapshot(published_at_);
    ASSERT_TRUE(took.ok()) << took.status();
  }

  // Publishes the snapshot file only.
  void PublishFile(const std::string& yaml = ExampleRegister()) {
    ASSERT_TRUE(slurm::InitSlurm(cluster().slurm_conf()).ok());
    auto reg = Register::Parse(yaml, "register.example.yaml");
    ASSERT_TRUE(reg.ok()) << reg.status();
    slurm::PublisherOptions o;
    o.path = SnapshotPath();
    slurm::SnapshotPublisher publisher(o, [&] {
      return slurm::PublishedRegister{*reg, yaml, "register.example.yaml"};
    });
    absl::Status s = publisher.Publish();
    ASSERT_TRUE(s.ok()) << s;
    ASSERT_TRUE(publisher.last_cluster_error().ok()) << publisher.last_cluster_error();
    published_at_ = publisher.stats().last_published;
  }

  // When the snapshot last published by this test was published: the time the plugin names in
  // slurmctld's log when it takes the snapshot or keeps it.
  absl::Time published_at() const { return published_at_; }

  // sbatch as `user` (a real Unix user, through runuser).
  CommandResult Sbatch(const std::string& user, const std::vector<std::string>& args) {
    std::vector<std::string> argv = {"runuser", "-u", user, "--", "sbatch", "--parsable", "-o",
                                     cluster().output_dir() + "/%j.out"};
    argv.insert(argv.end(), args.begin(), args.end());
    return cluster().Run(argv);
  }

  uint32_t SubmitOk(const std::string& user, const std::vector<std::string>& args) {
    CommandResult r = Sbatch(user, args);
    EXPECT_EQ(r.exit_code, 0) << r.Describe();
    uint32_t id = 0;
    EXPECT_TRUE(absl::SimpleAtoi(absl::StripAsciiWhitespace(r.out.substr(0, r.out.find(';'))), &id))
        << r.Describe();
    return id;
  }

  std::vector<spool::SpooledDecision> Spooled() {
    std::vector<spool::SpooledDecision> out;
    auto reader = spool::SpoolReader::Open(SpoolDir());
    if (!reader.ok()) {
      ADD_FAILURE() << reader.status();
      return out;
    }
    auto res = (*reader)->ReadNew(100000);
    EXPECT_TRUE(res.ok());
    for (const auto& r : res->records) {
      auto d = spool::DecodeSpooledDecision(r.payload);
      EXPECT_TRUE(d.ok()) << d.status();
      if (d.ok()) {
        out.push_back(*d);
      }
    }
    return out;
  }

  absl::Time published_at_ = absl::InfinitePast();
  static inline MiniCluster* cluster_ = nullptr;
  static inline std::string* start_error_ = nullptr;
};


}  // namespace sovereign::e2e
