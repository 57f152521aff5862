// The job `sovereignctl explain` asks about: its command-line values turned into the
// JobRequest that Slurm's job_submit plugin would build for the same sbatch.
//
// Errors: INVALID_ARGUMENT for a malformed value (the message names the option and the value,
// as the user typed them), NOT_FOUND when the user's groups cannot be looked up on this
// machine. Thread-safety: reads the system's user and group databases (NSS); no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sovereign/placement.h"

namespace sovereign::cli {

struct ExplainOptions {
  // The register and cluster snapshot to decide against; empty register: ask sovereignd.
  std::string register_path;
  // Empty: every partition of the register up with all its GPUs free.
  std::string cluster_path;
  // Empty: the user running sovereignctl.
  std::string user;
  // nullopt: the user's uid on this machine.
  std::optional<uint32_t> uid;
  // Empty: the user's groups on this machine (getgrouplist).
  std::vector<std::string> groups;
  // The Slurm account; empty = none.
  std::string account;
  std::vector<std::string> datasets;
  // The job's --comment; its `dataset:NAME[,NAME...]` words declare datasets too.
  std::string comment;
  // Partitions asked for with -p; empty = any.
  std::vector<std::string> partitions;
  int gpus = 0;
  // GRES type, e.g. "h100"; empty = any.
  std::string gpu_type;
  // 0 = as many as the GPUs need.
  int nodes = 0;
  // The job's time limit as sbatch -t takes it ("120", "2:00:00", "1-00:00:00") or as a
  // duration ("2h", "1h30m"); empty = the register's default_time_limit.
  std::string time;
  // RFC 3339 time of the decision; empty = now.
  std::string now;
  // How far the start may move for less CO2, as sbatch --green-window takes it ("6h"); empty =
  // not at all. A `green-window:` word in `comment` counts too.
  std::string green_window;
  // Fill in the user (the one running this), uid and groups from this machine where not
  // given. false: leave them as given (sovereignd fills in its caller's).
  bool look_up_identity = true;
};

// The request, and the time to decide at.
struct ExplainJob {
  JobRequest request;
  absl::Time now;
};

absl::StatusOr<ExplainJob> BuildExplainJob(const ExplainOptions& options);

// A time limit in one of sbatch's forms: "minutes", "minutes:seconds", "hours:minutes:seconds",
// "days-hours", "days-hours:minutes", "days-hours:minutes:seconds". nullopt otherwise.
std::optional<absl::Duration> ParseSlurmTime(absl::string_view text);

// A user of this machine: uid and the names of every group they are in (primary first).
struct LocalUser {
  std::string name;
  uint32_t uid = 0;
  std::vector<std::string> groups;
};
// NOT_FOUND when the system knows no such user.
absl::StatusOr<LocalUser> LookUpLocalUser(const std::string& name);
// The name of the user running this process. NOT_FOUND when its uid has no name.
absl::StatusOr<std::string> CurrentUserName();

}  // namespace sovereign::cli
