// sovereignctl status: is sovereignd up, which register is in force, how big is the log.
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "commands.h"
#include "daemon_client.h"
#include "sovereign/v1/admin.grpc.pb.h"

namespace sovereign::cli {
namespace {

// "since start:      1200 records in 310 commits (3.9 per commit)", or nothing.
std::string CommitLine(const v1::GetStatusResponse& resp) {
  if (!resp.audit_enabled()) {
    return "";
  }
  std::string line = absl::StrCat("since start:      ", resp.audit_records_appended(),
                                  " records in ", resp.audit_transactions(), " commits");
  if (resp.audit_transactions() > 0) {
    absl::StrAppend(&line, absl::StrFormat(" (%.1f per commit)",
                                           static_cast<double>(resp.audit_records_appended()) /
                                               static_cast<double>(resp.audit_transactions())));
  }
  return line + "\n";
}

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
            << CommitLine(resp)
            << "violations:       " << resp.audit_violations()
            << " runs attested outside their allowed sites, " << resp.audit_at_risk()
            << " running jobs at risk after a register change"
            << (resp.audit_violations() + resp.audit_at_risk() > 0
                    ? " (sovereignctl audit list --verdict violation | at_risk)"
                    : "")
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
