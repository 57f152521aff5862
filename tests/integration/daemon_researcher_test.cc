// What a researcher asks sovereignd through sovereignctl: the datasets they may use
// (`sovereignctl datasets`, answered for the Unix user who asks) and where a job would go
// (`sovereignctl explain`, with the same columns as the offline form).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "support/daemon_process.h"

namespace sovereign::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

class DaemonResearcherTest : public ::testing::Test {
 protected:
  // The example register, with root allowed genomics-eu-us through its group and finance-in
  // by name: the test runs sovereignctl as root.
  void SetUp() override {
    WriteFile(daemon_.register_path(),
              absl::StrReplaceAll(ReadFile(daemon_.register_path()),
                                  {{"groups: [genomics]", "groups: [genomics, root]"},
                                   {"groups: [fintech]", "groups: [fintech]\n    users: [root]"}}));
  }
  DaemonProcess daemon_;
};

TEST_F(DaemonResearcherTest, DatasetsListsWhatTheCallerMayUse) {
  ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Log();
  RunResult r = daemon_.Ctl({"--json", "datasets"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json doc = json::parse(r.out, nullptr, false);
  ASSERT_FALSE(doc.is_discarded()) << r.out;
  EXPECT_EQ(doc["user"], "root");
  ASSERT_EQ(doc["datasets"].size(), 3u) << r.out;
  EXPECT_EQ(doc["datasets"][0]["name"], "finance-in");
  EXPECT_EQ(doc["datasets"][0]["access"], "user root");
  EXPECT_EQ(doc["datasets"][0]["implied_by_accounts"], json::array({"fintech-in"}));
  EXPECT_EQ(doc["datasets"][0]["partitions"],
            json::parse(R"([{"name":"gpu-in-l40s","site":"mumbai-1","region":"in",
                            "state":"up"}])"));
  EXPECT_EQ(doc["datasets"][1]["name"], "genomics-eu-us");
  EXPECT_EQ(doc["datasets"][1]["access"], "group root");
  EXPECT_EQ(doc["datasets"][2]["name"], "imagenet-public");
  EXPECT_EQ(doc["datasets"][2]["access"], "everyone");

  // The table, and the same answer as the offline form for the same user and groups.
  r = daemon_.Ctl({"datasets"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("user:     root (groups "));
  EXPECT_THAT(r.out, HasSubstr("\nfinance-in       sovereign   in        any        user root   "
                               "-A fintech-in  gpu-in-l40s\n"));
  RunResult offline = RunProgram({SOVEREIGNCTL_PATH, "--json", "datasets", "--register",
                                  daemon_.register_path(), "--user", "root", "--group",
                                  doc["groups"].get<std::vector<std::string>>().at(0)});
  ASSERT_EQ(offline.exit_code, 0) << offline.err;
  // Offline without --cluster the partitions carry no state; otherwise the same answer.
  for (json& d : doc["datasets"]) {
    for (json& p : d["partitions"]) {
      EXPECT_EQ(p["state"], "up");
      p.erase("state");
    }
  }
  EXPECT_EQ(json::parse(offline.out)["datasets"], doc["datasets"]);
}

TEST_F(DaemonResearcherTest, DatasetsOnlineAnswersOnlyForTheCaller) {
  ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Log();
  RunResult r = daemon_.Ctl({"datasets", "--user", "alice"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "sovereignctl datasets: --user needs --register (sovereignd answers for the user who "
            "asks, with its own cluster view)\n");
  // nobody is in no group of the register: only the public dataset.
  r = daemon_.Ctl({"--json", "datasets"}, kNobody);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json doc = json::parse(r.out);
  ASSERT_EQ(doc["datasets"].size(), 1u) << r.out;
  EXPECT_EQ(doc["datasets"][0]["name"], "imagenet-public");
}

TEST_F(DaemonResearcherTest, ExplainOnlineShowsTheOfflineColumnsAndTheSnapshotAge) {
  const std::string cluster = daemon_.dir() + "/cluster.json";
  const std::string taken = absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now() - absl::Minutes(5),
                                             absl::UTCTimeZone());
  WriteFile(cluster, absl::StrReplaceAll(ReadFile(SOVEREIGN_SOURCE_DIR
                                                  "/config/cluster.example.json"),
                                         {{"2026-11-22T09:58:00Z", taken}}));
  daemon_.AddConfig(absl::StrCat("cluster:\n  snapshot: ", cluster, "\n"));
  ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Log();
  RunResult r =
      daemon_.Ctl({"explain", "--dataset", "imagenet-public", "-t", "2:00:00"}, kNobody);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("verdict:  place on gpu-in-l40s (region in)\n"));
  EXPECT_THAT(r.out, HasSubstr("register: "));
  EXPECT_THAT(r.out, HasSubstr(" (objective energy)\n"));
  EXPECT_THAT(r.out, HasSubstr(absl::StrCat("cluster:  sovereignd's cluster view (taken ", taken,
                                            ", 5m")));
  EXPECT_THAT(r.out, HasSubstr("PARTITION          REGION  SITE         STATUS    NODES    KWH  "
                               "JOBS/KWH"));
  EXPECT_THAT(r.out, HasSubstr("FREE GPUS  WHY\n"));
  EXPECT_THAT(r.out, HasSubstr("gpu-in-l40s        in      mumbai-1     chosen        1"));
}

// The green window travels to sovereignd and back. Without carbon series nothing is greener
// later, but Paris's annual 31 gCO2/kWh beats Mumbai's 593 at once: 1.43 kWh x 31 = 44.3 g
// against 1.2 kWh x 593 = 712 g on the partition the energy objective picks.
TEST_F(DaemonResearcherTest, ExplainOnlineShowsWhatAGreenWindowDid) {
  ASSERT_TRUE(daemon_.Start().ok()) << daemon_.Log();
  RunResult r = daemon_.Ctl(
      {"explain", "--dataset", "imagenet-public", "-t", "60", "--green-window", "6h"}, kNobody);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("reason:   placed on gpu-fr-a100 (region eu) starting now, within "
                               "its green window of 6h: 44.3 gCO2 expected instead of 712 "
                               "starting now on gpu-in-l40s (93% less)\n"));
  EXPECT_THAT(r.out, HasSubstr("green:    window 6h: starts at once on gpu-fr-a100, 44.3 gCO2 "
                               "expected; at once on gpu-in-l40s: 712 gCO2 (93% less)\n"));
  RunResult bad = daemon_.Ctl(
      {"explain", "--dataset", "imagenet-public", "--green-window", "soon"}, kNobody);
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_THAT(bad.err, HasSubstr("cannot read the green window \"soon\" in --green-window; give "
                                 "how far the start may move, longer than zero and at most 14d, "
                                 "e.g. --green-window=6h"));
}

}  // namespace
}  // namespace sovereign::testing
