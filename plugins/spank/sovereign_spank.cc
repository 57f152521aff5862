// sovereign_spank.so: the SPANK plugin that adds `--dataset=NAME[,NAME...]` and
// `--green-window=DURATION` to sbatch, srun and salloc (and `#SBATCH --dataset=...`).
//
// Client side (local and allocator contexts) it checks the value's syntax, so that a typo is
// reported by sbatch itself, and hands the canonical list to slurmctld with
// spank_job_control_setenv(): the job_submit plugin finds it as "SPANK_SOVEREIGN_DATASETS=a,b"
// in job_desc->spank_job_env. Every --dataset option and #SBATCH --dataset line adds up. When
// the command runs inside a job (SLURM_JOB_ID is set), it also passes that job's id as
// SOVEREIGN_PARENT_JOB, so that the new job inherits the running job's datasets. Everywhere else (slurmd, slurmstepd) it only registers the option
// so that Slurm can forward it.
//
// A thin C ABI shell: every entry point catches everything, nothing unwinds into Slurm. The
// symbols are written by hand rather than with SPANK_PLUGIN(), which would give them C++
// linkage; sovereign_spank.map exports only these.
//
// Enable it with a plugstack.conf line:
//   required /usr/lib/sovereign/sovereign_spank.so [max_name_bytes=64] [max_names=16]
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "dataset_option.h"

extern "C" {
#include <slurm/spank.h>
}

namespace {

using sovereign::spank::DatasetOptionLimits;

constexpr char kControlVar[] = "SOVEREIGN_DATASETS";  // slurmctld sees SPANK_SOVEREIGN_DATASETS
constexpr char kParentVar[] = "SOVEREIGN_PARENT_JOB";  // the job sbatch/srun/salloc runs inside
constexpr char kGreenVar[] = "SOVEREIGN_GREEN_WINDOW";  // how far the start may move

// Process-wide state of one sbatch/srun/salloc run. Slurm calls a plugin from one thread.
DatasetOptionLimits g_limits;
// Union of every --dataset value seen, first-seen order. sbatch 22.05 calls the option's
// callback for each #SBATCH line, then for each command-line occurrence (its early pass over
// the command line does not call it); inside a job Slurm's SLURM_SPANK__SLURM_SPANK_OPTION_*
// variable calls it once more first. A value seen twice adds nothing.
std::vector<std::string> g_datasets;
// The --green-window value (the last one given, like Slurm's own options); empty = none.
std::string g_green_window;

// The exception firewall around every entry point: nothing unwinds into Slurm, and a failure
// we did not foresee refuses the command (-1) with a message rather than letting it go on.
template <typename Body>
int Firewall(const char* where, Body&& body) noexcept {
  try {
    return body();
  } catch (...) {
    slurm_error("sovereign_spank.so: internal error in %s", where);
    return -1;
  }
}

// Reports a failure the way Slurm reports errors ("sbatch: error: ...") and fails.
int Refuse(const std::string& message) {
  slurm_error("%s", message.c_str());
  return -1;
}

int OnDatasetOption(int /*val*/, const char* optarg, int /*remote*/) {
  return Firewall("--dataset", [&] {
    sovereign::spank::Checked<std::vector<std::string>> names = sovereign::spank::AddDatasetOption(
        g_datasets, optarg == nullptr ? "" : optarg, g_limits);
    if (!names.ok()) {
      return Refuse(names.error);
    }
    // Unlike Slurm's own options, every --dataset adds up: a dataset named in the script
    // still counts when the command line names another one.
    g_datasets = std::move(names.value);
    slurm_debug("sovereign_spank: --dataset=%s: datasets now %s", optarg == nullptr ? "" : optarg,
                sovereign::spank::JoinDatasets(g_datasets).c_str());
    return 0;
  });
}

int OnGreenWindowOption(int /*val*/, const char* optarg, int /*remote*/) {
  return Firewall("--green-window", [&] {
    sovereign::spank::Checked<std::string> window =
        sovereign::spank::ParseGreenWindowOption(optarg == nullptr ? "" : optarg);
    if (!window.ok()) {
      return Refuse(window.error);
    }
    g_green_window = std::move(window.value);
    return 0;
  });
}

char kOptName[] = "dataset";
char kOptArgInfo[] = "NAME[,NAME...]";
char kOptUsage[] =
    "Datasets the job reads or writes; the job is placed only where they may be processed.";
struct spank_option g_dataset_option = {kOptName, kOptArgInfo, kOptUsage, 1, 0, OnDatasetOption};

char kGreenName[] = "green-window";
char kGreenArgInfo[] = "DURATION";
char kGreenUsage[] =
    "Let the job's start move by up to DURATION (e.g. 6h) to when and where its run is expected "
    "to emit least CO2.";
struct spank_option g_green_option = {kGreenName, kGreenArgInfo, kGreenUsage, 1, 0,
                                      OnGreenWindowOption};

}  // namespace

extern "C" {

extern const char plugin_name[] = "sovereign_spank";
extern const char plugin_type[] = "spank";
extern const unsigned int plugin_version = SLURM_VERSION_NUMBER;
extern const unsigned int spank_plugin_version = 1;

int slurm_spank_init(spank_t sp, int ac, char** av) {
  return Firewall("slurm_spank_init", [&] {
    const sovereign::spank::Checked<DatasetOptionLimits> limits =
        sovereign::spank::ParseDatasetOptionArgs(std::vector<std::string_view>(av, av + ac));
    if (!limits.ok()) {
      return Refuse(limits.error);
    }
    g_limits = limits.value;
    g_datasets.clear();
    g_green_window.clear();
    for (spank_option* option : {&g_dataset_option, &g_green_option}) {
      const spank_err_t rc = spank_option_register(sp, option);
      if (rc != ESPANK_SUCCESS) {
        slurm_error("sovereign_spank.so: cannot register --%s: %s", option->name,
                    spank_strerror(rc));
        return -1;
      }
    }
    return 0;
  });
}

int slurm_spank_init_post_opt(spank_t sp, int /*ac*/, char** /*av*/) {
  return Firewall("slurm_spank_init_post_opt", [&] {
    const spank_context_t ctx = spank_context();
    if (ctx != S_CTX_LOCAL && ctx != S_CTX_ALLOCATOR) {
      return 0;
    }
    if (!g_datasets.empty()) {
      const std::string value = sovereign::spank::JoinDatasets(g_datasets);
      const spank_err_t rc = spank_job_control_setenv(sp, kControlVar, value.c_str(), 1);
      if (rc != ESPANK_SUCCESS) {
        slurm_error("--dataset: cannot pass the datasets to slurmctld: %s", spank_strerror(rc));
        return -1;
      }
    }
    if (!g_green_window.empty()) {
      const spank_err_t rc =
          spank_job_control_setenv(sp, kGreenVar, g_green_window.c_str(), 1);
      if (rc != ESPANK_SUCCESS) {
        slurm_error("--green-window: cannot pass the window to slurmctld: %s",
                    spank_strerror(rc));
        return -1;
      }
    }
    // Submitted from inside a job: name that job, whose datasets the new job inherits.
    const char* parent = std::getenv("SLURM_JOB_ID");
    if (sovereign::spank::IsJobId(parent == nullptr ? "" : parent)) {
      const spank_err_t rc = spank_job_control_setenv(sp, kParentVar, parent, 1);
      if (rc != ESPANK_SUCCESS) {
        slurm_error("sovereign_spank.so: cannot pass the parent job %s to slurmctld: %s", parent,
                    spank_strerror(rc));
        return -1;
      }
    }
    return 0;
  });
}

}  // extern "C"
