// The human form of a decision, as `sovereignctl explain` prints it: the verdict, the one-line
// reason the researcher would read in sbatch's output, what was asked, and one row per
// partition (chosen first, then the other eligible ones by rank, then the excluded ones in
// register order) with its status, why, and its estimated energy and CO2 for this job.
//
// Thread-safety: a pure function of its arguments.
#pragma once

#include <string>
#include <vector>

#include "sovereign/cluster.h"
#include "sovereign/placement.h"

namespace sovereign::cli {

// Where the cluster view came from, for the header line.
struct ClusterSource {
  std::string path;  // empty: ClusterView::AllUp
  absl::Time taken_at = absl::InfinitePast();
  // Say how old the view was when the decision was made (a live daemon's view ages).
  bool show_age = false;
};

// `decision` must have been made for `request` under `reg`.
std::string RenderDecision(const Decision& decision, const JobRequest& request, const Register& reg,
                           const ClusterSource& cluster);

// One partition's row of the table, as text; the online explain fills it from sovereignd's
// answer, so that both forms print the same columns.
struct CandidateRow {
  int rank = 0;  // 1 = chosen, 0 = excluded
  std::string partition, region, site, status, why;
  int nodes = 0;
  double energy_kwh = 0, jobs_per_kwh = 0, co2_grams = 0;
  int free_gpus = 0;
};
// The table: ranked partitions first, by rank, then the excluded ones in the given order.
std::string RenderCandidates(std::vector<CandidateRow> rows);
// What a green window did, as text; both forms fill it (offline from the Decision, online from
// sovereignd's answer).
struct GreenRow {
  absl::Duration window, asked;
  absl::Time immediate_start, start;
  std::string immediate_partition, partition;
  double immediate_co2_grams = 0, co2_grams = 0;
  double saving = 0;  // GreenStart::saving(), as the decision gives it
  bool moved = false;
};
// The "green:" line's text: "window 6h: starts 2026-12-06 04:00 UTC on gpu-fr-a100, 19.5 gCO2
// expected; at once on gpu-in-l40s: 1035 gCO2 (98% less)".
std::string GreenText(const GreenRow& g);

// A partition whose GPU power figure was measured: the "power:" line's text lists them,
// "gpu-fr-a100 100 W per GPU (dcgm, 12s old); the others: the register's gpu_watts". Empty when
// none was (no line then).
struct MeasuredPowerRow {
  std::string partition, from;
  double watts_per_gpu = 0;
  absl::Duration age;
};
std::string PowerText(const std::vector<MeasuredPowerRow>& measured, size_t partitions);

// The "cluster:" line's text: where the view came from and how old it was at `decided`.
std::string ClusterText(const ClusterSource& cluster, absl::Time decided);

}  // namespace sovereign::cli
