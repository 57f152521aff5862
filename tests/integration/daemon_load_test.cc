// Many clients at once: every acknowledged decision is in the log and the chain verifies; and
// SIGTERM under load loses no acknowledged decision (checked after a restart on the same
// database).
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "support/daemon_process.h"
#include "sovereign/v1/placement.grpc.pb.h"

namespace sovereign::testing {
namespace {

using nlohmann::json;

v1::DecideRequest Job(int client) {
  v1::DecideRequest req;
  v1::JobRequest* job = req.mutable_job();
  job->set_user(absl::StrCat("user", client));
  job->set_uid(3000 + client);
  job->add_datasets(client % 2 == 0 ? "imagenet-public" : "genomics-eu-us");
  job->add_groups("genomics");
  job->set_gpus(1 + client % 8);
  return req;
}

// Runs `clients` threads of at most `per_client` Decide calls each (stopping early at the first
// failed call), each on its own connection. Returns the ids of acknowledged decisions.
std::vector<std::string> DecideConcurrently(const std::string& socket, int clients, int per_client,
                                            std::atomic<int>* failures) {
  std::mutex mu;
  std::vector<std::string> acknowledged;
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      grpc::ChannelArguments args;
      args.SetInt("grpc.use_local_subchannel_pool", 1);  // a connection per client
      auto stub = v1::PlacementService::NewStub(
          grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args));
      std::vector<std::string> mine;
      v1::DecideRequest req = Job(c);
      for (int i = 0; i < per_client; ++i) {
        grpc::ClientContext ctx;
        ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
        v1::DecideResponse resp;
        grpc::Status s = stub->Decide(&ctx, req, &resp);
        if (!s.ok()) {
          failures->fetch_add(1);
          break;
        }
        if (resp.decision().recorded()) {
          mine.push_back(resp.decision().decision_id());
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      acknowledged.insert(acknowledged.end(), mine.begin(), mine.end());
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  return acknowledged;
}

std::set<std::string> ExportedIds(const DaemonProcess& d) {
  RunResult r = d.Ctl({"audit", "export"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> ids;
  std::stringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    ids.insert(json::parse(line)["decision_id"].get<std::string>());
  }
  return ids;
}

int64_t HeadSeq(const DaemonProcess& d) {
  json status = json::parse(d.Ctl({"--json", "status"}).out, nullptr, false);
  return status.is_object() ? std::stoll(status.value("audit_head_seq", "0")) : 0;
}

TEST(DaemonLoadTest, SixteenClientsThousandDecisionsEachAllRecordedChainVerifies) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  std::atomic<int> failures{0};
  std::vector<std::string> acked = DecideConcurrently(d.socket(), 16, 1000, &failures);
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(acked.size(), 16000u);
  std::set<std::string> logged = ExportedIds(d);
  EXPECT_EQ(logged.size(), 16000u);
  for (const std::string& id : acked) {
    ASSERT_TRUE(logged.count(id)) << "acknowledged decision " << id << " is not in the log";
  }
  RunResult v = d.Ctl({"audit", "verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out;
  EXPECT_THAT(v.out, ::testing::HasSubstr("16000 records"));
}

// The server answers at most 1,000 records a call; a larger --limit is served in pages.
TEST(DaemonLoadTest, ListLimitPastThePageSizeFetchesEveryPage) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  std::atomic<int> failures{0};
  ASSERT_EQ(DecideConcurrently(d.socket(), 2, 600, &failures).size(), 1200u);
  RunResult r = d.Ctl({"--json", "audit", "list", "--limit", "1100"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json page = json::parse(r.out);
  ASSERT_EQ(page["records"].size(), 1100u);
  std::set<std::string> seqs;
  for (const json& rec : page["records"]) {
    seqs.insert(rec["seq"].get<std::string>());
  }
  EXPECT_EQ(seqs.size(), 1100u);
  EXPECT_EQ(page["records"][0]["seq"], "1200");
  EXPECT_EQ(page["records"][1099]["seq"], "101");
  EXPECT_EQ(page["next_page_token"], "101");
  RunResult table = d.Ctl({"audit", "list", "--limit", "1100"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_EQ(std::count(table.out.begin(), table.out.end(), '\n'), 1 + 1100 + 1);
  EXPECT_THAT(table.out, ::testing::EndsWith("\nmore: --page-token 101\n"));
  RunResult zero = d.Ctl({"audit", "list", "--limit", "0"});
  EXPECT_EQ(zero.exit_code, 2);
  EXPECT_EQ(zero.err, "sovereignctl: --limit 0 is not a positive number\n");
}

TEST(DaemonLoadTest, SigtermUnderLoadLosesNoAcknowledgedDecision) {
  DaemonProcess d;
  d.SetAuditSync("full");
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  std::atomic<int> failures{0};
  std::vector<std::string> acked;
  std::thread load([&] { acked = DecideConcurrently(d.socket(), 8, 5000, &failures); });
  // Let the load build up, then stop the daemon in the middle of it.
  for (int i = 0; i < 200 && HeadSeq(d) < 200; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  int status = d.Stop(SIGTERM);
  load.join();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << d.Log();
  EXPECT_GT(failures.load(), 0) << "the daemon stopped after the load ended: nothing tested";
  ASSERT_FALSE(acked.empty());

  ASSERT_TRUE(d.Start().ok()) << d.Log();
  std::set<std::string> logged = ExportedIds(d);
  for (const std::string& id : acked) {
    ASSERT_TRUE(logged.count(id)) << "acknowledged decision " << id << " was lost";
  }
  EXPECT_EQ(d.Ctl({"audit", "verify"}).exit_code, 0);
}

}  // namespace
}  // namespace sovereign::testing
