#include "cluster_reader.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sovereign/slurm_tres.h"

extern "C" {
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
// Exported by libslurm but not declared in 22.05's public headers.
char* slurm_job_state_string(uint32_t state);
void slurm_xfree(void** item);
}

namespace sovereign::slurm {
namespace {

std::string Str(const char* s) { return s == nullptr ? std::string() : std::string(s); }

// slurm_free_job_info_msg, and the strings libslurm forgets to free. Before Slurm 23.02.5 (its
// NEWS: "Fix memory leak as a result of a job info query") slurm_free_job_info_members frees
// neither admin_comment, where job_submit/sovereign tags every job it places, nor a few other
// strings it unpacks: each read of the job table lost every job's tag, and sovereignd reads it
// every reconcile round. 23.02.5 and later free them all.
void FreeJobInfoMsg(job_info_msg_t* jobs) {
#if SLURM_VERSION_NUMBER < SLURM_VERSION_NUM(23, 2, 5)
  for (uint32_t i = 0; i < jobs->record_count; ++i) {
    slurm_job_info_t& job = jobs->job_array[i];
    for (char** field : {&job.admin_comment, &job.cluster_features, &job.cronspec, &job.prefer,
                         &job.system_comment}) {
      slurm_xfree(reinterpret_cast<void**>(field));
    }
#if SLURM_VERSION_NUMBER >= SLURM_VERSION_NUM(23, 2, 0)
    for (char** field : {&job.container_id, &job.failed_node}) {
      slurm_xfree(reinterpret_cast<void**>(field));
    }
#endif
  }
#endif
  slurm_free_job_info_msg(jobs);
}

absl::Status SlurmError(absl::string_view what) {
  int err = slurm_get_errno();
  return absl::UnavailableError(absl::StrCat("slurm: ", what, ": ", slurm_strerror(err),
                                             " (is slurmctld running and "
                                             "SLURM_CONF set?)"));
}

PartitionState StateOf(uint16_t state_up) {
  switch (state_up) {
    case PARTITION_UP:
      return PartitionState::kUp;
    case PARTITION_DOWN:
      return PartitionState::kDown;
    case PARTITION_DRAIN:
      return PartitionState::kDrain;
    default:
      return PartitionState::kInactive;
  }
}

}  // namespace

// UNKNOWN is what slurmctld says of a node from its start until the node's slurmd registers
// (seconds): counted as up, or every job would be refused as unplaceable for that while after a
// restart. A node that does not register becomes NOT_RESPONDING, then DOWN.
bool NodeUsable(uint32_t state) {
  uint32_t base = state & NODE_STATE_BASE;
  if (base == NODE_STATE_DOWN || base == NODE_STATE_FUTURE) {
    return false;
  }
  return (state & (NODE_STATE_DRAIN | NODE_STATE_FAIL | NODE_STATE_NO_RESPOND |
                   NODE_STATE_POWERED_DOWN | NODE_STATE_MAINT)) == 0;
}

int GpusInGres(const std::string& gres) {
  int total = 0;
  for (const SlurmGpus& g : GpusOfGres(gres)) {
    total += g.count;
  }
  return total;
}

int AllocatedGpus(const std::string& tres_alloc) {
  for (absl::string_view item : absl::StrSplit(tres_alloc, ',')) {
    int gpus = 0;
    if (absl::ConsumePrefix(&item, "gres/gpu=") && absl::SimpleAtoi(item, &gpus) && gpus > 0) {
      return gpus;
    }
  }
  return 0;
}

absl::Status InitSlurm(const std::string& slurm_conf) {
  if (access(slurm_conf.c_str(), R_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("slurm: cannot read ", slurm_conf));
  }
  static std::once_flag once;
  std::call_once(once, [&] { slurm_init(slurm_conf.c_str()); });
  return absl::OkStatus();
}

ClusterSnapshot Aggregate(const std::vector<PartitionRow>& partitions,
                          const std::vector<NodeRow>& nodes, absl::Time taken_at) {
  ClusterSnapshot snap;
  snap.taken_at = taken_at;
  std::map<std::string, size_t> index;
  for (const PartitionRow& p : partitions) {
    index[p.name] = snap.partitions.size();
    PartitionStatus s;
    s.name = p.name;
    s.state = p.state;
    snap.partitions.push_back(s);
  }
  for (const NodeRow& n : nodes) {
    const int total = GpusInGres(n.gres);
    snap.nodes.push_back({n.name, n.partitions, n.features, total, GpusInGres(n.gres_used)});
    // The partition's real size counts every node, usable or not: a job larger than the
    // hardware is refused, one that only waits for nodes to come back is not.
    for (const std::string& p : n.partitions) {
      auto it = index.find(p);
      if (it != index.end()) {
        PartitionStatus& s = snap.partitions[it->second];
        s.nodes_total = s.nodes_total.value_or(0) + 1;
        s.gpus_per_node = std::max(s.gpus_per_node.value_or(0), total);
      }
    }
    if (!n.usable) {
      continue;
    }
    int used = GpusInGres(n.gres_used);
    for (const std::string& p : n.partitions) {
      auto it = index.find(p);
      if (it == index.end()) {
        continue;
      }
      PartitionStatus& s = snap.partitions[it->second];
      s.nodes_up += 1;
      s.gpus_total += total;
      s.gpus_free += std::max(total - used, 0);
      if (n.current_watts.has_value()) {
        s.current_watts = s.current_watts.value_or(0) + *n.current_watts;
      }
    }
  }
  return snap;
}

absl::StatusOr<ClusterSnapshot> ReadClusterSnapshot(absl::Time now) {
  partition_info_msg_t* parts = nullptr;
  if (slurm_load_partitions(0, &parts, SHOW_ALL) != SLURM_SUCCESS) {
    return SlurmError("cannot load partitions");
  }
  node_info_msg_t* nodes = nullptr;
  // Without SHOW_DETAIL slurmctld leaves gres_used empty: every GPU would look free.
  if (slurm_load_node(0, &nodes, SHOW_ALL | SHOW_DETAIL) != SLURM_SUCCESS) {
    absl::Status s = SlurmError("cannot load nodes");
    slurm_free_partition_info_msg(parts);
    return s;
  }
  // 22.05 leaves node_info_t.partitions empty until the client fills it from the partitions.
  slurm_populate_node_partitions(nodes, parts);
  std::vector<PartitionRow> prows;
  for (uint32_t i = 0; i < parts->record_count; ++i) {
    const partition_info_t& p = parts->partition_array[i];
    prows.push_back({Str(p.name), StateOf(p.state_up)});
  }
  std::vector<NodeRow> nrows;
  for (uint32_t i = 0; i < nodes->record_count; ++i) {
    const node_info_t& n = nodes->node_array[i];
    if (n.name == nullptr) {
      continue;
    }
    NodeRow row;
    row.name = n.name;
    row.usable = NodeUsable(n.node_state);
    row.gres = Str(n.gres);
    row.gres_used = Str(n.gres_used);
    row.partitions = absl::StrSplit(Str(n.partitions), ',', absl::SkipEmpty());
    row.features = absl::StrSplit(Str(n.features), ',', absl::SkipEmpty());
    if (n.energy != nullptr && n.energy->current_watts != NO_VAL && n.energy->current_watts != 0) {
      row.current_watts = n.energy->current_watts;
    }
    nrows.push_back(std::move(row));
  }
  slurm_free_node_info_msg(nodes);
  slurm_free_partition_info_msg(parts);
  return Aggregate(prows, nrows, now);
}

namespace {

// slurmctld's partitions and nodes (SHOW_ALL), freed with the object.
struct LoadedNodes {
  partition_info_msg_t* parts = nullptr;
  node_info_msg_t* nodes = nullptr;
  LoadedNodes() = default;
  LoadedNodes(const LoadedNodes&) = delete;
  LoadedNodes& operator=(const LoadedNodes&) = delete;
  ~LoadedNodes() {
    if (nodes != nullptr) {
      slurm_free_node_info_msg(nodes);
    }
    if (parts != nullptr) {
      slurm_free_partition_info_msg(parts);
    }
  }
  absl::Status Load() {
    if (slurm_load_partitions(0, &parts, SHOW_ALL) != SLURM_SUCCESS) {
      return SlurmError("cannot load partitions");
    }
    if (slurm_load_node(0, &nodes, SHOW_ALL) != SLURM_SUCCESS) {
      return SlurmError("cannot load nodes");
    }
    return absl::OkStatus();
  }
};

}  // namespace

absl::StatusOr<std::vector<NodeStatus>> ReadNodes() {
  LoadedNodes loaded;
  if (absl::Status s = loaded.Load(); !s.ok()) {
    return s;
  }
  slurm_populate_node_partitions(loaded.nodes, loaded.parts);
  std::vector<NodeStatus> out;
  for (uint32_t i = 0; i < loaded.nodes->record_count; ++i) {
    const node_info_t& n = loaded.nodes->node_array[i];
    if (n.name != nullptr) {
      out.push_back({n.name, absl::StrSplit(Str(n.partitions), ',', absl::SkipEmpty()),
                     absl::StrSplit(Str(n.features), ',', absl::SkipEmpty())});
    }
  }
  return out;
}

absl::StatusOr<std::vector<NodeWeightRow>> ReadNodeWeights() {
  LoadedNodes loaded;
  if (absl::Status s = loaded.Load(); !s.ok()) {
    return s;
  }
  slurm_populate_node_partitions(loaded.nodes, loaded.parts);
  std::vector<NodeWeightRow> out;
  for (uint32_t i = 0; i < loaded.nodes->record_count; ++i) {
    const node_info_t& n = loaded.nodes->node_array[i];
    if (n.name != nullptr) {
      out.push_back({n.name, n.weight, GpusInGres(Str(n.gres)),
                     absl::StrSplit(Str(n.partitions), ',', absl::SkipEmpty())});
    }
  }
  return out;
}

absl::Status SetNodeWeight(const std::string& node, uint32_t weight) {
  update_node_msg_t msg;
  slurm_init_update_node_msg(&msg);
  msg.node_names = const_cast<char*>(node.c_str());  // libslurm only reads it
  msg.weight = weight;
  if (slurm_update_node(&msg) != SLURM_SUCCESS) {
    return SlurmError(absl::StrCat("cannot set the weight of node ", node, " to ", weight));
  }
  return absl::OkStatus();
}

absl::StatusOr<SlurmInventory> ReadSlurmInventory() {
  LoadedNodes loaded;
  if (absl::Status s = loaded.Load(); !s.ok()) {
    return s;
  }
  SlurmInventory out;
  out.source = "slurmctld";
  for (uint32_t i = 0; i < loaded.parts->record_count; ++i) {
    const partition_info_t& p = loaded.parts->partition_array[i];
    out.partitions.push_back({Str(p.name), ExpandHostList(Str(p.nodes))});
  }
  for (uint32_t i = 0; i < loaded.nodes->record_count; ++i) {
    const node_info_t& n = loaded.nodes->node_array[i];
    if (n.name != nullptr) {
      out.nodes.push_back({n.name, GpusOfGres(Str(n.gres))});
    }
  }
  return out;
}

std::vector<std::string> ExpandHostList(const std::string& expression) {
  std::vector<std::string> out;
  if (expression.empty()) {
    return out;
  }
  hostlist_t hl = slurm_hostlist_create(expression.c_str());
  if (hl == nullptr) {
    return out;
  }
  while (char* host = slurm_hostlist_shift(hl)) {
    out.emplace_back(host);
    free(host);  // hostlist_shift hands out malloc'd strings
  }
  slurm_hostlist_destroy(hl);
  return out;
}

namespace {

JobRow ToRow(const slurm_job_info_t& j) {
  JobRow row;
  row.job_id = j.job_id;
  row.array_job_id = j.array_job_id;
  row.array_task_id = j.array_task_id == NO_VAL ? 0 : j.array_task_id;
  row.user_id = j.user_id;
  row.state = Str(slurm_job_state_string(j.job_state));
  row.partition = Str(j.partition);
  row.nodes = Str(j.nodes);
  row.admin_comment = Str(j.admin_comment);
  row.comment = Str(j.comment);
  if (j.start_time > 0) {
    row.start_time = absl::FromTimeT(j.start_time);
  }
  if (j.end_time > 0) {
    row.end_time = absl::FromTimeT(j.end_time);
  }
  row.exit_status = static_cast<int>(j.exit_code);
  row.features = Str(j.features);
  row.account = Str(j.account);
  row.tres_per_job = Str(j.tres_per_job);
  row.tres_per_node = Str(j.tres_per_node);
  row.tres_per_task = Str(j.tres_per_task);
  row.gpus_allocated = AllocatedGpus(Str(j.tres_alloc_str));
  if (row.gpus_allocated == 0) {
    absl::StatusOr<int> asked =
        JobGpus(j.tres_per_job, j.tres_per_node, j.tres_per_task, static_cast<int>(row.num_nodes),
                static_cast<int>(row.num_tasks), nullptr);
    row.gpus_allocated = asked.ok() ? *asked : 0;
  }
  row.num_nodes = j.num_nodes == NO_VAL ? 0 : j.num_nodes;
  row.num_tasks = j.num_tasks == NO_VAL ? 0 : j.num_tasks;
  row.time_limit_minutes = j.time_limit == NO_VAL || j.time_limit == INFINITE ? 0 : j.time_limit;
  row.held = j.priority == 0;
  return row;
}

}  // namespace

absl::StatusOr<std::vector<JobRow>> ReadJobs() {
  time_t ignored = 0;
  absl::StatusOr<std::optional<std::vector<JobRow>>> jobs = ReadJobsChangedSince(0, &ignored);
  if (!jobs.ok()) {
    return jobs.status();
  }
  return jobs->has_value() ? **std::move(jobs) : std::vector<JobRow>();
}

absl::StatusOr<std::optional<std::vector<JobRow>>> ReadJobsChangedSince(time_t since,
                                                                        time_t* last_update) {
  std::vector<JobRow> out;
  JobVisitor visitor;
  visitor.each = [&out](JobRow&& row) {
    out.push_back(std::move(row));
    return absl::OkStatus();
  };
  absl::StatusOr<std::optional<int64_t>> count = VisitJobsChangedSince(since, last_update, visitor);
  if (!count.ok()) {
    return count.status();
  }
  if (!count->has_value()) {
    return std::optional<std::vector<JobRow>>();
  }
  return std::optional<std::vector<JobRow>>(std::move(out));
}

absl::StatusOr<std::optional<int64_t>> VisitJobsChangedSince(time_t since, time_t* last_update,
                                                             const JobVisitor& visitor) {
  job_info_msg_t* jobs = nullptr;
  if (slurm_load_jobs(since, &jobs, SHOW_ALL) != SLURM_SUCCESS) {
    if (since != 0 && slurm_get_errno() == SLURM_NO_CHANGE_IN_DATA) {
      if (visitor.loaded) {
        visitor.loaded(/*changed=*/false);
      }
      return std::optional<int64_t>();
    }
    return SlurmError("cannot load jobs");
  }
  *last_update = jobs->last_update;
  if (visitor.loaded) {
    visitor.loaded(/*changed=*/true);
  }
  absl::Status status;
  for (uint32_t i = 0; status.ok() && i < jobs->record_count; ++i) {
    status = visitor.each(ToRow(jobs->job_array[i]));
  }
  const int64_t count = jobs->record_count;
  FreeJobInfoMsg(jobs);
  if (!status.ok()) {
    return status;
  }
  return std::optional<int64_t>(count);
}

absl::StatusOr<JobRow> ReadJob(uint32_t job_id) {
  job_info_msg_t* jobs = nullptr;
  if (slurm_load_job(&jobs, job_id, SHOW_ALL) != SLURM_SUCCESS) {
    if (slurm_get_errno() == ESLURM_INVALID_JOB_ID) {
      return absl::NotFoundError(absl::StrCat("job ", job_id, " is not known to slurmctld"));
    }
    return SlurmError(absl::StrCat("cannot load job ", job_id));
  }
  absl::StatusOr<JobRow> out =
      absl::NotFoundError(absl::StrCat("job ", job_id, " is not known to slurmctld"));
  for (uint32_t i = 0; i < jobs->record_count; ++i) {
    if (jobs->job_array[i].job_id == job_id) {
      out = ToRow(jobs->job_array[i]);
    }
  }
  FreeJobInfoMsg(jobs);
  return out;
}

absl::StatusOr<std::vector<uint32_t>> ReadJobsWithSteps() {
  job_step_info_response_msg_t* steps = nullptr;
  if (slurm_get_job_steps(0, NO_VAL, NO_VAL, &steps, SHOW_ALL) != SLURM_SUCCESS) {
    return SlurmError("cannot load job steps");
  }
  std::vector<uint32_t> ids;
  ids.reserve(steps->job_step_count);
  for (uint32_t i = 0; i < steps->job_step_count; ++i) {
    ids.push_back(steps->job_steps[i].step_id.job_id);
  }
  slurm_free_job_step_info_response_msg(steps);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return ids;
}

absl::StatusOr<absl::Duration> ReadMinJobAge() {
  slurm_conf_t* conf = nullptr;
  if (slurm_load_ctl_conf(0, &conf) != SLURM_SUCCESS) {
    return SlurmError("cannot load slurmctld's configuration");
  }
  const absl::Duration age = absl::Seconds(conf->min_job_age);
  slurm_free_ctl_conf(conf);
  return age;
}

absl::Status UpdateJob(uint32_t job_id, const std::string& partition, const std::string& features,
                       const std::string& admin_comment, bool hold) {
  job_desc_msg_t desc;
  slurm_init_job_desc_msg(&desc);
  desc.job_id = job_id;
  // libslurm only reads these strings.
  if (!partition.empty()) {
    desc.partition = const_cast<char*>(partition.c_str());
  }
  if (!features.empty()) {
    desc.features = const_cast<char*>(features.c_str());
  }
  if (!admin_comment.empty()) {
    desc.admin_comment = const_cast<char*>(admin_comment.c_str());
  }
  if (hold) {
    desc.priority = 0;
  }
  if (slurm_update_job(&desc) != SLURM_SUCCESS) {
    return SlurmError(absl::StrCat("cannot update job ", job_id));
  }
  return absl::OkStatus();
}

absl::Status RequeueJob(uint32_t job_id) {
  if (slurm_requeue(job_id, 0) != SLURM_SUCCESS) {
    return SlurmError(absl::StrCat("cannot requeue job ", job_id));
  }
  return absl::OkStatus();
}

absl::Status CancelJob(uint32_t job_id) {
  if (slurm_kill_job(job_id, SIGKILL, 0) != SLURM_SUCCESS) {
    return SlurmError(absl::StrCat("cannot cancel job ", job_id));
  }
  return absl::OkStatus();
}

absl::Status HoldJob(uint32_t job_id) {
  job_desc_msg_t desc;
  slurm_init_job_desc_msg(&desc);
  desc.job_id = job_id;
  desc.priority = 0;
  if (slurm_update_job(&desc) != SLURM_SUCCESS) {
    return SlurmError(absl::StrCat("cannot hold job ", job_id));
  }
  return absl::OkStatus();
}

}  // namespace sovereign::slurm
