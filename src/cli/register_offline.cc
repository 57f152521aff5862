// sovereignctl register validate FILE: the admin's check before applying a register.
#include <iostream>
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

void PrintValid(const std::string& path, const Register& reg, bool as_json) {
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

void AddRegisterOfflineCommands(CLI::App& register_cmd, GlobalOptions& global, int* exit_code) {
  CLI::App* validate = register_cmd.add_subcommand(
      "validate", "check a register file and report every problem with file:line:column");
  auto path = std::make_shared<std::string>();
  validate->add_option("file", *path, "the register (YAML)")->required();
  validate->callback([path, &global, exit_code] {
    LoadedRegister loaded = LoadRegisterFile(*path);
    *exit_code = loaded.exit_code;
    if (loaded.reg != nullptr) {
      PrintValid(*path, *loaded.reg, global.json);
    } else if (loaded.exit_code == kExitNo) {
      PrintInvalid(*path, loaded.diagnostics, global.json);
    } else {
      PrintError("register validate", loaded.error);
    }
  });
}

}  // namespace sovereign::cli
