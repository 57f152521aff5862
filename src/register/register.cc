#include "sovereign/register.h"

#include <algorithm>
#include <climits>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "register_internal.h"
#include "sovereign/digest.h"

namespace sovereign {

std::string Diagnostic::ToString() const {
  std::string out = location.file.empty() ? std::string("<register>") : location.file;
  if (location.line > 0) {
    absl::StrAppend(&out, ":", location.line);
    if (location.column > 0) {
      absl::StrAppend(&out, ":", location.column);
    }
  }
  absl::StrAppend(&out, ": ", message);
  return out;
}

namespace register_internal {

absl::Status CheckParts(const Parts& parts, std::vector<Diagnostic> found,
                        std::vector<Diagnostic>* diagnostics) {
  Validate(parts, &found);
  std::stable_sort(found.begin(), found.end(), [](const Diagnostic& a, const Diagnostic& b) {
    auto key = [](const Diagnostic& d) {
      return std::pair(d.location.line > 0 ? d.location.line : INT_MAX, d.location.column);
    };
    return key(a) < key(b);
  });
  std::vector<std::string> lines;
  lines.reserve(found.size());
  for (const Diagnostic& d : found) {
    lines.push_back(d.ToString());
  }
  if (diagnostics != nullptr) {
    *diagnostics = std::move(found);
  }
  if (lines.empty()) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid register (", lines.size(),
                                                 lines.size() == 1 ? " error" : " errors", "):\n",
                                                 absl::StrJoin(lines, "\n")));
}

}  // namespace register_internal

std::string_view ClassificationName(Classification c) {
  switch (c) {
    case Classification::kPublic:
      return "public";
    case Classification::kRestricted:
      return "restricted";
    case Classification::kSovereign:
      return "sovereign";
  }
  return "unknown";
}

std::string_view ObjectiveName(Objective o) {
  switch (o) {
    case Objective::kEnergy:
      return "energy";
    case Objective::kCarbon:
      return "carbon";
    case Objective::kMix:
      return "mix";
  }
  return "unknown";
}

absl::StatusOr<std::shared_ptr<const Register>> Register::FromParts(
    Policy policy, std::vector<Region> regions, std::vector<Site> sites,
    std::vector<Partition> partitions, std::vector<Dataset> datasets, std::vector<Account> accounts,
    std::vector<Diagnostic>* diagnostics) {
  register_internal::Parts parts;
  parts.policy = std::move(policy);
  parts.regions = std::move(regions);
  parts.sites = std::move(sites);
  parts.partitions = std::move(partitions);
  parts.datasets = std::move(datasets);
  parts.accounts = std::move(accounts);
  if (absl::Status status = register_internal::CheckParts(parts, {}, diagnostics); !status.ok()) {
    return status;
  }
  std::shared_ptr<Register> reg(new Register());
  reg->canonical_ = register_internal::Canonicalize(parts);
  reg->version_ = Sha256Hex(reg->canonical_);
  reg->policy_ = std::move(parts.policy);
  reg->regions_ = std::move(parts.regions);
  reg->sites_ = std::move(parts.sites);
  reg->partitions_ = std::move(parts.partitions);
  reg->datasets_ = std::move(parts.datasets);
  reg->accounts_ = std::move(parts.accounts);
  reg->BuildIndexes();
  return std::shared_ptr<const Register>(std::move(reg));
}

void Register::BuildIndexes() {
  auto index = [](const auto& items, absl::flat_hash_map<std::string, int>* out) {
    out->reserve(items.size());
    for (size_t i = 0; i < items.size(); ++i) {
      out->emplace(items[i].name, static_cast<int>(i));
    }
  };
  index(regions_, &region_index_);
  index(sites_, &site_index_);
  index(partitions_, &partition_index_);
  index(datasets_, &dataset_index_);
  // Slurm compares account names without regard to case (it stores them in lower case):
  // `-A Oncology` is account oncology.
  account_index_.reserve(accounts_.size());
  for (size_t i = 0; i < accounts_.size(); ++i) {
    account_index_.emplace(absl::AsciiStrToLower(accounts_[i].name), static_cast<int>(i));
  }
  site_region_.resize(sites_.size());
  for (size_t i = 0; i < sites_.size(); ++i) {
    site_region_[i] = RegionIndex(sites_[i].region);  // -1 only in a register not validated
  }
  partition_site_.resize(partitions_.size());
  partition_region_.resize(partitions_.size());
  for (size_t i = 0; i < partitions_.size(); ++i) {
    // Validation guarantees both references resolve.
    int site = site_index_.at(partitions_[i].site);
    partition_site_[i] = site;
    partition_region_[i] = region_index_.at(sites_[site].region);
    const Partition& p = partitions_[i];
    partition_figures_.push_back({site, partition_region_[i], p.gpus_per_node, p.gpu_watts,
                                  p.node_watts, sites_[site].pue, sites_[site].carbon_intensity});
  }
}

namespace {
template <typename T>
const T* FindIn(const std::vector<T>& items, const absl::flat_hash_map<std::string, int>& index,
                std::string_view name) {
  // absl::string_view is not std::string_view in this abseil build.
  auto it = index.find(absl::string_view(name.data(), name.size()));
  return it == index.end() ? nullptr : &items[it->second];
}
}  // namespace

const Region* Register::FindRegion(std::string_view name) const {
  return FindIn(regions_, region_index_, name);
}
const Site* Register::FindSite(std::string_view name) const {
  return FindIn(sites_, site_index_, name);
}
const Partition* Register::FindPartition(std::string_view name) const {
  return FindIn(partitions_, partition_index_, name);
}
const Dataset* Register::FindDataset(std::string_view name) const {
  return FindIn(datasets_, dataset_index_, name);
}
const Account* Register::FindAccount(std::string_view name) const {
  return FindIn(accounts_, account_index_,
                absl::AsciiStrToLower(absl::string_view(name.data(), name.size())));
}

int Register::PartitionIndex(std::string_view name) const {
  auto it = partition_index_.find(absl::string_view(name.data(), name.size()));
  return it == partition_index_.end() ? -1 : it->second;
}

int Register::RegionIndex(std::string_view name) const {
  auto it = region_index_.find(absl::string_view(name.data(), name.size()));
  return it == region_index_.end() ? -1 : it->second;
}

}  // namespace sovereign
