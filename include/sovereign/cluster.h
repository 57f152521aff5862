// The cluster as placement sees it: per partition, whether it is up, how many nodes and GPUs
// it has and how many GPUs are free, and live power where a node reports it.
//
// A ClusterSnapshot is a plain value, read from JSON (the `--cluster` file of
// `sovereignctl explain`, or the snapshot sovereignd publishes from libslurm). Before deciding,
// bind it to a register once with ClusterView::Bind: that lines the partitions up with the
// register's partition indexes so that Decide() does no name look-ups.
//
// Thread-safety: both types are immutable values after construction.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "sovereign/carbon_series.h"
#include "sovereign/register.h"

namespace sovereign {

enum class PartitionState { kUp, kDown, kDrain, kInactive };
std::string_view PartitionStateName(PartitionState s);

// Where a partition's GPU power figure comes from: the register's profile, a live source (a
// Prometheus exporter of GPU power such as NVIDIA's DCGM exporter), or learnt from the measured
// energy of the partition's finished jobs (blended with the register's figure).
enum class PowerFrom { kRegister, kDcgm, kLearned };
std::string_view PowerFromName(PowerFrom from);  // "register", "dcgm", "learned"

// A partition's GPUs' measured draw: live, the mean watts per GPU over its nodes' fresh
// readings, and when the newest of them was taken; learned, the watts per allocated GPU of its
// finished jobs, when the newest of them ended, and how many jobs back it.
struct MeasuredPower {
  double watts_per_gpu = 0;
  PowerFrom from = PowerFrom::kDcgm;
  absl::Time at = absl::InfinitePast();
  int64_t jobs = 0;  // learned only
};

struct PartitionStatus {
  std::string name;
  PartitionState state = PartitionState::kUp;
  int nodes_up = 0;    // nodes that can run jobs now
  int gpus_total = 0;  // GPUs on those nodes
  int gpus_free = 0;   // GPUs not allocated
  // Sum of the partition's nodes' current draw, when Slurm reports it.
  std::optional<double> current_watts;
  // The real size, when the snapshot comes from Slurm: the most GPUs any one node of the
  // partition has, and how many nodes it has in any state. Absent: placement uses the
  // register's gpus_per_node (a register can promise more than the hardware has).
  std::optional<int> gpus_per_node;
  std::optional<int> nodes_total;
  // Live GPU power, when a power source measures the partition's nodes; placement then uses it
  // instead of the register's gpu_watts.
  std::optional<MeasuredPower> gpu_power;
};

// A node, with what says where it is: its partitions and its features (the site feature).
struct NodeStatus {
  std::string name;
  std::vector<std::string> partitions;
  std::vector<std::string> features;  // available features, as slurm.conf or scontrol set them
  // Its GPUs and those allocated to jobs, when read from Slurm (not in the JSON form: only
  // sovereignd uses them, to share a node's measured power among its jobs).
  int gpus = 0;
  int gpus_allocated = 0;
};

// A site's grid carbon intensity over time (measured and forecast), where sovereignd has one:
// placement uses it over a job's run instead of the register's annual mean.
struct SiteCarbon {
  std::string site;
  std::string source;  // the file it was read from, for the record
  CarbonBasis basis = CarbonBasis::kLocation;
  std::shared_ptr<const CarbonSeries> series;
};

struct ClusterSnapshot {
  absl::Time taken_at = absl::InfinitePast();
  std::vector<PartitionStatus> partitions;
  // Every node slurmctld knows (optional in the JSON form): the job_modify guard checks a new
  // node list against the nodes' sites.
  std::vector<NodeStatus> nodes;
  // Carbon intensity series of some sites (optional in the JSON form).
  std::vector<SiteCarbon> carbon;

  // Parses the JSON form:
  // {"taken_at": "2026-11-22T10:00:00Z",
  //  "partitions": [{"name": "gpu-fr-a100", "state": "up", "nodes_up": 4,
  //                  "gpus_total": 32, "gpus_free": 12, "current_watts": 9100,
  //                  "gpus_per_node": 8, "nodes_total": 4,
  //                  "gpu_power": {"watts_per_gpu": 310.5, "from": "dcgm",
  //                                "at": "2026-11-22T09:57:50Z"}}],
  //  "nodes": [{"name": "fr-a100-1", "partitions": ["gpu-fr-a100"],
  //             "features": ["site_paris-1"]}],
  //  "carbon": [{"site": "paris-1", "source": "fr.csv", "basis": "location-based",
  //              "points": [["2026-11-22T10:00:00Z", 31.5, "measured"], ...]}]}
  // `source` names the input in error messages. INVALID_ARGUMENT names the field and value.
  static absl::StatusOr<ClusterSnapshot> FromJson(std::string_view json, std::string_view source);
  static absl::StatusOr<ClusterSnapshot> Load(const std::string& path);
  std::string ToJson() const;
};

// A snapshot lined up with one register: status(i) is the status of register partition i.
// Partitions the snapshot does not mention have no status (present(i) == false): placement
// excludes them ("not in the cluster"). Snapshot partitions the register does not declare are
// ignored; they carry no residency rule and are never chosen.
class ClusterView {
 public:
  static ClusterView Bind(const ClusterSnapshot& snapshot, const Register& reg);
  // A view where every register partition is up with all its GPUs free (explain without a
  // live cluster, benchmarks).
  static ClusterView AllUp(const Register& reg);

  absl::Time taken_at() const { return taken_at_; }
  bool present(int partition_index) const { return present_[partition_index] != 0; }
  const PartitionStatus& status(int partition_index) const { return statuses_[partition_index]; }
  // The numbers of status(i), packed for placement's per-partition loop.
  struct Live {
    bool present = false;
    bool up = false;
    int nodes_up = 0;
    int gpus_free = 0;
    int gpus_per_node = -1;  // -1 = not known: the register's figure applies
    double gpu_watts = -1;   // measured watts per GPU; -1 = none: the register's figure applies
  };
  const Live& live(int partition_index) const { return live_[partition_index]; }
  // The carbon series of the register site at `site_index` (series null: none; the register's
  // annual mean applies).
  struct Carbon {
    std::shared_ptr<const CarbonSeries> series;
    CarbonBasis basis = CarbonBasis::kLocation;
  };
  const Carbon& carbon(int site_index) const {
    static const Carbon kNone;
    return site_index < static_cast<int>(carbon_.size()) ? carbon_[site_index] : kNone;
  }
  int size() const { return static_cast<int>(statuses_.size()); }

 private:
  absl::Time taken_at_ = absl::InfinitePast();
  std::vector<PartitionStatus> statuses_;
  std::vector<char> present_;  // not vector<bool>: one byte load per look-up
  std::vector<Live> live_;
  std::vector<Carbon> carbon_;  // by register site index; empty when no site has a series
  void Pack();
};

}  // namespace sovereign
