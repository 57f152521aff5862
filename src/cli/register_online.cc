// sovereignctl register apply|history|diff|rollback|show: the register as sovereignd keeps it.
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "commands.h"
#include "daemon_client.h"
#include "sovereign/v1/register.grpc.pb.h"

namespace sovereign::cli {
namespace {

struct RegisterArgs {
  std::string file;
  std::string comment;
  std::string expect;
  std::string version;
  std::string from;
  std::string to;
  int limit = 20;
  bool yaml = false;
  bool dry_run = false;
};

std::string ChangeName(v1::ChangeType c) {
  switch (c) {
    case v1::CHANGE_TYPE_ADDED:
      return "added";
    case v1::CHANGE_TYPE_REMOVED:
      return "removed";
    case v1::CHANGE_TYPE_CHANGED:
      return "changed";
    default:
      return "?";
  }
}

void PrintRevision(const v1::ApplyRegisterResponse& r, const char* verb) {
  std::cout << verb << " register " << r.revision().short_version() << " (revision "
            << r.revision().revision() << ")";
  if (!r.changed()) {
    std::cout << "; it was already in force";
  } else if (!r.previous_version().empty()) {
    std::cout << "; previous " << r.previous_version().substr(0, 12);
  }
  std::cout << "\n";
}

// What the register did (or would do) to the jobs slurmctld holds.
void PrintImpact(const v1::JobImpact& i, bool dry_run) {
  if (!i.checked() && i.errors().empty()) {
    return;  // sovereignd has no Slurm side
  }
  if (i.checked()) {
    std::cout << (dry_run ? "would move " : "moved ") << i.moved() << " and "
              << (dry_run ? "hold " : "held ") << i.held() << " of " << i.pending_checked()
              << " pending jobs; " << i.running_at_risk() << " running "
              << (i.running_at_risk() == 1 ? "job" : "jobs") << " at risk\n";
  }
  for (const std::string& d : i.details()) {
    std::cout << "  " << d << "\n";
  }
  for (const std::string& e : i.errors()) {
    std::cout << "  error: " << e << "\n";
  }
}

int Apply(const GlobalOptions& g, const RegisterArgs& a) {
  std::ifstream in(a.file);
  if (!in) {
    std::cerr << "sovereignctl: cannot read " << a.file << "\n";
    return kExitUsage;
  }
  std::stringstream text;
  text << in.rdbuf();
  v1::ApplyRegisterRequest req;
  req.set_yaml(text.str());
  req.set_filename(a.file);
  req.set_comment(a.comment);
  req.set_expected_version(a.expect);
  req.set_dry_run(a.dry_run);
  v1::ApplyRegisterResponse resp;
  if (int rc = CallDaemon<v1::RegisterService>(g, &v1::RegisterService::Stub::Apply, req, &resp);
      rc != kExitOk) {
    return rc;
  }
  if (g.json) {
    std::cout << ToJson(resp) << "\n";
  } else if (a.dry_run) {
    std::cout << "dry run: register " << resp.revision().version().substr(0, 12)
              << " is valid and was not applied; in force: "
              << resp.previous_version().substr(0, 12) << "\n";
    PrintImpact(resp.impact(), true);
  } else {
    PrintRevision(resp, "applied");
    PrintImpact(resp.impact(), false);
  }
  return kExitOk;
}

int Rollback(const GlobalOptions& g, const RegisterArgs& a) {
  v1::RollbackRegisterRequest req;
  req.set_version(a.version);
  req.set_comment(a.comment);
  v1::ApplyRegisterResponse resp;
  if (int rc = CallDaemon<v1::RegisterService>(g, &v1::RegisterService::Stub::Rollback, req, &resp);
      rc != kExitOk) {
    return rc;
  }
  if (g.json) {
    std::cout << ToJson(resp) << "\n";
  } else {
    PrintRevision(resp, "rolled back to");
    PrintImpact(resp.impact(), false);
  }
  return kExitOk;
}

int History(const GlobalOptions& g, const RegisterArgs& a) {
  v1::RegisterHistoryRequest req;
  req.set_page_size(a.limit);
  v1::RegisterHistoryResponse resp;
  if (int rc = CallDaemon<v1::RegisterService>(g, &v1::RegisterService::Stub::History, req, &resp);
      rc != kExitOk) {
    return rc;
  }
  if (g.json) {
    std::cout << ToJson(resp) << "\n";
    return kExitOk;
  }
  std::vector<std::vector<std::string>> rows;
  for (const v1::RegisterRevision& r : resp.revisions()) {
    rows.push_back({absl::StrCat(r.revision()), r.short_version(),
                    FormatTime(r.applied_at().seconds()), r.action(), r.applied_by(), r.comment()});
  }
  std::cout << FormatTable({"REV", "VERSION", "APPLIED", "ACTION", "BY", "COMMENT"}, rows);
  return kExitOk;
}

int Diff(const GlobalOptions& g, const RegisterArgs& a) {
  v1::DiffRegisterRequest req;
  req.set_from_version(a.from);
  req.set_to_version(a.to);
  v1::DiffRegisterResponse resp;
  if (int rc = CallDaemon<v1::RegisterService>(g, &v1::RegisterService::Stub::Diff, req, &resp);
      rc != kExitOk) {
    return rc;
  }
  if (g.json) {
    std::cout << ToJson(resp) << "\n";
    return kExitOk;
  }
  std::cout << "register " << resp.from_version().substr(0, 12) << " -> "
            << resp.to_version().substr(0, 12) << ": ";
  if (resp.changes().empty()) {
    std::cout << "no changes\n";
    return kExitOk;
  }
  std::cout << resp.changes_size() << (resp.changes_size() == 1 ? " change\n" : " changes\n");
  for (const v1::ObjectChange& c : resp.changes()) {
    std::cout << "  " << ChangeName(c.change()) << " " << c.kind();
    if (!c.name().empty()) {
      std::cout << " " << c.name();
    }
    std::cout << "\n";
    for (const v1::FieldChange& f : c.fields()) {
      std::cout << "      " << f.field() << ": "
                << (f.old_value().empty() ? "(absent)" : f.old_value()) << " -> "
                << (f.new_value().empty() ? "(absent)" : f.new_value()) << "\n";
    }
  }
  return kExitOk;
}

int Show(const GlobalOptions& g, const RegisterArgs& a) {
  v1::GetRegisterRequest req;
  req.set_version(a.version);
  v1::GetRegisterResponse resp;
  if (int rc = CallDaemon<v1::RegisterService>(g, &v1::RegisterService::Stub::Get, req, &resp);
      rc != kExitOk) {
    return rc;
  }
  if (g.json) {
    std::cout << ToJson(resp) << "\n";
  } else if (a.yaml) {
    std::cout << resp.yaml();
  } else {
    const v1::RegisterRevision& r = resp.revision();
    std::cout << "version:    " << r.version() << (resp.active() ? " (in force)" : "") << "\n"
              << "revision:   " << r.revision() << "\n"
              << "applied:    " << FormatTime(r.applied_at().seconds()) << " by " << r.applied_by()
              << " (" << r.action() << ")\n"
              << "source:     " << r.source() << "\n";
    if (!r.comment().empty()) {
      std::cout << "comment:    " << r.comment() << "\n";
    }
  }
  return kExitOk;
}

}  // namespace

void AddRegisterOnlineCommands(CLI::App& register_cmd, GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<RegisterArgs>();

  CLI::App* apply =
      register_cmd.add_subcommand("apply", "validate a register file and put it in force");
  apply->add_option("file", args->file, "register YAML")->required();
  apply->add_option("--comment", args->comment, "why (kept in the history)");
  apply->add_option("--expect", args->expect,
                    "apply only if this version (or prefix) is the one in force");
  apply->add_flag("--dry-run", args->dry_run,
                  "validate, and say which pending jobs would be moved or held and which "
                  "running jobs would be at risk; apply nothing");
  apply->callback([&global, args, exit_code] { *exit_code = Apply(global, *args); });

  CLI::App* history =
      register_cmd.add_subcommand("history", "every register applied, newest first");
  history->add_option("--limit", args->limit, "at most this many")->capture_default_str();
  history->callback([&global, args, exit_code] { *exit_code = History(global, *args); });

  CLI::App* diff =
      register_cmd.add_subcommand("diff", "what changed between two register versions");
  diff->add_option("from", args->from, "version or prefix")->required();
  diff->add_option("to", args->to, "version or prefix (default: the register in force)");
  diff->callback([&global, args, exit_code] { *exit_code = Diff(global, *args); });

  CLI::App* rollback =
      register_cmd.add_subcommand("rollback", "put an earlier version in force again");
  rollback->add_option("version", args->version, "version or prefix")->required();
  rollback->add_option("--comment", args->comment, "why (kept in the history)");
  rollback->callback([&global, args, exit_code] { *exit_code = Rollback(global, *args); });

  CLI::App* show = register_cmd.add_subcommand("show", "the register in force (or a version)");
  show->add_option("version", args->version, "version or prefix (default: in force)");
  show->add_flag("--yaml", args->yaml, "print the YAML text");
  show->callback([&global, args, exit_code] { *exit_code = Show(global, *args); });
}

}  // namespace sovereign::cli
