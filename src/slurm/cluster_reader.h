// Reads the cluster placement needs from a running slurmctld through libslurm: per partition,
// its state, the nodes that can run jobs, their GPUs and free GPUs, and live power where nodes
// report it. Also the jobs, for binding decisions to where jobs really ran.
//
// The libslurm calls are thin; the arithmetic (GRES strings, node states, sums) lives in pure
// functions over plain rows, unit-tested without Slurm.
//
// Thread-safety: libslurm's load calls are thread-safe; these functions keep no state.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sovereign/cluster.h"
#include "sovereign/cluster_check.h"

namespace sovereign::slurm {

// A node as libslurm reports it, reduced to what placement needs.
struct NodeRow {
  std::string name;
  bool usable = false;  // can start jobs now: not down, drained, failing, powered off
  std::string gres;       // "gpu:a100:2(S:0)"
  std::string gres_used;  // "gpu:a100:1(IDX:0)"
  std::vector<std::string> partitions;
  std::optional<double> current_watts;  // absent when the node reports none
  std::vector<std::string> features;  // available features (the site feature among them)
};

struct PartitionRow {
  std::string name;
  PartitionState state = PartitionState::kUp;
};

// GPUs in a node's GRES string ("gpu:2", "gpu:h100:2(S:0-1)", "gpu:a100:1(IDX:0),mps:100").
int GpusInGres(const std::string& gres);

// GPUs in a job's allocated TRES ("cpu=2,mem=4G,node=1,billing=2,gres/gpu=2,gres/gpu:a100=2"):
// the untyped gres/gpu count, which Slurm keeps beside the typed ones; 0 without it (Slurm lists
// GPUs there only when AccountingStorageTRES tracks gres/gpu).
int AllocatedGpus(const std::string& tres_alloc);

// Whether a node in this state (node_info_t's node_state) can take jobs: not DOWN or FUTURE,
// not drained, failed, powered down, in maintenance or not responding. UNKNOWN (from
// slurmctld's start until the node's slurmd registers) counts as usable.
bool NodeUsable(uint32_t node_state);

// Builds the snapshot: a partition's GPUs are those of its usable nodes.
ClusterSnapshot Aggregate(const std::vector<PartitionRow>& partitions,
                          const std::vector<NodeRow>& nodes, absl::Time taken_at);

// Points libslurm at a slurm.conf once per process (later calls are no-ops). NOT_FOUND when
// the file cannot be read: libslurm itself would end the process on a missing file.
absl::Status InitSlurm(const std::string& slurm_conf);

// Loads partitions and nodes from slurmctld (SLURM_CONF must point at its slurm.conf).
// UNAVAILABLE with slurm_strerror's text when the controller does not answer.
absl::StatusOr<ClusterSnapshot> ReadClusterSnapshot(absl::Time now);

// A job as the reconciler needs it.
struct JobRow {
  uint32_t job_id = 0;
  uint32_t array_job_id = 0;  // 0 if not part of an array
  uint32_t array_task_id = 0;
  uint32_t user_id = 0;
  std::string state;          // "RUNNING", "PENDING", "COMPLETED", ...
  std::string partition;
  std::string nodes;          // Slurm host list expression, e.g. "fr-a100-[1-2]"
  std::string admin_comment;
  std::string comment;  // --comment, as the user typed it (datasets declared there)
  absl::Time start_time = absl::InfinitePast();
  absl::Time end_time = absl::InfinitePast();  // when it ended (final states only)
  int exit_status = 0;                          // the batch script's wait status
  // What re-deciding a pending job needs.
  std::string features;
  std::string account;
  std::string tres_per_job, tres_per_node, tres_per_task;
  uint32_t num_nodes = 0;
  uint32_t num_tasks = 0;
  // GPUs of the job, all nodes together: its allocation's, else (AllocatedGpus is 0) what it
  // asked for, which is what Slurm allocates.
  int gpus_allocated = 0;
  uint32_t time_limit_minutes = 0;  // 0 = none (INFINITE / not set)
  bool held = false;                 // priority 0
};

// Loads every job slurmctld still knows (pending, running and recently finished).
absl::StatusOr<std::vector<JobRow>> ReadJobs();
// ReadJobs, unless no job changed since `since` (slurmctld's clock: the `*last_update` of an
// earlier answer; 0 = load anyway): then nullopt, and slurmctld sends nothing. slurmctld
// answers all or nothing: when any job changed, every job comes back.
absl::StatusOr<std::optional<std::vector<JobRow>>> ReadJobsChangedSince(time_t since,
                                                                         time_t* last_update);
// ReadJobsChangedSince, a job at a time: `loaded` is called once slurmctld has answered
// (`changed`: a table follows), then `each` with every job in turn, and no table of rows is built
// beside libslurm's answer (at 100,000 jobs that table is tens of megabytes). An error from
// `each` stops the walk and is returned. The number of jobs, or nullopt when none changed since
// `since`.
struct JobVisitor {
  std::function<void(bool changed)> loaded;
  std::function<absl::Status(JobRow&& job)> each;
};
absl::StatusOr<std::optional<int64_t>> VisitJobsChangedSince(time_t since, time_t* last_update,
                                                             const JobVisitor& visitor);
// Loads one job. NOT_FOUND when slurmctld does not know it.
absl::StatusOr<JobRow> ReadJob(uint32_t job_id);
// The ids of the jobs that have steps now (a running batch script, srun or salloc steps),
// sorted: a list as long as the running jobs, however many are queued.
absl::StatusOr<std::vector<uint32_t>> ReadJobsWithSteps();
// slurmctld's MinJobAge: how long it keeps a job that ended before forgetting it (0: never).
absl::StatusOr<absl::Duration> ReadMinJobAge();
// Holds a job (priority 0, Reason=JobHeldAdmin), as `scontrol hold` does; also while its
// PrologSlurmctld runs, so that the requeue that follows a failed prolog leaves it held.
absl::Status HoldJob(uint32_t job_id);

// Moves a pending job: new partition, features and admin_comment in one update (the plugin's
// job_modify checks it like any other change). Empty fields are left alone.
absl::Status UpdateJob(uint32_t job_id, const std::string& partition, const std::string& features,
                       const std::string& admin_comment, bool hold);

// Requeues (running jobs) or cancels a job.
absl::Status RequeueJob(uint32_t job_id);
absl::Status CancelJob(uint32_t job_id);

// Every node with its partitions and available features (where it is: its site feature).
absl::StatusOr<std::vector<NodeStatus>> ReadNodes();

// A node's scheduling Weight as slurmctld holds it now (select/cons_tres fills the lowest
// first), with what sovereignd needs to choose one: its partitions and its GPUs.
struct NodeWeightRow {
  std::string name;
  uint32_t weight = 0;
  int gpus = 0;  // in its GRES
  std::vector<std::string> partitions;
};
absl::StatusOr<std::vector<NodeWeightRow>> ReadNodeWeights();
// Sets a node's Weight, as `scontrol update nodename=<node> weight=<weight>` does. slurmctld
// forgets it on `scontrol reconfigure` and on restart (back to slurm.conf's).
absl::Status SetNodeWeight(const std::string& node, uint32_t weight);

// Partitions with their nodes, and every node's GPUs, as slurmctld has them now (for checking
// the register against the cluster, cluster_check.h).
absl::StatusOr<SlurmInventory> ReadSlurmInventory();

// Expands a Slurm host list ("fr-a100-[1-2],us-h100-1") with libslurm's hostlist.
std::vector<std::string> ExpandHostList(const std::string& expression);

}  // namespace sovereign::slurm
