// sovereignctl register apply|history|diff|rollback|show: the register as sovereignd keeps it;
// and validate's check against the cluster sovereignd serves.
#include "register_online.h"

#include <sys/stat.h>

#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "commands.h"
#include "daemon_client.h"
#include "sovereign/register.h"
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
  bool sites = false;
  bool partitions = false;
  bool datasets = false;
};

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// The whole file, or nullopt (with the error printed).
std::optional<std::string> ReadRegisterText(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    std::cerr << "sovereignctl: cannot read " << path << "\n";
    return std::nullopt;
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string List(const std::vector<std::string>& items) {
  return items.empty() ? "-" : absl::StrJoin(items, ",");
}

std::string Number(double v) { return absl::StrCat(v); }

// The register's sites, partitions and datasets as tables (show --sites|--partitions|--datasets).
void PrintTables(const Register& reg, const RegisterArgs& a) {
  bool first = true;
  auto separate = [&first] {
    if (!first) {
      std::cout << "\n";
    }
    first = false;
  };
  if (a.sites) {
    separate();
    std::vector<std::vector<std::string>> rows;
    for (const Site& s : reg.sites()) {
      rows.push_back({s.name, s.region, s.country, s.operator_name, s.operator_jurisdiction,
                      Number(s.pue), Number(s.carbon_intensity)});
    }
    std::cout << FormatTable(
        {"SITE", "REGION", "COUNTRY", "OPERATOR", "JURISDICTION", "PUE", "GCO2/KWH"}, rows);
  }
  if (a.partitions) {
    separate();
    std::vector<std::vector<std::string>> rows;
    for (const Partition& p : reg.partitions()) {
      const Site* site = reg.FindSite(p.site);
      rows.push_back({p.name, p.site, site == nullptr ? "" : site->region, p.gpu_type,
                      absl::StrCat(p.nodes), absl::StrCat(p.gpus_per_node), Number(p.gpu_watts),
                      Number(p.gpu_idle_watts), Number(p.node_watts)});
    }
    std::cout << FormatTable({"PARTITION", "SITE", "REGION", "GPU", "NODES", "GPUS/NODE",
                              "GPU W", "IDLE W", "NODE W"},
                             rows);
  }
  if (a.datasets) {
    separate();
    std::vector<std::vector<std::string>> rows;
    for (const Dataset& d : reg.datasets()) {
      rows.push_back({d.name, std::string(ClassificationName(d.classification)), List(d.regions),
                      d.jurisdictions.empty() ? "any" : List(d.jurisdictions),
                      d.OpenToAll() ? "everyone" : List(d.groups), List(d.users)});
    }
    std::cout << FormatTable(
        {"DATASET", "CLASS", "REGIONS", "JURISDICTIONS", "GROUPS", "USERS"}, rows);
  }
}

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
  std::optional<std::string> text = ReadRegisterText(a.file);
  if (!text) {
    return kExitUsage;
  }
  v1::ApplyRegisterRequest req;
  req.set_yaml(*text);
  req.set_filename(a.file);
  req.set_comment(a.comment);
  req.set_expected_version(a.expect);
  req.set_dry_run(a.dry_run);
  return CallAndPrint<v1::RegisterService>(
      g, &v1::RegisterService::Stub::Apply, req, PrintJson,
      [&a](const v1::ApplyRegisterResponse& resp) {
        if (a.dry_run) {
          std::cout << "dry run: register " << resp.revision().version().substr(0, 12)
                    << " is valid and was not applied; in force: "
                    << resp.previous_version().substr(0, 12) << "\n";
          PrintImpact(resp.impact(), true);
        } else {
          PrintRevision(resp, "applied");
          PrintImpact(resp.impact(), false);
        }
      });
}

int Rollback(const GlobalOptions& g, const RegisterArgs& a) {
  v1::RollbackRegisterRequest req;
  req.set_version(a.version);
  req.set_comment(a.comment);
  return CallAndPrint<v1::RegisterService>(g, &v1::RegisterService::Stub::Rollback, req,
                                           PrintJson, [](const v1::ApplyRegisterResponse& resp) {
                                             PrintRevision(resp, "rolled back to");
                                             PrintImpact(resp.impact(), false);
                                           });
}

int History(const GlobalOptions& g, const RegisterArgs& a) {
  v1::RegisterHistoryRequest req;
  req.set_page_size(a.limit);
  return CallAndPrint<v1::RegisterService>(
      g, &v1::RegisterService::Stub::History, req, PrintJson,
      [](const v1::RegisterHistoryResponse& resp) {
        std::vector<std::vector<std::string>> rows;
        for (const v1::RegisterRevision& r : resp.revisions()) {
          rows.push_back({absl::StrCat(r.revision()), r.short_version(),
                          FormatTime(r.applied_at().seconds()), r.action(), r.applied_by(),
                          r.comment()});
        }
        std::cout << FormatTable({"REV", "VERSION", "APPLIED", "ACTION", "BY", "COMMENT"}, rows);
      });
}

// register diff without --json: the changes, field by field.
void PrintDiffTable(const v1::DiffRegisterResponse& resp) {
  std::cout << "register " << resp.from_version().substr(0, 12) << " -> "
            << resp.to_version().substr(0, 12) << ": ";
  if (resp.changes().empty()) {
    std::cout << "no changes\n";
    return;
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
}

// register show without --json: the YAML, the tables asked for, or the revision.
int PrintRegisterTable(const v1::GetRegisterResponse& resp, const RegisterArgs& a) {
  if (a.yaml) {
    std::cout << resp.yaml();
  } else if (a.sites || a.partitions || a.datasets) {
    absl::StatusOr<std::shared_ptr<const Register>> reg =
        Register::Parse(resp.yaml(), resp.revision().source());
    if (!reg.ok()) {
      std::cerr << "sovereignctl: " << reg.status().message() << "\n";
      return kExitNo;
    }
    PrintTables(**reg, a);
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

int Diff(const GlobalOptions& g, const RegisterArgs& a) {
  v1::DiffRegisterRequest req;
  // A file: what applying it would change, from the register in force (one argument) or from
  // the version given first.
  const std::string* file = !a.to.empty() ? &a.to : &a.from;
  if (IsRegularFile(*file)) {
    std::optional<std::string> text = ReadRegisterText(*file);
    if (!text) {
      return kExitUsage;
    }
    req.set_to_yaml(*text);
    req.set_to_filename(*file);
    req.set_from_version(a.to.empty() ? "" : a.from);
  } else {
    req.set_from_version(a.from);
    req.set_to_version(a.to);
  }
  return CallAndPrint<v1::RegisterService>(g, &v1::RegisterService::Stub::Diff, req, PrintJson,
                                           PrintDiffTable);
}

int Show(const GlobalOptions& g, const RegisterArgs& a) {
  v1::GetRegisterRequest req;
  req.set_version(a.version);
  return CallAndPrint<v1::RegisterService>(
      g, &v1::RegisterService::Stub::Get, req, PrintJson,
      [&a](const v1::GetRegisterResponse& resp) { return PrintRegisterTable(resp, a); });
}

}  // namespace

ClusterCheckReport ValidateClusterOnline(const GlobalOptions& global, const std::string& yaml,
                                         const std::string& filename) {
  ClusterCheckReport out;
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = ConnectToDaemon(global.socket);
  if (!channel.ok()) {
    out.not_checked = absl::StrCat("no --slurm-conf given, and ", channel.status().message());
    return out;
  }
  v1::ValidateRegisterRequest req;
  req.set_yaml(yaml);
  req.set_filename(filename);
  req.set_check_cluster(true);
  v1::ValidateRegisterResponse resp;
  grpc::Status status = v1::RegisterService::NewStub(*channel)->Validate(CallContext().get(), req, &resp);
  if (!status.ok()) {
    out.not_checked = absl::StrCat("sovereignd at ", global.socket, " did not check it: ",
                                   status.error_message());
    return out;
  }
  const v1::ClusterCheck& c = resp.cluster();
  out.checked = c.checked();
  out.source = absl::StrCat(c.source(), " (through sovereignd)");
  out.not_checked = c.not_checked();
  for (const auto* list : {&c.errors(), &c.warnings()}) {
    for (const v1::Diagnostic& d : *list) {
      out.findings.push_back({list == &c.errors() ? FindingSeverity::kError
                                                  : FindingSeverity::kWarning,
                              SourceLocation{d.file(), d.line(), d.column()}, d.message()});
    }
  }
  return out;
}

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

  CLI::App* diff = register_cmd.add_subcommand(
      "diff", "what changed between two register versions, or what a register file would change");
  diff->add_option("from", args->from,
                   "version or prefix; or a register file: what applying it would change in the "
                   "register in force")
      ->required();
  diff->add_option("to", args->to,
                   "version or prefix, or a register file (default: the register in force)");
  diff->callback([&global, args, exit_code] { *exit_code = Diff(global, *args); });

  CLI::App* rollback =
      register_cmd.add_subcommand("rollback", "put an earlier version in force again");
  rollback->add_option("version", args->version, "version or prefix")->required();
  rollback->add_option("--comment", args->comment, "why (kept in the history)");
  rollback->callback([&global, args, exit_code] { *exit_code = Rollback(global, *args); });

  CLI::App* show = register_cmd.add_subcommand("show", "the register in force (or a version)");
  show->add_option("version", args->version, "version or prefix (default: in force)");
  show->add_flag("--yaml", args->yaml, "print the YAML text");
  show->add_flag("--sites", args->sites, "a table of the sites");
  show->add_flag("--partitions", args->partitions, "a table of the partitions");
  show->add_flag("--datasets", args->datasets, "a table of the datasets and who may use them");
  show->callback([&global, args, exit_code] { *exit_code = Show(global, *args); });
}

}  // namespace sovereign::cli
