// sovereignctl energy: the jobs-per-kWh report (AuditService.EnergyReport).
#include <iostream>
#include <cctype>
#include <memory>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cli_common.h"
#include "commands.h"
#include "daemon_client.h"
#include "sovereign/v1/audit.grpc.pb.h"

namespace sovereign::cli {
namespace {

struct EnergyArgs {
  std::string since, until, by = "partition";
};

std::vector<std::string> Cells(const v1::EnergyRow& r) {
  return {r.key().empty() ? "(none)" : r.key(),
          absl::StrCat(r.jobs()),
          r.measured_jobs() == 0
              ? "-"
              : absl::StrFormat("%.3f (%d jobs)", r.measured_kwh(), r.measured_jobs()),
          absl::StrFormat("%.3f", r.estimated_kwh()),
          absl::StrFormat("%.2f", r.jobs_per_kwh()),
          absl::StrFormat("%.3f", r.co2_kg()),
          absl::StrCat(r.green_jobs()),
          absl::StrFormat("%.3f", r.green_saved_kg())};
}

void PrintReport(const v1::EnergyReportResponse& report) {
  std::vector<std::vector<std::string>> rows;
  for (const v1::EnergyRow& r : report.rows()) {
    rows.push_back(Cells(r));
  }
  rows.push_back(Cells(report.total()));
  std::string by = report.by();
  for (char& c : by) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  std::cout << FormatTable({by, "JOBS", "KWH MEASURED", "KWH ESTIMATED", "JOBS/KWH", "KGCO2",
                            "GREEN JOBS", "KGCO2 SAVED"},
                           rows);
  std::cout << "Jobs that ran and ended. Estimated: the placement's figure for the time limit, "
               "scaled to the run time; measured where a power source gave one.\n";
  if (report.skipped() > 0) {
    std::cout << report.skipped() << " ended job" << (report.skipped() == 1 ? "" : "s")
              << " left out: " << report.first_skipped() << "\n";
  }
}

int Energy(const GlobalOptions& global, const EnergyArgs& a) {
  v1::EnergyReportRequest request;
  request.set_by(a.by);
  const absl::Time now = absl::Now();
  for (const auto& [text, flag, field] :
       {std::tuple{a.since, "--since", request.mutable_since()},
        std::tuple{a.until, "--until", request.mutable_until()}}) {
    if (text.empty()) {
      continue;
    }
    if (absl::Status s = ParseWhen(text, flag, now, field); !s.ok()) {
      PrintError("energy", s.message());
      return kExitUsage;
    }
  }
  if (a.since.empty()) {
    request.clear_since();
  }
  if (a.until.empty()) {
    request.clear_until();
  }
  return CallAndPrint<v1::AuditService>(global, &v1::AuditService::Stub::EnergyReport, request,
                                        PrintJson, PrintReport);
}

}  // namespace

void AddEnergyCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<EnergyArgs>();
  CLI::App* cmd = app.add_subcommand(
      "energy", "jobs per kWh, kWh (measured and estimated), CO2 and green windows' savings");
  cmd->add_option("--since", args->since,
                  "jobs that ended at or after this time, or this long ago (7d)");
  cmd->add_option("--until", args->until, "before this time, or this long ago");
  cmd->add_option("--by", args->by, "partition, account, region or day")->capture_default_str();
  cmd->callback([&global, args, exit_code] { *exit_code = Energy(global, *args); });
}

}  // namespace sovereign::cli
