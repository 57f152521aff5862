// The register in force, and every way it changes: start-up, SIGHUP reload, Apply, Rollback.
//
// The register in use is an immutable ActiveRegister (the parsed register, the cluster view
// bound to it, its revision) behind a std::shared_ptr that is swapped atomically: a Decide that
// started with the old register finishes with it. A new register is validated completely
// before anything changes; an invalid one is refused and the old one stays. Every accepted
// register is recorded in the RegisterStore and written back to the register file (so that a
// restart comes up with the register last applied).
//
// Thread-safety: Current() is wait-free for readers in practice and may be called from any
// thread; changes are serialised by a mutex.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "register_lifecycle/register_store.h"
#include "sovereign/cluster.h"
#include "sovereign/register.h"

namespace sovereign::service {

struct ActiveRegister {
  std::shared_ptr<const Register> reg;
  ClusterView view;
  int64_t revision = 0;
  std::string source;  // file name the YAML came from
};

struct RegisterManagerOptions {
  // The register file (YAML). Read at start-up and on Reload(); rewritten by Apply/Rollback.
  std::string register_path = "/etc/slurm/sovereign-register.yaml";
  // Cluster snapshot JSON (sovereign::ClusterSnapshot); empty = every partition up with all
  // its GPUs free.
  std::string cluster_path;
  // Write an applied register back to register_path (atomically, by rename).
  bool write_register_file = true;
};

struct ApplyResult {
  StoredRegister revision;
  std::string previous_version;
  bool changed = false;
};

class RegisterManager {
 public:
  // Loads and validates the register file and records it as revision "startup" if it differs
  // from the newest stored one. INVALID_ARGUMENT lists every diagnostic, one per line.
  static absl::StatusOr<std::unique_ptr<RegisterManager>> Start(RegisterManagerOptions options,
                                                                RegisterStore* store);

  std::shared_ptr<const ActiveRegister> Current() const { return current_.load(); }

  // Validates `yaml` and, if valid, records, writes and swaps it. INVALID_ARGUMENT (every
  // diagnostic) when invalid; FAILED_PRECONDITION when `expected_version` is set and the
  // register in force has another version.
  absl::StatusOr<ApplyResult> Apply(const std::string& yaml, const std::string& source,
                                    const std::string& applied_by, const std::string& action,
                                    const std::string& comment,
                                    const std::string& expected_version);
  // Applies a stored version again (action "rollback").
  absl::StatusOr<ApplyResult> Rollback(const std::string& version, const std::string& applied_by,
                                       const std::string& comment);
  // Re-reads the register file (SIGHUP). An invalid file leaves the register in force alone,
  // counts a reload failure, and returns the error.
  absl::StatusOr<ApplyResult> Reload();

  int64_t reload_failures() const { return reload_failures_.load(); }
  RegisterStore* store() const { return store_; }

 private:
  RegisterManager(RegisterManagerOptions options, RegisterStore* store)
      : options_(std::move(options)), store_(store) {}
  absl::StatusOr<ClusterView> BindCluster(const Register& reg) const;
  absl::StatusOr<ApplyResult> ApplyLocked(const std::string& yaml, const std::string& source,
                                          const std::string& applied_by, const std::string& action,
                                          const std::string& comment, bool write_file);

  const RegisterManagerOptions options_;
  RegisterStore* const store_;
  std::mutex change_mu_;
  std::atomic<std::shared_ptr<const ActiveRegister>> current_;
  std::atomic<int64_t> reload_failures_{0};
};

}  // namespace sovereign::service
