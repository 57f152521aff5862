// The `--dataset=NAME[,NAME...]` option of sbatch, srun and salloc: syntax check and canonical
// form, used by the SPANK plugin (sovereign_spank.so) and its tests. Plain functions, no Slurm
// headers, so they are unit-tested without a cluster.
//
// The check is syntax only: whether a dataset exists and where it may be processed is decided
// by slurmctld's job_submit plugin against the register. It runs client-side so that a typo is
// reported by sbatch itself, before anything reaches the controller.
//
// Standard library only, unlike the rest of the project (absl::Status): this code is loaded
// into every sbatch, srun, salloc and slurmstepd, and linking abseil's shared libraries there
// made each sbatch 9 ms slower (100 held submissions: 0.51 s without the plugin, 1.39 s with
// an abseil build of it, 0.61 s with this one).
//
// Thread-safety: stateless functions; safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace sovereign::spank {

// A value, or the message explaining why there is none.
template <typename T>
struct Checked {
  T value{};
  std::string error;  // empty on success
  bool ok() const { return error.empty(); }
};

// Limits of the option, settable as arguments on the plugin's plugstack.conf line
// (`required sovereign_spank.so max_name_bytes=64 max_names=16`). Keep them equal to the
// register's policy (max_label_bytes, max_labels) so that sbatch refuses what the controller
// would refuse.
struct DatasetOptionLimits {
  // A dataset name longer than this many bytes is refused.
  int max_name_bytes = 64;
  // At most this many distinct names per job.
  int max_names = 16;
};

// Parses the plugin's plugstack.conf arguments ("max_name_bytes=N", "max_names=N", N in
// 1..4096). The error names the argument and its bad value.
Checked<DatasetOptionLimits> ParseDatasetOptionArgs(const std::vector<std::string_view>& args);

// Splits and checks an option value: names separated by commas, white space around a name
// ignored, each name 1..max_name_bytes bytes of ASCII letters, digits, '.', '_' and '-',
// starting with a letter or digit. Repeated names are dropped (first occurrence kept). The
// error is for the researcher and starts with "--dataset".
Checked<std::vector<std::string>> ParseDatasetOption(std::string_view value,
                                                     const DatasetOptionLimits& limits);

// Adds the names of one more --dataset value to `declared` (the names of the values seen so
// far, first-seen order) and returns the union: a job's datasets are every --dataset option and
// every `#SBATCH --dataset` line together. Names already declared are dropped, so seeing the
// same value twice (sbatch reads its command line twice) changes nothing. max_names applies to
// the union. The error is ParseDatasetOption's.
Checked<std::vector<std::string>> AddDatasetOption(const std::vector<std::string>& declared,
                                                   std::string_view value,
                                                   const DatasetOptionLimits& limits);

// True when `text` is a job id as Slurm writes SLURM_JOB_ID: 1..10 decimal digits, no sign,
// no space. Anything else is not passed to slurmctld as a parent job.
bool IsJobId(std::string_view text);

// Checks a `--green-window` value: one or more <number><unit> groups (units d, h, m, s; a
// number may have a decimal fraction: "6h", "90m", "1d12h", "1.5h"), longer than zero and at
// most 14 days. The value is passed to slurmctld as it is (surrounding white space removed),
// whose plugin reads it with the same syntax. The error is for the researcher and starts with
// "--green-window".
Checked<std::string> ParseGreenWindowOption(std::string_view value);

// The canonical form passed to slurmctld as SPANK_SOVEREIGN_DATASETS: names joined by ",".
std::string JoinDatasets(const std::vector<std::string>& names);

}  // namespace sovereign::spank
