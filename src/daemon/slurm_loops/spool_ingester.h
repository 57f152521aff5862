// Moves the decisions the Slurm plugin spooled into the hash-chained audit log.
//
// Exactly once per decision id: the log refuses a second decision with the same id (it returns
// the stored record), so a batch that was appended but not yet trimmed when sovereignd died is
// simply read again. A segment is trimmed only after every record in it is in the log. A torn
// record at the end of a finished segment (slurmctld died mid-write, so it never answered that
// submission) is counted and logged, never half-ingested. A payload that does not decode is set
// aside in <spool>/undecodable.log for the admin and counted.
//
// Thread-safety: IngestOnce() is serialised internally; Start() runs it every `interval`.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "sovereign/audit_log.h"
#include "sovereign/periodic_worker.h"
#include "sovereign/register.h"
#include "sovereign/spool.h"
#include "sovereign/spool_record.h"

namespace sovereign::service {

struct IngesterOptions {
  // The plugin's spool folder (sovereign-plugin.conf `spool`).
  std::string spool_dir = "/var/spool/sovereign";
  // How often the spool is read: a decision reaches the log within about this long.
  std::chrono::milliseconds interval{50};
  // Records appended per round at most.
  size_t batch = 2000;
};

// Looks up a register by its full version (every applied version is kept); null if unknown.
using RegisterLookup = std::function<std::shared_ptr<const Register>(const std::string& version)>;

class SpoolIngester {
 public:
  SpoolIngester(IngesterOptions options, audit::AuditLog* log, RegisterLookup registers);
  ~SpoolIngester();
  SpoolIngester(const SpoolIngester&) = delete;
  SpoolIngester& operator=(const SpoolIngester&) = delete;

  // Reads what is new, appends it, trims finished segments. Returns how many records were
  // read (appended or found already present). A missing spool folder is not an error (the
  // plugin creates it on its first start): 0.
  absl::StatusOr<int> IngestOnce();
  void Start();

  int64_t ingested() const { return ingested_.load(); }
  int64_t torn_records() const { return torn_.load(); }
  int64_t undecodable() const { return undecodable_.load(); }
  // Rounds of the background thread that failed since Start(), and the last failure's text
  // (empty once a round works again).
  int64_t failures() const { return failures_.load(); }
  std::string last_error() const;
  // Bytes in the spool's segments past the read cursor: spooled, not yet in the log.
  int64_t BacklogBytes();

 private:
  void Run();

  const IngesterOptions options_;
  audit::AuditLog* const log_;
  const RegisterLookup registers_;
  std::mutex mu_;  // serialises IngestOnce
  std::unique_ptr<spool::SpoolReader> reader_;
  std::atomic<int64_t> ingested_{0}, torn_{0}, undecodable_{0}, failures_{0};
  mutable std::mutex error_mu_;
  std::string last_error_;  // guarded by error_mu_
  PeriodicWorker worker_;  // runs Run() at once, then every options_.interval
};

}  // namespace sovereign::service
