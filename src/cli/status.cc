// sovereignctl status: is sovereignd up, which register is in force, how big is the log.
#include <iostream>

#include "absl/strings/str_join.h"
#include "commands.h"
#include "daemon_client.h"
#include "sovereign/v1/admin.grpc.pb.h"

namespace sovereign::cli {
namespace {

int Status(const GlobalOptions& g) {
  v1::GetStatusResponse resp;
  if (int rc = CallDaemon<v1::AdminService>(g, &v1::AdminService::Stub::GetStatus,
                                            v1::GetStatusRequest(), &resp);
      rc != kExitOk) {
    return rc;
  }
  if (g.json) {
    std::cout << ToJson(resp) << "\n";
    return kExitOk;
  }
  std::cout << "sovereignd " << resp.daemon_version() << " at " << g.socket << ", up since "
            << FormatTime(resp.started_at().seconds()) << "\n"
            << "register:         " << resp.register_version().substr(0, 12) << " (revision "
            << resp.register_revision() << ")\n"
            << "audit log:        "
            << (resp.audit_enabled()
                    ? std::to_string(resp.audit_head_seq()) + " records, sync " + resp.audit_sync()
                    : std::string("DISABLED"))
            << "\n"
            << "decisions served: " << resp.decisions_served() << "\n"
            << "failed reloads:   " << resp.reload_failures() << "\n"
            << "you:              " << resp.caller() << " ("
            << absl::StrJoin(resp.caller_roles(), ", ") << ")\n";
  return kExitOk;
}

}  // namespace

void AddStatusCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  CLI::App* status = app.add_subcommand("status", "is sovereignd up, and with which register");
  status->callback([&global, exit_code] { *exit_code = Status(global); });
}

}  // namespace sovereign::cli
