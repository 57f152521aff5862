// The register checked against the cluster it describes: partitions and GPU (GRES) types that
// Slurm does not have, node and GPU counts that differ from Slurm's, and Unix groups and users
// that do not exist. `sovereignctl register validate` and `sovereignd --check-config` report
// these beside the register's own diagnostics.
//
// What Slurm has comes either from slurm.conf (and gres.conf beside it, for GPU types that
// slurm.conf's Gres= does not give), read here without libslurm, or from a running slurmctld
// (sovereignd's src/slurm, which fills the same SlurmInventory).
//
// Severity, as an admin relies on it:
//   error    a partition the register names is not in Slurm; no node of the partition has
//            GPUs of the register's gpu_type (jobs asking --gres=gpu:<type> cannot run there);
//            a Unix group a dataset names does not exist (no member can use the dataset
//            through it: usually a misspelling).
//   warning  the register's node count or GPUs per node differ from Slurm's (they feed the
//            energy estimates, not residency); a Unix user a dataset names does not exist
//            (someone who left: nobody else is affected).
//
// Thread-safety: plain functions and values.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "sovereign/register.h"

namespace sovereign {

// GPUs of one type on a node. `type` is empty for GPUs declared without one (Gres=gpu:2).
struct SlurmGpus {
  std::string type;
  int count = 0;
};

struct SlurmNodeInfo {
  std::string name;
  std::vector<SlurmGpus> gpus;
};

struct SlurmPartitionInfo {
  std::string name;
  std::vector<std::string> nodes;
};

// What Slurm has, as the check needs it.
struct SlurmInventory {
  // Where it came from, for messages: "slurm.conf /etc/slurm/slurm.conf", "slurmctld".
  std::string source;
  std::vector<SlurmPartitionInfo> partitions;
  std::vector<SlurmNodeInfo> nodes;
};

// The GPUs in a GRES string as slurm.conf or slurmctld write it: "gpu:a100:2(S:0-1),mps:100" ->
// {a100, 2}; "gpu:2" -> {"", 2}; "gpu:h100" -> {h100, 1}; "gpu" -> {"", 1}; commas inside
// "(IDX:0,2)" do not separate entries. Other GRES ("mps", "gpumem") are left out.
std::vector<SlurmGpus> GpusOfGres(const std::string& gres);

// Reads the NodeName= and PartitionName= lines of slurm.conf (NodeName=DEFAULT included,
// `Nodes=ALL` understood) and, when a node's GPUs have no type in its Gres=, the Type= of the
// gres.conf in the same directory. NOT_FOUND when slurm.conf cannot be read; INVALID_ARGUMENT
// with "slurm.conf:<line>: ..." when a host list cannot be read.
absl::StatusOr<SlurmInventory> ReadSlurmConf(const std::string& path);

enum class FindingSeverity { kError, kWarning };

// One thing the register says that the cluster contradicts, at the register object's place.
struct ClusterFinding {
  FindingSeverity severity = FindingSeverity::kError;
  SourceLocation location;
  std::string message;
  // "register.yaml:92:5: error: partition \"gpu-x\": ..."
  std::string ToString() const;
};

// Whether a Unix user or group name exists (the host's NSS by default).
struct AccountLookup {
  std::function<bool(const std::string&)> user_exists;
  std::function<bool(const std::string&)> group_exists;
};
AccountLookup NssAccountLookup();

// Partitions, GPU types and counts of `reg` against `slurm`, in register order.
std::vector<ClusterFinding> CheckAgainstSlurm(const Register& reg, const SlurmInventory& slurm);
// The Unix groups and users datasets name, in register order.
std::vector<ClusterFinding> CheckAccounts(const Register& reg, const AccountLookup& accounts);

// How many findings are errors.
int CountErrors(const std::vector<ClusterFinding>& findings);

}  // namespace sovereign
