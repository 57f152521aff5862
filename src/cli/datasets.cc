#include "datasets.h"

#include <iostream>
#include <algorithm>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cli_common.h"
#include "commands.h"
#include "explain_request.h"
#include "nlohmann/json.hpp"

namespace sovereign::cli {
namespace {

constexpr absl::string_view kCommand = "datasets";

struct DatasetsOptions {
  std::string register_path;
  std::string cluster_path;
  std::string user;
  std::vector<std::string> groups;
};

std::string PartitionText(const DatasetPartitionAccess& p) {
  if (p.state.empty() || p.state == "up") {
    return p.name;
  }
  return absl::StrCat(p.name, " (", p.state == "absent" ? "not in Slurm" : p.state, ")");
}

int DatasetsOffline(const DatasetsOptions& o, bool as_json) {
  LoadedRegister loaded = LoadRegisterFile(o.register_path);
  if (loaded.reg == nullptr) {
    PrintError(kCommand, loaded.error);
    return loaded.exit_code;
  }
  const Register& reg = *loaded.reg;
  std::optional<ClusterView> view;
  if (!o.cluster_path.empty()) {
    absl::StatusOr<ClusterSnapshot> snapshot = ClusterSnapshot::Load(o.cluster_path);
    if (!snapshot.ok()) {
      PrintError(kCommand, snapshot.status().message());
      return absl::IsNotFound(snapshot.status()) ? kExitUsage : kExitNo;
    }
    view = ClusterView::Bind(*snapshot, reg);
  }
  DatasetsAnswer answer;
  answer.user = o.user;
  answer.groups = o.groups;
  if (answer.user.empty()) {
    absl::StatusOr<std::string> me = CurrentUserName();
    if (!me.ok()) {
      PrintError(kCommand, me.status().message());
      return kExitUsage;
    }
    answer.user = *me;
  }
  if (answer.groups.empty()) {
    absl::StatusOr<LocalUser> local = LookUpLocalUser(answer.user);
    if (!local.ok()) {
      PrintError(kCommand, absl::IsNotFound(local.status())
                               ? absl::StrCat("user \"", answer.user,
                                              "\" is not known on this machine: give their --group")
                               : std::string(local.status().message()));
      return kExitUsage;
    }
    answer.groups = local->groups;
  }
  answer.register_version = reg.version();
  for (const DatasetAccess& a :
       UsableDatasets(reg, view.has_value() ? &*view : nullptr, answer.user, answer.groups)) {
    answer.datasets.push_back({a.dataset->name,
                               std::string(ClassificationName(a.dataset->classification)),
                               a.access, a.dataset->regions, a.dataset->jurisdictions,
                               a.implied_by_accounts, a.partitions});
  }
  std::cout << (as_json ? DatasetsJson(answer) : RenderDatasets(answer));
  return kExitOk;
}

}  // namespace

std::string RenderDatasets(const DatasetsAnswer& a) {
  std::string out = absl::StrCat("user:     ", a.user, " (groups ",
                                 a.groups.empty() ? "none" : absl::StrJoin(a.groups, ", "),
                                 ")\nregister: ", a.register_version.substr(0, 12), "\n");
  if (a.datasets.empty()) {
    absl::StrAppend(&out, "\nNo dataset of the register is open to you: ask the data steward.\n");
    return out;
  }
  std::vector<std::vector<std::string>> rows = {
      {"DATASET", "CLASS", "REGIONS", "OPERATORS", "ACCESS", "IMPLIED BY", "PARTITIONS"}};
  for (const DatasetsAnswer::Row& d : a.datasets) {
    std::vector<std::string> partitions;
    for (const DatasetPartitionAccess& p : d.partitions) {
      partitions.push_back(PartitionText(p));
    }
    rows.push_back({d.name, d.classification, absl::StrJoin(d.regions, ","),
                    d.jurisdictions.empty() ? "any" : absl::StrJoin(d.jurisdictions, ","),
                    d.access,
                    d.implied_by_accounts.empty()
                        ? "-"
                        : absl::StrCat("-A ", absl::StrJoin(d.implied_by_accounts, ",")),
                    partitions.empty() ? "none" : absl::StrJoin(partitions, ", ")});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      width[i] = std::max(width[i], row[i].size());
    }
  }
  absl::StrAppend(&out, "\n");
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      absl::StrAppend(&line, row[i],
                      i + 1 == row.size() ? "" : std::string(width[i] - row[i].size() + 2, ' '));
    }
    absl::StrAppend(&out, line, "\n");
  }
  absl::StrAppend(&out,
                  "\nDeclare them with sbatch --dataset=NAME; `sovereignctl explain --dataset "
                  "NAME` shows where a job would run.\n");
  return out;
}

std::string DatasetsJson(const DatasetsAnswer& a) {
  nlohmann::json list = nlohmann::json::array();
  for (const DatasetsAnswer::Row& d : a.datasets) {
    nlohmann::json partitions = nlohmann::json::array();
    for (const DatasetPartitionAccess& p : d.partitions) {
      nlohmann::json j = {{"name", p.name}, {"site", p.site}, {"region", p.region}};
      if (!p.state.empty()) {
        j["state"] = p.state;
      }
      partitions.push_back(std::move(j));
    }
    list.push_back({{"name", d.name},
                    {"classification", d.classification},
                    {"regions", d.regions},
                    {"jurisdictions", d.jurisdictions},
                    {"access", d.access},
                    {"implied_by_accounts", d.implied_by_accounts},
                    {"partitions", std::move(partitions)}});
  }
  nlohmann::json doc = {{"user", a.user},
                        {"groups", a.groups},
                        {"register_version", a.register_version},
                        {"datasets", std::move(list)}};
  return doc.dump(2) + "\n";
}

void AddDatasetsCommand(CLI::App& app, GlobalOptions& global, int* exit_code,
                        DatasetsOnlineFn online) {
  CLI::App* cmd = app.add_subcommand(
      "datasets", "the datasets you may use, their regions and the partitions that qualify");
  auto o = std::make_shared<DatasetsOptions>();
  cmd->add_option("--register", o->register_path, "read this register file (YAML) offline");
  cmd->add_option("--cluster", o->cluster_path,
                  "cluster snapshot (JSON), to show each partition's state; needs --register");
  cmd->add_option("--user", o->user, "whose datasets (default: you); needs --register");
  cmd->add_option("--group", o->groups,
                  "the user's Unix groups, repeatable or comma-separated (default: from this "
                  "machine); needs --register")
      ->delimiter(',');
  cmd->callback([o, &global, exit_code, online] {
    const bool offline = !o->register_path.empty();
    if (!offline && online == nullptr) {
      PrintError(kCommand, "--register is required when sovereignd support is not built in");
      *exit_code = kExitUsage;
      return;
    }
    if (!offline && (!o->cluster_path.empty() || !o->user.empty() || !o->groups.empty())) {
      PrintError(kCommand,
                 absl::StrCat(!o->cluster_path.empty() ? "--cluster"
                              : !o->user.empty()       ? "--user"
                                                       : "--group",
                              " needs --register (sovereignd answers for the user who asks, "
                              "with its own cluster view)"));
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = offline ? DatasetsOffline(*o, global.json) : online(global);
  });
}

}  // namespace sovereign::cli
