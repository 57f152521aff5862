// sovereignctl status: is sovereignd up, which register is in force, how big is the log, and
// how its Slurm side is doing (snapshot, cluster view, spool, reconciler, node weights and the
// power readings they come from).
#include <algorithm>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "commands.h"
#include "daemon_client.h"
#include "sovereign/v1/admin.grpc.pb.h"

namespace sovereign::cli {
namespace {

// "since start:      1200 records written in 310 commits (3.9 per commit)", then, when some
// appends were of decisions already in the log, how many (they open a transaction that
// writes nothing, and are not counted as commits). Nothing without the audit log.
std::string CommitLine(const v1::GetStatusResponse& resp) {
  if (!resp.audit_enabled()) {
    return "";
  }
  std::string line = absl::StrCat("since start:      ", resp.audit_records_appended(),
                                  " records written in ", resp.audit_transactions(), " commits");
  if (resp.audit_transactions() > 0) {
    absl::StrAppend(&line, absl::StrFormat(" (%.1f per commit)",
                                           static_cast<double>(resp.audit_records_appended()) /
                                               static_cast<double>(resp.audit_transactions())));
  }
  if (resp.audit_already_logged() > 0) {
    absl::StrAppend(&line, "; ", resp.audit_already_logged(),
                    resp.audit_already_logged() == 1 ? " decision was" : " decisions were",
                    " already in the log and not written again (the spool read again after a "
                    "restart, or a Decide repeated)");
  }
  return line + "\n";
}

// The Slurm side: the snapshot the plugin decides from, slurmctld's cluster view, the spool
// and the reconciler, each with what went wrong.
std::string SlurmLines(const v1::GetStatusResponse& r) {
  if (!r.slurm_enabled()) {
    return "slurm:            not served (slurm.slurm_conf is empty)\n";
  }
  std::string out = "snapshot:         ";
  if (r.has_snapshot_published_at()) {
    const int64_t age = std::max<int64_t>(0, absl::ToUnixSeconds(absl::Now()) -
                                                 r.snapshot_published_at().seconds());
    absl::StrAppend(&out, "published ", age == 0 ? "0s" : absl::FormatDuration(absl::Seconds(age)),
                    " ago (",
                    FormatTime(r.snapshot_published_at().seconds()), ")");
  } else {
    absl::StrAppend(&out, "never published");
  }
  if (r.snapshot_write_failures() > 0) {
    absl::StrAppend(&out, "; ", r.snapshot_write_failures(), " writes failed, last: ",
                    r.snapshot_last_write_error());
  }
  if (!r.carbon_series_dir().empty()) {
    absl::StrAppend(&out, "\ncarbon series:    ", r.carbon_series(), " site",
                    r.carbon_series() == 1 ? "" : "s", " published from ", r.carbon_series_dir(),
                    r.carbon_error().empty() ? "" : absl::StrCat("; ", r.carbon_error()));
  }
  absl::StrAppend(&out, "\ncluster view:     ");
  if (!r.cluster_read_error().empty()) {
    absl::StrAppend(&out, "slurmctld does not answer: ", r.cluster_read_error(),
                    " (the snapshot keeps the last view; ", r.cluster_read_failures(),
                    " failed reads since start)");
  } else {
    absl::StrAppend(&out, "read from slurmctld");
    if (r.cluster_read_failures() > 0) {
      absl::StrAppend(&out, " (", r.cluster_read_failures(), " failed reads since start)");
    }
  }
  absl::StrAppend(&out, "\nspool:            ", r.spool_backlog_bytes(),
                  " bytes waiting for the audit log; ", r.spool_ingested(),
                  " records ingested since start");
  if (r.spool_ingest_failures() > 0) {
    absl::StrAppend(&out, "; ", r.spool_ingest_failures(), " rounds failed");
  }
  if (!r.spool_ingest_error().empty()) {
    absl::StrAppend(&out, ", failing now: ", r.spool_ingest_error());
  }
  if (r.spool_torn() + r.spool_undecodable() > 0) {
    absl::StrAppend(&out, "; ", r.spool_torn(), " torn records, ", r.spool_undecodable(),
                    " set aside in undecodable.log");
  }
  absl::StrAppend(&out, "\nreconciler:       ", r.reconcile_rounds(), " rounds, ",
                  r.reconcile_failures(), " failed");
  if (r.reconcile_full_reads() > 0) {
    absl::StrAppend(&out, "; ", r.reconcile_full_reads(), " reads of the whole job table (the last: ",
                    r.reconcile_last_full_read_jobs(), " jobs in ",
                    absl::FormatDuration(absl::Milliseconds(r.reconcile_last_full_read_ms())),
                    ")");
  }
  if (!r.reconcile_error().empty()) {
    absl::StrAppend(&out, ", failing now: ", r.reconcile_error());
  }
  absl::StrAppend(&out, "\n                  following ", r.reconcile_jobs_followed(),
                  " tagged jobs; ", r.reconcile_placements_awaiting(),
                  " placements awaiting their job, ", r.reconcile_seen_ahead(),
                  " jobs seen before their placement reached the log");
  return out + "\n";
}

// "12s" ago, from a protobuf timestamp.
std::string Ago(int64_t seconds) {
  const int64_t age = std::max<int64_t>(0, absl::ToUnixSeconds(absl::Now()) - seconds);
  return age == 0 ? "0s" : absl::FormatDuration(absl::Seconds(age));
}

// Node weights: the counts, then one line per node (its weight, figure, and where the figure
// comes from); then the live power source.
std::string WeightLines(const v1::GetStatusResponse& r) {
  if (!r.slurm_enabled()) {
    return "";
  }
  std::string out = "node weights:     ";
  if (!r.weights_enabled()) {
    absl::StrAppend(&out, "left to slurm.conf (weights.enabled: false)\n");
  } else {
    absl::StrAppend(&out, "set from facility watts per GPU: ", r.weight_changes(), " changes, ",
                    r.weight_reapplied(), " set again after slurmctld reset them");
    if (r.weight_set_failures() > 0) {
      absl::StrAppend(&out, "; ", r.weight_set_failures(), " refused by slurmctld");
    }
    if (r.weight_record_failures() > 0) {
      absl::StrAppend(&out, "; ", r.weight_record_failures(),
                      " not recorded in the audit log (see sovereignd's log)");
    }
    if (!r.weight_error().empty()) {
      absl::StrAppend(&out, ", failing now: ", r.weight_error());
    }
    absl::StrAppend(&out, "\n");
    for (const v1::NodeWeight& n : r.node_weights()) {
      absl::StrAppend(&out, absl::StrFormat("  %-16s weight %-6s %5.0f W/GPU ", n.node(),
                                            n.weight() == 0 ? "-" : absl::StrCat(n.weight()),
                                            n.watts_per_gpu()));
      if (n.source() == "measured") {
        absl::StrAppend(&out, "measured ", Ago(n.measured_at().seconds()), " ago (", n.samples(),
                        n.samples() == 1 ? " reading" : " readings", ")");
      } else {
        absl::StrAppend(&out, "register figure (", n.partition(), ")");
      }
      if (n.desired() != n.weight() && n.weight() != 0) {
        absl::StrAppend(&out, "; now gives ", n.desired(),
                        ", held back (weights.hysteresis, weights.min_interval)");
      }
      absl::StrAppend(&out, "\n");
    }
  }
  if (!r.power_url().empty()) {
    absl::StrAppend(&out, "power:            ", r.power_url(), ": ", r.power_hosts(),
                    " hosts with a fresh reading; ", r.power_scrapes(), " scrapes, ",
                    r.power_failures(), " failed");
    if (r.has_power_scraped_at()) {
      absl::StrAppend(&out, "; last answer ", Ago(r.power_scraped_at().seconds()), " ago");
    }
    if (!r.power_error().empty()) {
      absl::StrAppend(&out, "; failing now: ", r.power_error());
    }
    absl::StrAppend(&out, "\n");
  }
  if (r.learned_power_size() > 0) {
    absl::StrAppend(&out,
                    "learnt power:     from finished jobs' measured energy; placement uses "
                    "it where no live reading is fresh\n");
  }
  for (const v1::LearnedPower& l : r.learned_power()) {
    absl::StrAppend(&out, absl::StrFormat("  %-16s %5.0f W/GPU measured over %d job%s (%.1f "
                                          "GPU-hours); ",
                                          l.partition(), l.measured_watts_per_gpu(), l.jobs(),
                                          l.jobs() == 1 ? "" : "s", l.gpu_hours()));
    if (!l.in_register()) {
      absl::StrAppend(&out, "not in the register in force\n");
    } else if (l.watts_per_gpu() > 0) {
      absl::StrAppend(&out, absl::StrFormat("in use: %.0f W/GPU with the register's %.0f\n",
                                            l.watts_per_gpu(), l.register_watts_per_gpu()));
    } else if (l.min_jobs() > 0) {
      absl::StrAppend(&out, "used from ", l.min_jobs(), " jobs (learned_energy_min_jobs)\n");
    } else {
      absl::StrAppend(&out, "not used (learned_energy_min_jobs: 0)\n");
    }
  }
  return out;
}

void PrintStatusTable(const GlobalOptions& g, const v1::GetStatusResponse& resp) {
  std::cout << "sovereignd " << resp.daemon_version() << " at " << g.socket << ", up since "
            << FormatTime(resp.started_at().seconds()) << "\n"
            << "register:         " << resp.register_version().substr(0, 12) << " (revision "
            << resp.register_revision() << ")\n"
            << "audit log:        "
            << (resp.audit_enabled()
                    ? std::to_string(resp.audit_head_seq()) + " records, sync " + resp.audit_sync()
                    : std::string("DISABLED"))
            << "\n"
            << CommitLine(resp) << "violations:       " << resp.audit_violations()
            << " runs attested outside their allowed sites, " << resp.audit_at_risk()
            << " running jobs at risk after a register change"
            << (resp.audit_violations() + resp.audit_at_risk() > 0
                    ? " (sovereignctl audit list --verdict violation | at_risk)"
                    : "")
            << "\n"
            << "decisions served: " << resp.decisions_served()
            << (resp.calls_over_user_limits() > 0
                    ? absl::StrCat("; calls over a user's limits refused: ",
                                   resp.calls_over_user_limits(), " (sovereignd.yaml limits)")
                    : "")
            << "\n"
            << "failed reloads:   " << resp.reload_failures() << "\n"
            << SlurmLines(resp) << WeightLines(resp) << "you:              " << resp.caller()
            << " (" << absl::StrJoin(resp.caller_roles(), ", ") << ")\n";
}

int Status(const GlobalOptions& g) {
  return CallAndPrint<v1::AdminService>(
      g, &v1::AdminService::Stub::GetStatus, v1::GetStatusRequest(), PrintJson,
      [&g](const v1::GetStatusResponse& resp) { PrintStatusTable(g, resp); });
}

}  // namespace

void AddStatusCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  CLI::App* status = app.add_subcommand("status", "is sovereignd up, and with which register");
  status->callback([&global, exit_code] { *exit_code = Status(global); });
}

}  // namespace sovereign::cli
