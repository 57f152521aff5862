// The sovereignty register: which data may be processed where, by whom, and what each
// partition costs in energy and carbon.
//
// Cluster admins write it as YAML (see config/register.example.yaml and docs/register.md).
// Register::Parse turns the YAML into this typed, validated, immutable model. A Register is
// never partially valid: Parse either returns a register whose every cross-reference resolves,
// or every error it found, each with file:line:column.
//
// Thread-safety: a Register is immutable after Parse; share it as
// std::shared_ptr<const Register> and read it from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace sovereign {

// Where a declaration sits in the register file. line and column are 1-based; 0 = unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
};

// One validation problem: "register.yaml:42:7: dataset "patients-eu": field "regions": ...".
struct Diagnostic {
  SourceLocation location;
  std::string message;  // names the object, the field and the bad value
  std::string ToString() const;
};

// A legal area: data residency rules are stated per region (e.g. "eu" under GDPR).
struct Region {
  std::string name;
  std::string description;  // optional
  std::string law;          // optional, e.g. "GDPR", "DPDP Act 2023"
  SourceLocation location;
};

// A data centre. Location (region, country) and jurisdiction (the law the operator answers
// to) are distinct: an EU site run by a provider subject to another jurisdiction is not the
// same thing as one run by an EU operator.
struct Site {
  std::string name;
  std::string region;                 // a declared region
  std::string country;                // ISO 3166-1 alpha-2, e.g. "FR"
  std::string operator_name;          // who runs the site
  std::string operator_jurisdiction;  // e.g. "EU", "US", "IN"
  double pue = 1.0;                   // power usage effectiveness, >= 1.0
  double carbon_intensity = 0;        // grid gCO2/kWh, annual mean, >= 0
  SourceLocation location;
};

// A Slurm partition of GPU nodes at one site, with its power profile.
struct Partition {
  std::string name;       // the Slurm partition name
  std::string site;       // a declared site
  std::string gpu_model;  // human-readable, e.g. "NVIDIA H100 SXM5 80GB"
  std::string gpu_type;   // the Slurm GRES type, as in --gres=gpu:h100:2
  int gpus_per_node = 0;
  int nodes = 0;
  double gpu_watts = 0;       // per GPU, busy
  double gpu_idle_watts = 0;  // per GPU, idle
  double node_watts = 0;      // per node, without its GPUs (CPUs, memory, network, fans)
  SourceLocation location;
};

enum class Classification { kPublic, kRestricted, kSovereign };
std::string_view ClassificationName(Classification c);

struct Dataset {
  std::string name;
  Classification classification = Classification::kRestricted;
  std::vector<std::string> regions;        // where it may be processed; never empty
  std::vector<std::string> jurisdictions;  // operator jurisdictions accepted; empty = any
  std::vector<std::string> groups;         // Unix groups allowed to use it
  std::vector<std::string> users;          // Unix users allowed to use it
  std::string legal_basis;                 // free text, shown to auditors
  SourceLocation location;

  // True when groups and users are both empty: anyone may use the dataset.
  bool OpenToAll() const { return groups.empty() && users.empty(); }
};

// A Slurm account, and the datasets every job charged to it implies.
struct Account {
  std::string name;
  std::vector<std::string> datasets;
  SourceLocation location;
};

// kMix: a weighted sum of each candidate's energy and CO2, each divided by the best among the
// candidates (so that kWh and grams weigh alike): policy.energy_weight, policy.carbon_weight.
enum class Objective { kEnergy, kCarbon, kMix };
std::string_view ObjectiveName(Objective o);

enum class UnlabelledRule { kAnyRegion, kDefaultRegion };

struct Policy {
  // What a job that touches no dataset may do.
  UnlabelledRule unlabelled = UnlabelledRule::kAnyRegion;
  // The region unlabelled jobs go to when unlabelled == kDefaultRegion.
  std::string default_region;
  // At most this many datasets per job (declared plus implied by the account).
  int max_labels = 16;
  // A dataset name longer than this many bytes is refused before any look-up.
  int max_label_bytes = 64;
  // What placement minimises: energy per job (kEnergy) or CO2 per job (kCarbon).
  Objective objective = Objective::kEnergy;
  // The weights of objective: mix (each >= 0, not both 0); only with that objective.
  double energy_weight = 1;
  double carbon_weight = 1;
  // A job that lets its start move (a green window) starts later only when that saves at least
  // this fraction of the CO2 of starting at once (0.10: 10 %).
  double green_min_saving = 0.10;
  // The longest green window a job may ask for.
  absl::Duration green_max_window = absl::Hours(48);
  // A partition's GPU power learnt from its finished jobs' measured energy is used (when no
  // live reading is fresh) once this many jobs back it, blended with the register's gpu_watts
  // as if that were this many jobs more; 0: never.
  int learned_energy_min_jobs = 20;
  // Used to estimate energy for jobs submitted without a time limit.
  absl::Duration default_time_limit = absl::Hours(1);
};

class Register {
 public:
  // Parses and validates YAML text. `filename` is only used in diagnostics. On failure the
  // status is INVALID_ARGUMENT and its message lists every diagnostic, one per line; pass
  // `diagnostics` to get them as values as well.
  static absl::StatusOr<std::shared_ptr<const Register>> Parse(
      std::string_view yaml, std::string_view filename,
      std::vector<Diagnostic>* diagnostics = nullptr);

  // Reads `path` and parses it. NOT_FOUND / PERMISSION_DENIED when it cannot be read.
  static absl::StatusOr<std::shared_ptr<const Register>> Load(
      const std::string& path, std::vector<Diagnostic>* diagnostics = nullptr);

  // Builds a register from values (tests, benchmarks, the snapshot reader), running the same
  // cross-reference validation as Parse.
  static absl::StatusOr<std::shared_ptr<const Register>> FromParts(
      Policy policy, std::vector<Region> regions, std::vector<Site> sites,
      std::vector<Partition> partitions, std::vector<Dataset> datasets,
      std::vector<Account> accounts, std::vector<Diagnostic>* diagnostics = nullptr);

  // SHA-256 (lowercase hex) of the canonical form: independent of key order, list order of
  // named objects and formatting; any change of meaning changes it.
  const std::string& version() const { return version_; }
  // The first 12 hex digits of version(), for tables and tags.
  std::string_view short_version() const { return std::string_view(version_).substr(0, 12); }
  // The canonical form itself (compact JSON), the input of version().
  const std::string& canonical() const { return canonical_; }

  const Policy& policy() const { return policy_; }
  const std::vector<Region>& regions() const { return regions_; }
  const std::vector<Site>& sites() const { return sites_; }
  const std::vector<Partition>& partitions() const { return partitions_; }
  const std::vector<Dataset>& datasets() const { return datasets_; }
  const std::vector<Account>& accounts() const { return accounts_; }

  // Look-ups by name; nullptr when not declared. Account names are compared as Slurm compares
  // them, without regard to case.
  const Region* FindRegion(std::string_view name) const;
  const Site* FindSite(std::string_view name) const;
  const Partition* FindPartition(std::string_view name) const;
  const Dataset* FindDataset(std::string_view name) const;
  const Account* FindAccount(std::string_view name) const;

  // Index of a partition in partitions(), or -1.
  int PartitionIndex(std::string_view name) const;
  // For each partition index, the index of its site in sites() and of its region in regions().
  int SiteOfPartition(int partition_index) const { return partition_site_[partition_index]; }
  int RegionOfPartition(int partition_index) const { return partition_region_[partition_index]; }
  // The index in regions() of the region of the site at `site_index` in sites().
  int RegionOfSite(int site_index) const { return site_region_[site_index]; }
  int RegionIndex(std::string_view name) const;

  // The figures placement reads for every partition of every decision, packed together (one
  // cache line per partition instead of a walk through Partition and Site and their strings).
  struct PartitionFigures {
    int site = 0;
    int region = 0;
    int gpus_per_node = 0;
    double gpu_watts = 0;
    double node_watts = 0;
    double pue = 1;
    double carbon_intensity = 0;
  };
  const PartitionFigures& figures(int partition_index) const {
    return partition_figures_[partition_index];
  }

 private:
  Register() = default;
  void BuildIndexes();
  void ComputeVersion();

  Policy policy_;
  std::vector<Region> regions_;
  std::vector<Site> sites_;
  std::vector<Partition> partitions_;
  std::vector<Dataset> datasets_;
  std::vector<Account> accounts_;
  std::string canonical_;
  std::string version_;

  absl::flat_hash_map<std::string, int> region_index_;
  std::vector<int> site_region_;
  absl::flat_hash_map<std::string, int> site_index_;
  absl::flat_hash_map<std::string, int> partition_index_;
  absl::flat_hash_map<std::string, int> dataset_index_;
  absl::flat_hash_map<std::string, int> account_index_;
  std::vector<int> partition_site_;
  std::vector<int> partition_region_;
  std::vector<PartitionFigures> partition_figures_;
};

}  // namespace sovereign
