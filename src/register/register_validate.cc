// The register's rules: names, value ranges and cross-references. Runs on parsed YAML and on
// values built in code alike; never stops at the first problem.
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "register_internal.h"

namespace sovereign::register_internal {
namespace {

constexpr int kMaxGpusPerNode = 1024;
constexpr int kMaxNodes = 1000000;

// The object a diagnostic is about.
struct Obj {
  Kind kind;
  int index;
  absl::string_view name;
  const SourceLocation* location;  // may be nullptr
};

template <typename T>
Obj Of(Kind kind, int index, const T& item) {
  return Obj{kind, index, item.name, &item.location};
}

class Validator {
 public:
  Validator(const Parts& parts, std::vector<Diagnostic>* out) : parts_(parts), out_(out) {}

  void Run() {
    IndexNames(Kind::kRegion, parts_.regions, &regions_);
    IndexNames(Kind::kSite, parts_.sites, &sites_);
    IndexNames(Kind::kPartition, parts_.partitions, &partitions_);
    IndexNames(Kind::kDataset, parts_.datasets, &datasets_);
    IndexNames(Kind::kAccount, parts_.accounts, &accounts_);
    for (const Site& s : parts_.sites) {
      if (!s.operator_jurisdiction.empty()) {
        jurisdictions_.emplace(s.operator_jurisdiction, 0);
      }
    }
    CheckPolicy();
    for (size_t i = 0; i < parts_.regions.size(); ++i) {
      const Region& r = parts_.regions[i];
      Obj obj = Of(Kind::kRegion, static_cast<int>(i), r);
      Text(obj, "description", r.description);
      Text(obj, "law", r.law);
    }
    for (size_t i = 0; i < parts_.sites.size(); ++i) {
      CheckSite(static_cast<int>(i));
    }
    for (size_t i = 0; i < parts_.partitions.size(); ++i) {
      CheckPartition(static_cast<int>(i));
    }
    for (size_t i = 0; i < parts_.datasets.size(); ++i) {
      CheckDataset(static_cast<int>(i));
    }
    for (size_t i = 0; i < parts_.accounts.size(); ++i) {
      const Account& a = parts_.accounts[i];
      Obj obj = Of(Kind::kAccount, static_cast<int>(i), a);
      // Slurm's database keeps accounts in lower case: "Oncology" would never match a job,
      // and the datasets it implies would silently not apply.
      if (!Skip(obj, "name") && a.name != absl::AsciiStrToLower(a.name)) {
        Report(obj, "name", -1,
               absl::StrCat("Slurm keeps account names in lower case; write ",
                            Quote(absl::AsciiStrToLower(a.name))));
      }
      for (size_t e = 0; e < a.datasets.size() && !Skip(obj, "datasets"); ++e) {
        Reference(obj, "datasets", static_cast<int>(e), "dataset", a.datasets[e], datasets_);
      }
    }
  }

 private:
  using NameIndex = absl::flat_hash_map<std::string, int>;

  bool Skip(const Obj& obj, absl::string_view field) const {
    return parts_.fields.Reported(obj.kind, obj.index, field);
  }

  // Appends `<object>: field "<field>": <detail>` at the most precise location known.
  void Report(const Obj& obj, absl::string_view field, int element, std::string detail) {
    const FieldTable& f = parts_.fields;
    const SourceLocation* where = nullptr;
    if (element >= 0) {
      where = f.FindLocation(obj.kind, obj.index, field, element);
    }
    if (where == nullptr) {
      where = f.FindLocation(obj.kind, obj.index, field);
    }
    if (where == nullptr) {
      where = obj.location;
    }
    std::string message = ObjectLabel(obj.kind, obj.index, obj.name);
    if (!field.empty()) {
      absl::StrAppend(&message, ": field \"", field, "\"");
    }
    absl::StrAppend(&message, ": ", detail);
    out_->push_back(Diagnostic{where != nullptr ? *where : SourceLocation{}, std::move(message)});
  }

  // Checks every name of one kind and records the first declaration of each.
  template <typename T>
  void IndexNames(Kind kind, const std::vector<T>& items, NameIndex* index) {
    for (size_t i = 0; i < items.size(); ++i) {
      Obj obj = Of(kind, static_cast<int>(i), items[i]);
      if (Skip(obj, "name")) {
        continue;
      }
      const std::string& name = items[i].name;
      if (!IsValidName(name)) {
        Report(obj, "name", -1, absl::StrCat("bad name ", Quote(name), ": ", kNameRule));
      }
      // Indexed even when malformed, so that references to it do not repeat the complaint.
      auto [it, inserted] = index->emplace(name, static_cast<int>(i));
      if (!inserted) {
        const T& first = items[it->second];
        std::string where = first.location.line > 0 ? absl::StrCat("line ", first.location.line)
                                                    : ObjectLabel(kind, it->second, "");
        Report(obj, "name", -1, absl::StrCat("duplicate name, first declared at ", where));
      }
    }
  }

  // A name that must be declared in `known`.
  void Reference(const Obj& obj, absl::string_view field, int element, absl::string_view what,
                 const std::string& value, const NameIndex& known) {
    if (known.contains(value)) {
      return;
    }
    std::vector<std::string> names;
    names.reserve(known.size());
    for (const auto& [name, unused] : known) {
      names.push_back(name);
    }
    Report(
        obj, field, element,
        absl::StrCat(what, " ", Quote(value), " is not declared (known: ", KnownList(names), ")"));
  }

  void AtLeast(const Obj& obj, absl::string_view field, double value, double minimum,
               absl::string_view minimum_text) {
    if (Skip(obj, field)) {
      return;
    }
    if (!std::isfinite(value)) {
      Report(obj, field, -1, absl::StrCat("must be a finite number, got ", value));
    } else if (value < minimum) {
      Report(obj, field, -1, absl::StrCat("must be >= ", minimum_text, ", got ", value));
    }
  }

  // Free text: shown to admins and auditors, and part of the version.
  void Text(const Obj& obj, absl::string_view field, const std::string& value) {
    if (!Skip(obj, field) && !IsValidUtf8(value)) {
      Report(obj, field, -1, absl::StrCat(Quote(value), " is not valid UTF-8"));
    }
  }

  void IntRange(const Obj& obj, absl::string_view field, int value, int minimum, int maximum) {
    if (Skip(obj, field)) {
      return;
    }
    if (value < minimum) {
      Report(obj, field, -1, absl::StrCat("must be >= ", minimum, ", got ", value));
    } else if (value > maximum) {
      Report(obj, field, -1, absl::StrCat("must be <= ", maximum, ", got ", value));
    }
  }

  void CheckPolicy() {
    const Policy& p = parts_.policy;
    Obj obj{Kind::kPolicy, 0, "", parts_.fields.FindLocation(Kind::kPolicy, 0, "")};
    IntRange(obj, "max_labels", p.max_labels, 1, 1 << 20);
    IntRange(obj, "max_label_bytes", p.max_label_bytes, 1, 1 << 20);
    IntRange(obj, "learned_energy_min_jobs", p.learned_energy_min_jobs, 0, 1000000);
    if (!Skip(obj, "default_time_limit") && p.default_time_limit <= absl::ZeroDuration()) {
      Report(obj, "default_time_limit", -1, "must be longer than zero");
    }
    CheckObjectiveWeights(obj);
    if (!Skip(obj, "green_min_saving") &&
        !(p.green_min_saving >= 0 && p.green_min_saving < 1)) {
      Report(obj, "green_min_saving", -1,
             absl::StrCat("must be a fraction from 0 to below 1 (0.10 is 10 %), got ",
                          p.green_min_saving));
    }
    if (!Skip(obj, "green_max_window") &&
        (p.green_max_window < absl::ZeroDuration() || p.green_max_window > absl::Hours(24 * 14))) {
      Report(obj, "green_max_window", -1,
             absl::StrCat("must be from 0 (no green windows) to 14d, got ",
                          absl::FormatDuration(p.green_max_window)));
    }
    if (Skip(obj, "unlabelled") || Skip(obj, "default_region")) {
      return;
    }
    if (p.unlabelled == UnlabelledRule::kDefaultRegion) {
      if (p.default_region.empty()) {
        Report(obj, "default_region", -1, "required when unlabelled is default-region");
      } else {
        Reference(obj, "default_region", -1, "region", p.default_region, regions_);
      }
    } else if (!p.default_region.empty()) {
      Report(obj, "default_region", -1,
             absl::StrCat(Quote(p.default_region),
                          " has no effect because unlabelled is any-region (set unlabelled: "
                          "default-region to send unlabelled jobs there)"));
    }
  }

  // The mix weights: finite, >= 0, not both 0, and only where they have an effect.
  void CheckObjectiveWeights(const Obj& obj) {
    const Policy& p = parts_.policy;
    for (const auto& [field, value] : {std::pair<absl::string_view, double>{"energy_weight",
                                                                            p.energy_weight},
                                       {"carbon_weight", p.carbon_weight}}) {
      if (Skip(obj, field) || parts_.fields.FindLocation(Kind::kPolicy, 0, field) == nullptr) {
        continue;
      }
      if (p.objective != Objective::kMix && !Skip(obj, "objective")) {
        Report(obj, field, -1,
               absl::StrCat("has no effect because objective is ", std::string(ObjectiveName(p.objective)),
                            " (set objective: mix to weigh energy and carbon together)"));
      } else if (!std::isfinite(value) || value < 0 || value > 1000) {
        Report(obj, field, -1, absl::StrCat("must be a number from 0 to 1000, got ", value));
      }
    }
    if (p.objective == Objective::kMix && p.energy_weight == 0 && p.carbon_weight == 0 &&
        !Skip(obj, "energy_weight") && !Skip(obj, "carbon_weight")) {
      Report(obj, "carbon_weight", -1, "and energy_weight are both 0: give one of them weight");
    }
  }

  void CheckSite(int i) {
    const Site& s = parts_.sites[i];
    Obj obj = Of(Kind::kSite, i, s);
    if (!Skip(obj, "region")) {
      Reference(obj, "region", -1, "region", s.region, regions_);
    }
    if (!Skip(obj, "country") && !IsCountryCode(s.country)) {
      std::string hint =
          s.country == "UK" ? " (the United Kingdom is GB)" : " (two uppercase letters, e.g. FR)";
      Report(obj, "country", -1,
             absl::StrCat(Quote(s.country), " is not an ISO 3166-1 alpha-2 country code", hint));
    }
    if (!Skip(obj, "operator") && s.operator_name.empty()) {
      Report(obj, "operator", -1, "must not be empty");
    }
    Text(obj, "operator", s.operator_name);
    if (!Skip(obj, "operator_jurisdiction") && !IsValidName(s.operator_jurisdiction)) {
      Report(obj, "operator_jurisdiction", -1,
             absl::StrCat("bad jurisdiction ", Quote(s.operator_jurisdiction), ": ", kNameRule));
    }
    AtLeast(obj, "pue", s.pue, 1.0, "1.0");
    AtLeast(obj, "carbon_intensity", s.carbon_intensity, 0, "0");
  }

  void CheckPartition(int i) {
    const Partition& p = parts_.partitions[i];
    Obj obj = Of(Kind::kPartition, i, p);
    if (!Skip(obj, "site")) {
      Reference(obj, "site", -1, "site", p.site, sites_);
    }
    if (!Skip(obj, "gpu_type") && !IsValidName(p.gpu_type)) {
      Report(obj, "gpu_type", -1,
             absl::StrCat("bad GRES type ", Quote(p.gpu_type), ": ", kNameRule));
    }
    Text(obj, "gpu_model", p.gpu_model);
    IntRange(obj, "gpus_per_node", p.gpus_per_node, 1, kMaxGpusPerNode);
    IntRange(obj, "nodes", p.nodes, 1, kMaxNodes);
    AtLeast(obj, "gpu_watts", p.gpu_watts, 0, "0");
    AtLeast(obj, "gpu_idle_watts", p.gpu_idle_watts, 0, "0");
    AtLeast(obj, "node_watts", p.node_watts, 0, "0");
    if (!Skip(obj, "gpu_watts") && !Skip(obj, "gpu_idle_watts") && p.gpu_idle_watts > p.gpu_watts &&
        p.gpu_watts >= 0) {
      Report(obj, "gpu_idle_watts", -1,
             absl::StrCat(p.gpu_idle_watts, " is more than gpu_watts (", p.gpu_watts, ")"));
    }
  }

  void CheckDataset(int i) {
    const Dataset& d = parts_.datasets[i];
    Obj obj = Of(Kind::kDataset, i, d);
    const int max_bytes = parts_.policy.max_label_bytes;
    if (!Skip(obj, "name") && IsValidName(d.name) && max_bytes >= 1 &&
        d.name.size() > static_cast<size_t>(max_bytes)) {
      Report(obj, "name", -1,
             absl::StrCat("name is ", d.name.size(), " bytes, more than policy max_label_bytes (",
                          max_bytes, "): no job could use this dataset"));
    }
    if (!Skip(obj, "regions")) {
      if (d.regions.empty()) {
        Report(obj, "regions", -1, "must list at least one region");
      }
      for (size_t e = 0; e < d.regions.size(); ++e) {
        Reference(obj, "regions", static_cast<int>(e), "region", d.regions[e], regions_);
      }
    }
    for (size_t e = 0; e < d.jurisdictions.size() && !Skip(obj, "jurisdictions"); ++e) {
      if (!jurisdictions_.contains(d.jurisdictions[e])) {
        std::vector<std::string> known;
        for (const auto& [name, unused] : jurisdictions_) {
          known.push_back(name);
        }
        Report(obj, "jurisdictions", static_cast<int>(e),
               absl::StrCat("jurisdiction ", Quote(d.jurisdictions[e]),
                            " is not the operator_jurisdiction of any site (known: ",
                            KnownList(known), ")"));
      }
    }
    Text(obj, "legal_basis", d.legal_basis);
    UnixNames(obj, "groups", "group", d.groups);
    UnixNames(obj, "users", "user", d.users);
  }

  void UnixNames(const Obj& obj, absl::string_view field, absl::string_view what,
                 const std::vector<std::string>& names) {
    for (size_t e = 0; e < names.size() && !Skip(obj, field); ++e) {
      if (!IsValidUnixName(names[e]) || !IsValidUtf8(names[e])) {
        Report(obj, field, static_cast<int>(e),
               absl::StrCat("bad ", what, " name ", Quote(names[e]),
                            ": 1 to 256 bytes without spaces, control characters, ',' or ':'"));
      }
    }
  }

  const Parts& parts_;
  std::vector<Diagnostic>* out_;
  NameIndex regions_, sites_, partitions_, datasets_, accounts_, jurisdictions_;
};

}  // namespace

void Validate(const Parts& parts, std::vector<Diagnostic>* out) { Validator(parts, out).Run(); }

}  // namespace sovereign::register_internal
