// The placement decision: a job request, the register and the cluster view in; a verdict with
// its reason and the full candidate table out.
//
//   labels            = datasets implied by the account  U  datasets the job declares
//   allowed regions   = intersection over the labels (policy decides for unlabelled jobs)
//   candidates        = partitions in allowed regions (and accepted operator jurisdictions)
//                       n partitions the user asked for n up, right GPU type, enough GPUs
//   score             = energy per job (kWh) and CO2 per job (g) from the GPUs' measured draw
//                       (else the register's power profile), the job's GPUs and time limit,
//                       the site's PUE and grid intensity over the run
//   choice            = among partitions with the job's GPUs free now (else all of them): best
//                       by the policy's objective, then the other figure, then free GPUs
//   green start       = for a job with a green window only: the start within the window, on any
//                       eligible partition, with the least expected CO2 (each site's carbon
//                       series over the run); taken when it saves at least the policy's
//                       green_min_saving of starting at once, else the job starts at once
//
// Decide() is pure and deterministic: same inputs, same Decision, byte for byte. It does no
// I/O and takes no locks; it is safe to call from any number of threads at once.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "sovereign/cluster.h"
#include "sovereign/register.h"

namespace sovereign {

struct JobRequest {
  std::string user;                  // Unix user name
  uint32_t uid = 0;
  std::vector<std::string> groups;   // the user's Unix groups, names
  std::string account;               // Slurm account; empty = none
  std::vector<std::string> datasets; // declared by the job (--dataset / --comment)
  std::vector<std::string> partitions;  // asked for with -p; empty = any
  int gpus = 0;                      // GPUs in total for the job
  std::string gpu_type;              // GRES type (e.g. "h100"); empty = any
  int nodes = 0;                     // nodes asked for; 0 = as many as the GPUs need
  absl::Duration time_limit = absl::ZeroDuration();  // zero = the policy's default
  absl::Time submit_time = absl::UnixEpoch();
  // The job's own earliest start (--begin); InfinitePast = none. Estimates run from the later
  // of it and the decision.
  absl::Time begin_time = absl::InfinitePast();
  // How far the start may move for less CO2 (--green-window); zero = not at all.
  absl::Duration green_window = absl::ZeroDuration();
};

enum class Verdict { kPlace, kReject };
std::string_view VerdictName(Verdict v);

// Why a job was refused; kNone when placed. Stable names (RejectCodeName) go into the audit
// log and the gRPC API.
enum class RejectCode {
  kNone,
  kInvalidRequest,       // negative GPUs, absurd sizes
  kTooManyLabels,        // more datasets than policy.max_labels
  kLabelTooLong,         // a dataset name longer than policy.max_label_bytes
  kUnknownDataset,       // a declared or implied dataset the register does not know
  kUnknownAccount,       // reserved: unknown accounts imply nothing today
  kNotAuthorised,        // the user is in none of a dataset's groups/users
  kRegionConflict,       // the labels' allowed regions do not intersect
  kPartitionOutsideRegion,  // every partition the user asked for is outside the allowed set
  kNoCandidate,          // compliant partitions exist, but none can run this job
  kModificationRefused,  // a change to a placed job would break its residency (job_modify)
  kStartRefused,         // the nodes a job was given break its residency (PrologSlurmctld)
};
std::string_view RejectCodeName(RejectCode c);

// Why a partition was not a candidate. kEligible when it was (then it has a score and a rank).
enum class Exclusion {
  kEligible,
  kRegionNotAllowed,
  kJurisdictionNotAccepted,
  kNotRequested,
  kNotInCluster,
  kNotUp,
  kGpuTypeMismatch,
  kTooFewGpusPerNode,
  kTooFewNodes,
};
std::string_view ExclusionName(Exclusion e);

struct Candidate {
  int partition = -1;  // index into Register::partitions()
  Exclusion exclusion = Exclusion::kEligible;
  int nodes = 0;              // nodes the job would use there
  double energy_kwh = 0;      // estimated energy per job, facility level (x PUE)
  double jobs_per_kwh = 0;    // 1 / energy_kwh
  double co2_grams = 0;       // energy_kwh x gco2_per_kwh
  // The grid intensity over the job's run (gCO2/kWh): the site's series where it covers the
  // run (carbon_covered of it; the register's annual mean for the rest), else the annual mean.
  double gco2_per_kwh = 0;
  double carbon_covered = 0;     // 0: the register's annual mean alone
  bool carbon_forecast = false;  // the series' part includes forecast hours
  CarbonBasis carbon_basis = CarbonBasis::kLocation;
  // The watts per GPU the energy figure used: the partition's measured draw where a power
  // source reports it (power_from, measured at power_at), else the register's gpu_watts.
  double gpu_watts = 0;
  PowerFrom power_from = PowerFrom::kRegister;
  absl::Time power_at = absl::InfinitePast();
  int free_gpus = 0;          // from the cluster view
  int rank = 0;               // 1 = chosen; 0 = excluded
  // GPUs per node there: Slurm's figure when the cluster view has it, else the register's.
  int gpus_per_node = 0;
};

// What a green window did: the start without it and the start chosen, with their estimates.
struct GreenStart {
  absl::Duration window = absl::ZeroDuration();  // as granted; zero: the job asked for none
  absl::Duration asked = absl::ZeroDuration();   // as asked (more than `window` when capped)
  absl::Time immediate = absl::InfinitePast();   // the start without a window
  int immediate_partition = -1;
  double immediate_co2_grams = 0;
  absl::Time start = absl::InfinitePast();       // the start chosen (= immediate unless moved)
  int partition = -1;
  double co2_grams = 0;
  bool moved = false;  // start or partition differ from the immediate ones

  // The share of the immediate start's CO2 that `chosen_grams` saves (0 when that is 0).
  static double Saving(double immediate_grams, double chosen_grams) {
    return immediate_grams > 0 ? 1 - chosen_grams / immediate_grams : 0;
  }
  double saving() const { return Saving(immediate_co2_grams, co2_grams); }
};

struct Decision {
  Verdict verdict = Verdict::kReject;
  RejectCode code = RejectCode::kNone;
  int partition = -1;                      // chosen partition index, -1 when rejected
  std::string partition_name;              // empty when rejected
  std::string region;                      // region of the chosen partition
  std::vector<std::string> labels;         // datasets, sorted, unique
  std::vector<std::string> allowed_regions;  // sorted
  std::string register_version;            // full SHA-256 hex
  // One line, written for the researcher who reads it in sbatch's output.
  std::string reason;
  // One entry per register partition, in register order.
  std::vector<Candidate> candidates;
  absl::Time decided_at = absl::UnixEpoch();
  // Set for a placed job that asked for a green window. The candidates' figures are those of
  // starting at once.
  GreenStart green;
};

// Decides where `request` may run. `view` must have been bound to `reg`.
Decision Decide(const JobRequest& request, const ClusterView& view, const Register& reg,
                absl::Time now);

class Residency;

// An estimate as the reason and explain write it: three significant figures, never in exponent
// form ("4.94", "153", "12809").
std::string EstimateText(double value);

// Human text for an excluded candidate: "region us is not allowed for patients-eu".
// `residency`, when given, is Residency::OfNames(d.labels, reg): a caller describing every
// candidate of a decision works it out once instead of once per excluded candidate.
std::string DescribeExclusion(const Candidate& c, const Decision& d, const Register& reg,
                              const Residency* residency = nullptr);

}  // namespace sovereign
