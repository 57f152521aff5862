// sovereignctl register validate FILE: the admin's check before applying a register, against
// the cluster too when it can (--slurm-conf, or sovereignd's view of slurmctld).
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cli_common.h"
#include "commands.h"
#include "nlohmann/json.hpp"

namespace sovereign::cli {
namespace {

using nlohmann::json;

std::string UnlabelledText(const Policy& policy) {
  return policy.unlabelled == UnlabelledRule::kAnyRegion
             ? "any region"
             : absl::StrCat("region ", policy.default_region);
}

json FindingsJson(const std::vector<ClusterFinding>& findings, FindingSeverity severity) {
  json out = json::array();
  for (const ClusterFinding& f : findings) {
    if (f.severity == severity) {
      out.push_back({{"file", f.location.file},
                     {"line", f.location.line},
                     {"column", f.location.column},
                     {"message", f.message}});
    }
  }
  return out;
}

json ClusterJson(const ClusterCheckReport& c) {
  json out = {{"checked", c.checked},
              {"errors", FindingsJson(c.findings, FindingSeverity::kError)},
              {"warnings", FindingsJson(c.findings, FindingSeverity::kWarning)}};
  if (c.checked) {
    out["source"] = c.source;
  } else {
    out["not_checked"] = c.not_checked;
  }
  return out;
}

// "  cluster    checked against slurm.conf /etc/slurm/slurm.conf: 1 error, 2 warnings", then
// each finding.
void PrintCluster(const ClusterCheckReport& c) {
  const int errors = CountErrors(c.findings);
  const int warnings = static_cast<int>(c.findings.size()) - errors;
  std::string counts = absl::StrCat(errors, errors == 1 ? " error, " : " errors, ", warnings,
                                    warnings == 1 ? " warning" : " warnings");
  if (c.checked) {
    std::cout << "  cluster    checked against " << c.source << ": " << counts << "\n";
  } else {
    std::cout << "  cluster    not checked: " << c.not_checked << "\n";
    if (!c.findings.empty()) {
      std::cout << "  accounts   Unix groups and users: " << counts << "\n";
    }
  }
  for (const ClusterFinding& f : c.findings) {
    std::cout << f.ToString() << "\n";
  }
}

ClusterCheckReport CheckWithSlurmConf(const Register& reg, const std::string& slurm_conf,
                                      absl::Status* error) {
  ClusterCheckReport out;
  absl::StatusOr<SlurmInventory> inv = ReadSlurmConf(slurm_conf);
  if (!inv.ok()) {
    *error = inv.status();
    return out;
  }
  out.checked = true;
  out.source = inv->source;
  out.findings = CheckAgainstSlurm(reg, *inv);
  std::vector<ClusterFinding> accounts = CheckAccounts(reg, NssAccountLookup());
  out.findings.insert(out.findings.end(), accounts.begin(), accounts.end());
  return out;
}

void PrintValid(const std::string& path, const Register& reg, bool as_json,
                const ClusterCheckReport* cluster) {
  if (as_json) {
    json out = {{"file", path},
                {"valid", true},
                {"version", reg.version()},
                {"objective", std::string(ObjectiveName(reg.policy().objective))},
                {"regions", reg.regions().size()},
                {"sites", reg.sites().size()},
                {"partitions", reg.partitions().size()},
                {"datasets", reg.datasets().size()},
                {"accounts", reg.accounts().size()}};
    if (cluster != nullptr) {
      out["cluster"] = ClusterJson(*cluster);
    }
    std::cout << out.dump(2) << "\n";
    return;
  }
  std::cout << path << ": valid\n"
            << "  version    " << reg.version() << "\n"
            << "  contents   " << reg.regions().size() << " regions, " << reg.sites().size()
            << " sites, " << reg.partitions().size() << " partitions, " << reg.datasets().size()
            << " datasets, " << reg.accounts().size() << " accounts\n"
            << "  objective  " << ObjectiveName(reg.policy().objective) << "\n"
            << "  unlabelled jobs run in " << UnlabelledText(reg.policy())
            << "; jobs without --time are estimated at "
            << absl::FormatDuration(reg.policy().default_time_limit) << "\n";
  if (cluster != nullptr) {
    PrintCluster(*cluster);
  }
}

void PrintInvalid(const std::string& path, const std::vector<Diagnostic>& diagnostics,
                  bool as_json) {
  if (as_json) {
    json errors = json::array();
    for (const Diagnostic& d : diagnostics) {
      errors.push_back({{"file", d.location.file},
                        {"line", d.location.line},
                        {"column", d.location.column},
                        {"message", d.message}});
    }
    std::cout << json{{"file", path}, {"valid", false}, {"errors", std::move(errors)}}.dump(2)
              << "\n";
    return;
  }
  for (const Diagnostic& d : diagnostics) {
    std::cerr << d.ToString() << "\n";
  }
  std::cerr << path << ": invalid (" << diagnostics.size()
            << (diagnostics.size() == 1 ? " error" : " errors") << ")\n";
}

}  // namespace

void AddRegisterOfflineCommands(CLI::App& register_cmd, GlobalOptions& global, int* exit_code,
                                ClusterCheckOnlineFn online) {
  CLI::App* validate = register_cmd.add_subcommand(
      "validate",
      "check a register file and report every problem with file:line:column, and check it "
      "against the cluster: slurm.conf with --slurm-conf, else the cluster sovereignd serves");
  auto path = std::make_shared<std::string>();
  auto slurm_conf = std::make_shared<std::string>();
  validate->add_option("file", *path, "the register (YAML)")->required();
  validate->add_option("--slurm-conf", *slurm_conf,
                       "check partitions, GPU types and counts against this slurm.conf (and "
                       "gres.conf beside it), and Unix groups and users against this host");
  validate->callback([path, slurm_conf, &global, exit_code, online] {
    LoadedRegister loaded = LoadRegisterFile(*path);
    *exit_code = loaded.exit_code;
    if (loaded.reg != nullptr) {
      ClusterCheckReport cluster;
      if (!slurm_conf->empty()) {
        absl::Status error;
        cluster = CheckWithSlurmConf(*loaded.reg, *slurm_conf, &error);
        if (!error.ok()) {
          PrintError("register validate", error.message());
          *exit_code = kExitUsage;
          return;
        }
      } else if (online != nullptr) {
        std::ifstream in(*path);
        std::stringstream text;
        text << in.rdbuf();
        cluster = online(global, text.str(), *path);
      } else {
        cluster.not_checked = "no --slurm-conf given";
      }
      PrintValid(*path, *loaded.reg, global.json, &cluster);
      if (CountErrors(cluster.findings) > 0) {
        *exit_code = kExitNo;
      }
    } else if (loaded.exit_code == kExitNo) {
      PrintInvalid(*path, loaded.diagnostics, global.json);
    } else {
      PrintError("register validate", loaded.error);
    }
  });
}

}  // namespace sovereign::cli
