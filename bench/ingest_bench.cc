// sovereignd's cost for each record it moves from the plugin's spool into the audit log: the CPU
// of the whole process (the ingesting thread and the audit log's own threads) per record, and
// the wall time, for two ways of doing it, interleaved round by round on fresh files:
//
//   per_record  the baseline: each record read, decoded, built into its audit record and
//               appended in a transaction of its own (how the ingester worked before it batched)
//   batched     SpoolIngester::IngestOnce: the same records, one audit transaction per read
//
// Each round spools --records decisions (Decide on the example register and cluster, encoded
// and written with SpoolWriter as the plugin writes them), then ingests them; only the
// ingestion is measured. After every round the log must hold every record once and its chain
// must verify, or the run fails (exit 1): a smoke run proves that the thing measured worked.
//
//   ingest_bench [--records=N] [--rounds=R] [--sync=normal|full] [--only=VARIANT] [--dir=DIR]
//
// Prints, per variant, the median over the rounds of CPU µs and wall µs per record, and the
// ratio of batched to per_record from the same run.
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench_flags.h"
#include "records/audit_records.h"
#include "slurm_loops/spool_ingester.h"
#include "sovereign/audit_log.h"
#include "sovereign/cluster.h"
#include "sovereign/placement.h"
#include "sovereign/register.h"
#include "sovereign/spool.h"
#include "sovereign/spool_record.h"

namespace sovereign {
namespace {

using ::sovereign::bench::TakeFlag;

namespace fs = std::filesystem;

struct Flags {
  int records = 2000;
  int rounds = 5;
  audit::Sync sync = audit::Sync::kNormal;
  std::string dir;
  std::string only;  // "per_record" or "batched": run one variant (for a profiler)
};

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "ingest_bench: %s\n", what.c_str());
  std::exit(1);
}

struct Sample {
  double cpu_us_per_record = 0;
  double wall_us_per_record = 0;
};

// Spools `n` plugin decisions into `spool_dir`, as job_submit/sovereign writes them.
void SpoolDecisions(const std::string& spool_dir, int n, const Register& reg,
                    const ClusterView& view, int round) {
  spool::SpoolWriterOptions wo;
  wo.dir = spool_dir;
  absl::StatusOr<std::unique_ptr<spool::SpoolWriter>> writer = spool::SpoolWriter::Open(wo);
  if (!writer.ok()) {
    Fail(std::string(writer.status().message()));
  }
  const absl::Time now = absl::Now();
  std::string payload;
  for (int i = 0; i < n; ++i) {
    spool::SpooledDecision d;
    d.decision_id = absl::StrCat("bench-", round, "-", i);
    d.request.user = "alice";
    d.request.uid = 1000;
    d.request.groups = {"alice", "oncology"};
    d.request.account = "oncology";
    d.request.datasets = {"patients-eu"};
    d.request.gpus = 1 + i % 4;
    d.request.time_limit = absl::Hours(2);
    d.request.submit_time = now;
    d.decision = Decide(d.request, view, reg, now);
    payload.clear();
    spool::EncodeSpooledDecision(d, &payload);
    if (absl::Status s = (*writer)->Append(payload); !s.ok()) {
      Fail(std::string(s.message()));
    }
  }
}

Sample RunRound(const Flags& flags, bool batched, int round,
                const std::shared_ptr<const Register>& reg, const ClusterView& view) {
  const std::string dir =
      absl::StrCat(flags.dir, "/", batched ? "batched" : "per_record", "-", round);
  fs::create_directories(dir);
  const std::string spool_dir = dir + "/spool";
  SpoolDecisions(spool_dir, flags.records, *reg, view, round);

  audit::AuditOptions ao;
  ao.path = dir + "/audit.db";
  ao.signing_key_path = dir + "/signing.pem";
  ao.sync = flags.sync;
  absl::StatusOr<std::unique_ptr<audit::AuditLog>> log = audit::AuditLog::Open(ao);
  if (!log.ok()) {
    Fail(std::string(log.status().message()));
  }
  auto lookup = [reg](const std::string& version) {
    return version == reg->version() ? reg : nullptr;
  };

  const double cpu0 = ProcessCpuSeconds();
  const absl::Time wall0 = absl::Now();
  if (batched) {
    service::IngesterOptions io;
    io.spool_dir = spool_dir;
    service::SpoolIngester ingester(io, log->get(), lookup);
    for (int guard = 0; guard < flags.records + 2; ++guard) {
      absl::StatusOr<int> n = ingester.IngestOnce();
      if (!n.ok()) {
        Fail(std::string(n.status().message()));
      }
      if (*n == 0) {
        break;
      }
    }
  } else {
    absl::StatusOr<std::unique_ptr<spool::SpoolReader>> reader =
        spool::SpoolReader::Open(spool_dir);
    if (!reader.ok()) {
      Fail(std::string(reader.status().message()));
    }
    for (int guard = 0; guard < flags.records + 2; ++guard) {
      absl::StatusOr<spool::ReadResult> read = (*reader)->ReadNew(2000);
      if (!read.ok()) {
        Fail(std::string(read.status().message()));
      }
      if (read->records.empty()) {
        break;
      }
      for (const spool::SpoolRecord& rec : read->records) {
        absl::StatusOr<spool::SpooledDecision> d = spool::DecodeSpooledDecision(rec.payload);
        if (!d.ok()) {
          Fail(std::string(d.status().message()));
        }
        std::shared_ptr<const Register> r = lookup(d->decision.register_version);
        absl::StatusOr<audit::AuditRecord> a =
            (*log)->Append(service::SpooledToRecord(*d, r.get()));
        if (!a.ok()) {
          Fail(std::string(a.status().message()));
        }
      }
      (*reader)->Trim().IgnoreError();
    }
  }
  const double cpu = ProcessCpuSeconds() - cpu0;
  const double wall = absl::ToDoubleSeconds(absl::Now() - wall0);

  if ((*log)->HeadSeq() != flags.records) {
    Fail(absl::StrCat(batched ? "batched" : "per_record", " round ", round, ": the log holds ",
                      (*log)->HeadSeq(), " records, not the ", flags.records, " spooled"));
  }
  audit::VerifyReport v = (*log)->Verify();
  if (!v.ok || v.records_checked != flags.records) {
    Fail(absl::StrCat("the chain does not verify: ", v.problem));
  }
  log->reset();
  fs::remove_all(dir);
  return Sample{cpu * 1e6 / flags.records, wall * 1e6 / flags.records};
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int Main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i < argc; ++i) {
    std::string value;
    if (TakeFlag(argv[i], "records", &value)) {
      if (!absl::SimpleAtoi(value, &flags.records) || flags.records < 1) {
        Fail(absl::StrCat("--records=", value, " is not a positive number"));
      }
    } else if (TakeFlag(argv[i], "rounds", &value)) {
      if (!absl::SimpleAtoi(value, &flags.rounds) || flags.rounds < 1) {
        Fail(absl::StrCat("--rounds=", value, " is not a positive number"));
      }
    } else if (TakeFlag(argv[i], "sync", &value)) {
      if (value != "normal" && value != "full") {
        Fail(absl::StrCat("--sync=", value, ": use normal or full"));
      }
      flags.sync = value == "full" ? audit::Sync::kFull : audit::Sync::kNormal;
    } else if (TakeFlag(argv[i], "only", &flags.only)) {
      if (flags.only != "per_record" && flags.only != "batched") {
        Fail(absl::StrCat("--only=", flags.only, ": use per_record or batched"));
      }
    } else if (!TakeFlag(argv[i], "dir", &flags.dir)) {
      Fail(absl::StrCat("unknown argument ", argv[i],
                        " (known: --records=N --rounds=R --sync=normal|full --only=VARIANT --dir=DIR)"));
    }
  }
  bool own_dir = false;
  if (flags.dir.empty()) {
    char tmpl[] = "/tmp/ingest_bench.XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      Fail("cannot create a temporary directory");
    }
    flags.dir = tmpl;
    own_dir = true;
  }
  absl::StatusOr<std::shared_ptr<const Register>> reg =
      Register::Load(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
  absl::StatusOr<ClusterSnapshot> snap =
      ClusterSnapshot::Load(SOVEREIGN_SOURCE_DIR "/config/cluster.example.json");
  if (!reg.ok() || !snap.ok()) {
    Fail("cannot load the example register and cluster");
  }
  const ClusterView view = ClusterView::Bind(*snap, **reg);

  std::vector<double> cpu[2], wall[2];
  for (int round = 0; round < flags.rounds; ++round) {
    // Alternate which goes first, so that neither always runs on a warmer machine.
    for (int k = 0; k < 2; ++k) {
      const bool batched = (round + k) % 2 == 1;
      if (!flags.only.empty() && flags.only != (batched ? "batched" : "per_record")) {
        continue;
      }
      Sample s = RunRound(flags, batched, round, *reg, view);
      cpu[batched].push_back(s.cpu_us_per_record);
      wall[batched].push_back(s.wall_us_per_record);
    }
  }
  if (own_dir) {
    fs::remove_all(flags.dir);
  }
  std::printf("spool to audit log: %d records a round, %d rounds, sync %s; medians per record\n",
              flags.records, flags.rounds, flags.sync == audit::Sync::kFull ? "full" : "normal");
  std::printf("%-12s %14s %14s\n", "variant", "cpu_us/record", "wall_us/record");
  const char* names[2] = {"per_record", "batched"};
  for (int b = 0; b < 2; ++b) {
    if (cpu[b].empty()) {
      continue;
    }
    std::printf("%-12s %14.1f %14.1f\n", names[b], Median(cpu[b]), Median(wall[b]));
  }
  if (!cpu[0].empty() && !cpu[1].empty()) {
    std::printf("batched / per_record: cpu %.2f, wall %.2f\n", Median(cpu[1]) / Median(cpu[0]),
                Median(wall[1]) / Median(wall[0]));
  }
  return 0;
}

}  // namespace
}  // namespace sovereign

int main(int argc, char** argv) { return sovereign::Main(argc, argv); }
