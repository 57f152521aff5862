// Nothing lost, nothing let in, when sovereignd's machine misbehaves:
// - sovereignd SIGKILLed again and again under a 16-client Decide load, in both audit sync modes
//   (docs/daemon-config.md: "normal: a decision survives any crash of the daemon; full: also a
//   power cut"): every decision a client saw acknowledged is in the log exactly once after each
//   restart, the chain verifies, and a decision sent again with its id is not written twice;
// - the audit database's filesystem full: Decide refuses with a message that says so, the
//   plugin's spool keeps every record, status shows the ingester failing, and once space is
//   freed the ingester catches up by itself, each record exactly once, the chain whole.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <grpcpp/create_channel.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sovereign/register.h"
#include "sovereign/spool.h"
#include "sovereign/spool_record.h"
#include "sovereign/v1/placement.grpc.pb.h"
#include "support/child_process.h"
#include "support/daemon_process.h"

namespace sovereign::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// The job client `c` asks for, always the same (so that a retry is the same request).
v1::JobRequest LoadJob(int client) {
  v1::JobRequest job;
  job.set_user(absl::StrCat("user", client));
  job.set_uid(3000 + client);
  job.add_datasets(client % 2 == 0 ? "imagenet-public" : "genomics-eu-us");
  job.add_groups("genomics");
  job.set_gpus(1 + client % 8);
  return job;
}

std::unique_ptr<v1::PlacementService::Stub> Connect(const std::string& socket) {
  grpc::ChannelArguments args;
  args.SetInt("grpc.use_local_subchannel_pool", 1);  // a connection per client
  // Reconnect quickly once sovereignd is back (gRPC's default first wait is a second).
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 20);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  return v1::PlacementService::NewStub(
      grpc::CreateCustomChannel("unix:" + socket, grpc::InsecureChannelCredentials(), args));
}

// How often each decision id is in the log (sovereignctl audit export).
std::map<std::string, int> LoggedIdCounts(const DaemonProcess& d) {
  RunResult r = d.Ctl({"audit", "export"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::map<std::string, int> counts;
  std::stringstream lines(r.out);
  std::string line;
  while (std::getline(lines, line)) {
    ++counts[json::parse(line)["decision_id"].get<std::string>()];
  }
  return counts;
}

// What the clients of the kill test were answered.
class Answers {
 public:
  void Acknowledged(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    acknowledged_.push_back(id);
    acknowledged_count_.fetch_add(1);
  }
  void SentAgain(const std::string& id) {
    std::lock_guard<std::mutex> lock(mu_);
    ++sent_again_[id];
  }
  void RecordedBefore(const std::string& id, const std::string& message) {
    std::lock_guard<std::mutex> lock(mu_);
    recorded_before_[id] = message;
  }
  void Failed(const std::string& what) {
    std::lock_guard<std::mutex> lock(mu_);
    failures_.push_back(what);
  }
  int acknowledged_count() const { return acknowledged_count_.load(); }
  std::vector<std::string> acknowledged() const {
    std::lock_guard<std::mutex> lock(mu_);
    return acknowledged_;
  }
  std::map<std::string, int> sent_again() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_again_;
  }
  std::map<std::string, std::string> recorded_before() const {
    std::lock_guard<std::mutex> lock(mu_);
    return recorded_before_;
  }
  std::vector<std::string> failures() const {
    std::lock_guard<std::mutex> lock(mu_);
    return failures_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> acknowledged_;
  std::atomic<int> acknowledged_count_{0};
  std::map<std::string, int> sent_again_;               // id -> retries after UNAVAILABLE
  std::map<std::string, std::string> recorded_before_;  // id -> ALREADY_EXISTS message
  std::vector<std::string> failures_;
};

// Holds the clients between two decisions while the test reads the log after a restart, so
// that the load does not run to its end meanwhile. Calls in flight go on.
class Gate {
 public:
  void Close() {
    std::lock_guard<std::mutex> lock(mu_);
    closed_ = true;
  }
  void Open() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = false;
    }
    cv_.notify_all();
  }
  // Waits while the gate is closed, at most until `deadline`.
  void Pass(Clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, deadline, [this] { return !closed_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
};

// The id of decision `i` of client `c`: chosen by the client, so that a retry carries it.
std::string LoadId(int client, int i) { return absl::StrCat("c", client, "-", i); }

// ALREADY_EXISTS for a decision id the log holds with another body (another second's
// decided_at, for one): the caller is told where it is.
std::string RecordedBeforeMessage(const std::string& id) {
  return absl::StrCat("decision ", id,
                      " was recorded before \\(seq [0-9]+\\); read it with "
                      "GetDecision instead of deciding again");
}

// A client as the Slurm controller's tools are written: one connection, each decision under an
// id of its own, sent again with the same id after UNAVAILABLE (sovereignd went away: the
// decision may or may not have been recorded), waiting for sovereignd to be back. Stops after
// `decisions`, or before the next one once `stop` is set.
void RunClient(const std::string& socket, int client, int decisions, Clock::time_point deadline,
               const std::atomic<bool>* stop, Gate* gate, Answers* answers) {
  std::unique_ptr<v1::PlacementService::Stub> stub = Connect(socket);
  v1::DecideRequest req;
  *req.mutable_job() = LoadJob(client);
  for (int i = 0; i < decisions && !stop->load(); ++i) {
    gate->Pass(deadline);
    const std::string id = LoadId(client, i);
    req.set_decision_id(id);
    for (int attempt = 0;; ++attempt) {
      if (Clock::now() >= deadline) {
        return answers->Failed(absl::StrCat(id, ": not answered before the load's deadline"));
      }
      grpc::ClientContext ctx;
      ctx.set_wait_for_ready(true);  // while sovereignd restarts, wait for it
      ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
      v1::DecideResponse resp;
      const grpc::Status s = stub->Decide(&ctx, req, &resp);
      if (s.ok()) {
        if (resp.decision().decision_id() != id || !resp.decision().recorded()) {
          return answers->Failed(absl::StrCat(id, ": OK for ", resp.decision().decision_id(),
                                              ", recorded ", resp.decision().recorded()));
        }
        answers->Acknowledged(id);
        break;
      }
      if (s.error_code() == grpc::StatusCode::UNAVAILABLE) {
        answers->SentAgain(id);
        continue;
      }
      if (s.error_code() == grpc::StatusCode::ALREADY_EXISTS && attempt > 0) {
        // The first attempt was recorded but its answer was lost with the daemon.
        answers->RecordedBefore(id, s.error_message());
        break;
      }
      return answers->Failed(absl::StrCat(id, ": ", s.error_code(), " ", s.error_message()));
    }
  }
}

// After a restart: every decision acknowledged before the kill is in the log exactly once, and
// the chain verifies.
void ExpectAcknowledgedLoggedOnce(const DaemonProcess& d, const std::vector<std::string>& acked,
                                  int kill) {
  std::map<std::string, int> logged = LoggedIdCounts(d);
  int missing = 0, doubled = 0;
  for (const std::string& id : acked) {
    missing += logged.count(id) == 0 ? 1 : 0;
    doubled += logged.count(id) != 0 && logged[id] > 1 ? 1 : 0;
  }
  EXPECT_EQ(missing, 0) << "after kill " << kill << ": acknowledged decisions lost";
  EXPECT_EQ(doubled, 0) << "after kill " << kill << ": acknowledged decisions logged twice";
  RunResult v = d.Ctl({"audit", "verify"});
  EXPECT_EQ(v.exit_code, 0) << "after kill " << kill << ": " << v.out << v.err;
}

class DaemonKillTest : public ::testing::TestWithParam<const char*> {};

TEST_P(DaemonKillTest, SigkillUnderLoadLosesNoAcknowledgedDecisionAndWritesNoRetryTwice) {
  constexpr int kClients = 16;
  constexpr int kPerClient = 1000;  // at most; the load stops once the kills are done
  constexpr int kKills = 3;
  constexpr int kAcknowledgedBetweenKills = 500;
  DaemonProcess d;
  d.SetAuditSync(GetParam());
  ASSERT_TRUE(d.Start().ok()) << d.Log();

  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + std::chrono::seconds(240);
  Answers answers;
  std::vector<std::thread> clients;
  std::atomic<int> clients_done{0};
  std::atomic<bool> stop{false};
  Gate gate;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      RunClient(d.socket(), c, kPerClient, deadline, &stop, &gate, &answers);
      clients_done.fetch_add(1);
    });
  }
  // The load chooses the moments: each kill comes once the clients have had so many more
  // decisions acknowledged (after the last restart and its checks); so many more after the
  // last kill, the load stops.
  const auto wait_for_more_acknowledged = [&] {
    const int target = answers.acknowledged_count() + kAcknowledgedBetweenKills;
    while (answers.acknowledged_count() < target && clients_done.load() < kClients &&
           Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return answers.acknowledged_count() >= target;
  };
  int kills = 0;
  for (int k = 1; k <= kKills; ++k) {
    if (!wait_for_more_acknowledged()) {
      break;
    }
    const int status = d.Stop(SIGKILL);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << status;
    ++kills;
    // Every OK a client holds now came from the daemon that died.
    const std::vector<std::string> acked = answers.acknowledged();
    gate.Close();
    const absl::Status started = d.Start();
    if (!started.ok()) {
      ADD_FAILURE() << "restart after kill " << k << ": " << started;
      gate.Open();
      break;
    }
    ExpectAcknowledgedLoggedOnce(d, acked, k);

    // A client that lost the answer sends an acknowledged decision again with its id: the
    // stored decision comes back (OK), or ALREADY_EXISTS when it differs from this one; it is
    // not written a second time.
    const std::string again = acked.back();
    v1::DecideRequest req;
    *req.mutable_job() = LoadJob(std::stoi(again.substr(1, again.find('-') - 1)));
    req.set_decision_id(again);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::DecideResponse resp;
    const grpc::Status s = Connect(d.socket())->Decide(&ctx, req, &resp);
    if (s.ok()) {
      EXPECT_EQ(resp.decision().decision_id(), again);
    } else {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::ALREADY_EXISTS) << s.error_message();
      EXPECT_THAT(s.error_message(), ::testing::MatchesRegex(RecordedBeforeMessage(again)));
    }
    EXPECT_EQ(LoggedIdCounts(d)[again], 1) << again << " sent again after kill " << k;
    gate.Open();
  }
  EXPECT_TRUE(wait_for_more_acknowledged()) << "the load did not go on after the last restart";
  stop.store(true);
  for (std::thread& t : clients) {
    t.join();
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();

  EXPECT_EQ(kills, kKills) << "the load ended before the kills: nothing tested";
  const std::vector<std::string> failures = answers.failures();
  EXPECT_TRUE(failures.empty()) << failures.size() << " clients failed, first: " << failures[0];
  const std::vector<std::string> acked = answers.acknowledged();
  const std::map<std::string, std::string> recorded_before = answers.recorded_before();
  const std::map<std::string, int> sent_again = answers.sent_again();
  EXPECT_FALSE(sent_again.empty()) << "no call was cut by a kill: retries not tested";
  for (const auto& [id, message] : recorded_before) {
    EXPECT_THAT(message, ::testing::MatchesRegex(RecordedBeforeMessage(id)));
  }

  // Every decision sent was answered (the clients stop between decisions). The log holds each
  // exactly once, those sent again included, and nothing else.
  std::vector<std::string> answered = acked;
  for (const auto& [id, message] : recorded_before) {
    answered.push_back(id);
  }
  std::map<std::string, int> logged = LoggedIdCounts(d);
  EXPECT_EQ(logged.size(), answered.size());
  for (const std::string& id : answered) {
    ASSERT_EQ(logged[id], 1) << id << (sent_again.count(id) ? ", sent again," : "")
                             << " is in the log " << logged[id] << " times";
  }
  RunResult v = d.Ctl({"audit", "verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_THAT(v.out, HasSubstr(absl::StrCat(" verified: ", answered.size(), " records, ")));
  std::cout << "sync " << GetParam() << ": " << answered.size() << " decisions by " << kClients
            << " clients, " << kills << " SIGKILLs, " << acked.size() << " acknowledged, "
            << sent_again.size() << " sent again after UNAVAILABLE (" << recorded_before.size()
            << " found recorded before), " << seconds << " s\n";
}

INSTANTIATE_TEST_SUITE_P(AuditSync, DaemonKillTest, ::testing::Values("full", "normal"),
                         [](const ::testing::TestParamInfo<const char*>& p) {
                           return std::string(p.param);
                         });

// The decision the plugin spools for submission `i`: a researcher's job on EU patient data,
// decided by the core against the example register, as job_submit/sovereign does.
spool::SpooledDecision PluginDecision(const Register& reg, int i) {
  spool::SpooledDecision d;
  d.decision_id = absl::StrCat("plugin-", i);
  d.request.user = "alice";
  d.request.uid = 2001;
  d.request.groups = {"oncology"};
  d.request.account = "oncology";
  d.request.datasets = {"patients-eu"};
  d.request.gpus = 1 + i % 8;
  d.request.time_limit = absl::Hours(1);
  d.request.submit_time = absl::Now();
  d.decision = Decide(d.request, ClusterView::AllUp(reg), reg, d.request.submit_time);
  return d;
}

// The spool's segment files and their sizes.
std::map<std::string, uintmax_t> Segments(const std::string& spool) {
  std::map<std::string, uintmax_t> segments;
  for (const auto& entry : std::filesystem::directory_iterator(spool)) {
    if (entry.path().extension() == ".spool") {
      segments[entry.path().filename().string()] = entry.file_size();
    }
  }
  return segments;
}

TEST(DaemonFullDiskTest, FullAuditFilesystemRefusesDecideKeepsTheSpoolAndCatchesUp) {
  constexpr int kSpooled = 300;
  DaemonProcess d;
  const std::string lib = d.dir() + "/lib";  // the audit database and its -wal, -shm
  const std::string spool = d.dir() + "/spool";
  d.MountTmpfsOn(lib, "2m");
  d.AddConfig(absl::StrCat("slurm:\n  slurm_conf: ", UnreachableSlurmConf(d.dir()),
                           "\n  snapshot: ", d.dir(), "/snapshot\n  spool: ", spool,
                           "\n  ingest_interval_ms: 50\n  publish_interval_ms: 60000\n"
                           "  reconcile_interval_ms: 60000\n"));
  const absl::Status started = d.Start();
  ASSERT_TRUE(started.ok()) << started << "\n" << d.Log();
  ASSERT_TRUE(std::filesystem::exists(d.InDaemonMounts(d.audit_db())));
  EXPECT_FALSE(std::filesystem::exists(d.audit_db())) << "the mount leaked into the test's";

  // Fill the daemon's tmpfs.
  const std::string filler = d.InDaemonMounts(lib + "/filler");
  // 16 MiB at most: the tmpfs has 2.
  ASSERT_EQ(testing::FillFileSystem(filler, 16 << 20), "") << "the tmpfs did not fill";

  // Decide refuses: a decision that cannot be written down is not made. (A few may still fit
  // in the pages the database files already hold.)
  const std::string no_space = absl::StrCat("audit log ", d.audit_db(),
                                            ": no space left on device: nothing written; "
                                            "free space on the filesystem holding ",
                                            lib);
  std::unique_ptr<v1::PlacementService::Stub> stub = Connect(d.socket());
  std::vector<std::string> acked;
  grpc::Status refused;
  for (int i = 0; i < 1000 && refused.ok(); ++i) {
    v1::DecideRequest req;
    *req.mutable_job() = LoadJob(i % 16);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
    v1::DecideResponse resp;
    refused = stub->Decide(&ctx, req, &resp);
    if (refused.ok()) {
      acked.push_back(resp.decision().decision_id());
    }
  }
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_EQ(refused.error_message(),
            absl::StrCat("decision not made, as it could not be recorded: ", no_space));
  RunResult probe = d.Probe("PlacementService.Decide", kAliceJob);
  EXPECT_EQ(StatusOf(probe), "RESOURCE_EXHAUSTED") << probe.out << probe.err;

  // The plugin spools its decisions meanwhile (several segments: finished ones are what the
  // ingester trims).
  auto reg = Register::Load(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
  ASSERT_TRUE(reg.ok()) << reg.status();
  spool::SpoolWriterOptions wo;
  wo.dir = spool;
  wo.segment_bytes = 64 << 10;
  auto writer = spool::SpoolWriter::Open(wo);
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (int i = 0; i < kSpooled; ++i) {
    std::string payload;
    spool::EncodeSpooledDecision(PluginDecision(**reg, i), &payload);
    ASSERT_TRUE((*writer)->Append(payload).ok());
  }
  const std::map<std::string, uintmax_t> spooled = Segments(spool);
  ASSERT_GE(spooled.size(), 3u);

  // The ingester fails, says why, and keeps every record in the spool.
  json status = WaitForStatus(d, [](const json& s) {
    return StatusField(s, "spool_ingest_failures") >= 2 &&
           !s.value("spool_ingest_error", "").empty();
  });
  EXPECT_EQ(status.value("spool_ingest_error", ""), no_space);
  EXPECT_EQ(StatusField(status, "spool_ingested"), 0);
  EXPECT_GT(StatusField(status, "spool_backlog_bytes"), 0);
  EXPECT_EQ(Segments(spool), spooled) << "the spool was trimmed while its records are not logged";
  EXPECT_THAT(d.Ctl({"status"}).out,
              ::testing::ContainsRegex(absl::StrCat(
                  "\nspool:            [0-9]+ bytes waiting for the audit log; 0 records ingested "
                  "since start; [0-9]+ rounds failed, failing now: audit log ",
                  d.audit_db(),
                  ": no space left on device: nothing written; free space on the "
                  "filesystem holding ",
                  lib, "\n")));
  EXPECT_THAT(d.Log(), HasSubstr(absl::StrCat("spool ingestion: ", no_space, "\n")));
  std::map<std::string, int> logged = LoggedIdCounts(d);
  EXPECT_EQ(logged.count("plugin-0"), 0u);
  EXPECT_EQ(logged.size(), acked.size());

  // Space comes back: the ingester catches up by itself, without a restart.
  ASSERT_EQ(unlink(filler.c_str()), 0) << strerror(errno);
  // The round that catches up counts its records and trims before it clears its error: wait for
  // all three, or the status can be read between them.
  status = WaitForStatus(d, [&](const json& s) {
    return StatusField(s, "spool_ingested") >= kSpooled && Segments(spool).size() == 1 &&
           s.value("spool_ingest_error", "").empty();
  });
  EXPECT_EQ(StatusField(status, "spool_ingested"), kSpooled);
  EXPECT_EQ(status.value("spool_ingest_error", ""), "");
  EXPECT_EQ(Segments(spool).size(), 1u) << "finished segments are trimmed once logged";
  EXPECT_THAT(d.Ctl({"status"}).out,
              ::testing::ContainsRegex(
                  absl::StrCat("\nspool:            0 bytes waiting for the audit log; ", kSpooled,
                               " records ingested since start; [0-9]+ rounds failed\n")));

  // Decide works again; every record is in the log exactly once, and the chain is whole.
  RunResult decided = d.Probe("PlacementService.Decide", kAliceJob);
  EXPECT_EQ(StatusOf(decided), "OK") << decided.out << decided.err;
  logged = LoggedIdCounts(d);
  int not_once = 0;
  for (int i = 0; i < kSpooled; ++i) {
    not_once += logged[absl::StrCat("plugin-", i)] != 1 ? 1 : 0;
  }
  EXPECT_EQ(not_once, 0) << "spooled decisions not in the log exactly once";
  for (const std::string& id : acked) {
    EXPECT_EQ(logged[id], 1) << id;
  }
  const size_t records = acked.size() + kSpooled + 1;
  EXPECT_EQ(logged.size(), records);
  RunResult v = d.Ctl({"audit", "verify"});
  EXPECT_EQ(v.exit_code, 0) << v.out << v.err;
  EXPECT_THAT(v.out, HasSubstr(absl::StrCat(" verified: ", records, " records, ")));
  std::cout << acked.size() << " decisions fitted after the tmpfs filled; " << kSpooled
            << " spooled in " << spooled.size() << " segments, ingested after space was freed\n";
}

}  // namespace
}  // namespace sovereign::testing
