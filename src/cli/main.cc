// sovereignctl: the register for admins, the audit log for auditors, explain for researchers.
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "datasets_online.h"
#include "explain_online.h"
#include "register_online.h"

int main(int argc, char** argv) {
  CLI::App app{"sovereignctl: sovereignty-aware placement for Slurm"};
  app.require_subcommand(1);
  // --json and --socket may also follow a subcommand: `sovereignctl explain --json ...`.
  app.fallthrough();
  sovereign::cli::GlobalOptions global;
  if (const char* env = std::getenv("SOVEREIGN_SOCKET"); env != nullptr && *env != '\0') {
    global.socket = env;
  }
  app.add_option("--socket", global.socket, "sovereignd's unix socket (env SOVEREIGN_SOCKET)")
      ->capture_default_str();
  app.add_flag("--json", global.json, "print JSON instead of tables");
  int exit_code = 0;

  CLI::App* reg =
      app.add_subcommand("register", "validate, apply, diff and roll back the register");
  reg->require_subcommand(1);
  sovereign::cli::AddRegisterOfflineCommands(*reg, global, &exit_code,
                                             &sovereign::cli::ValidateClusterOnline);
  sovereign::cli::AddRegisterOnlineCommands(*reg, global, &exit_code);
  CLI::App* audit = app.add_subcommand("audit", "query, watch, export and verify decisions");
  audit->require_subcommand(1);
  sovereign::cli::AddAuditCommands(*audit, global, &exit_code);
  sovereign::cli::AddStatusCommand(app, global, &exit_code);
  sovereign::cli::AddEnergyCommand(app, global, &exit_code);
  sovereign::cli::AddExplainCommand(app, global, &exit_code, &sovereign::cli::ExplainOnline);
  sovereign::cli::AddDatasetsCommand(app, global, &exit_code, &sovereign::cli::DatasetsOnline);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return exit_code;
}
