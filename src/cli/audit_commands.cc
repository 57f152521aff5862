// sovereignctl audit list|show|watch|verify|export: the decision log, for auditors and for
// users reading their own decisions. `audit verify --db FILE --public-key PEM` checks a copy of
// the database offline, without the daemon.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"
#include "commands.h"
#include "daemon_client.h"
#include "proto_convert.h"
#include "sovereign/audit_log.h"
#include "sovereign/file_modes.h"
#include "sovereign/v1/audit.grpc.pb.h"

namespace sovereign::cli {
namespace {

struct AuditArgs {
  int64_t job_id = -1;
  std::string user, account, dataset, region, partition, verdict, since, until, kind;
  std::string register_version;
  int limit = 50;
  std::string page_token;
  std::string decision_id;
  int64_t count = 0;  // watch: stop after this many records (0 = until interrupted)
  int64_t after_seq = 0;
  int64_t first = 0, last = 0;
  std::string output;
  std::string db, public_key;
};

// --kind's names, as `audit export` spells them after RECORD_KIND_, in lower case.
constexpr std::pair<const char*, v1::RecordKind> kKinds[] = {
    {"decision", v1::RECORD_KIND_DECISION},
    {"attestation", v1::RECORD_KIND_ATTESTATION},
    {"outcome", v1::RECORD_KIND_OUTCOME},
    {"node_weight", v1::RECORD_KIND_NODE_WEIGHT}};

absl::Status BuildFilter(const AuditArgs& a, v1::DecisionFilter* f) {
  if (a.job_id >= 0) {
    f->set_job_id(a.job_id);
  }
  f->set_decision_id(a.decision_id);
  f->set_user(a.user);
  f->set_account(a.account);
  f->set_dataset(a.dataset);
  f->set_region(a.region);
  f->set_partition(a.partition);
  f->set_verdict(a.verdict);
  f->set_register_version(a.register_version);
  if (!a.kind.empty()) {
    const auto* it = std::find_if(std::begin(kKinds), std::end(kKinds),
                                  [&](const auto& k) { return a.kind == k.first; });
    if (it == std::end(kKinds)) {
      std::vector<std::string> known;
      for (const auto& k : kKinds) {
        known.push_back(k.first);
      }
      return absl::InvalidArgumentError(
          absl::StrCat("--kind \"", a.kind,
                       "\" is not a kind of record (known: ", absl::StrJoin(known, ", "), ")"));
    }
    f->set_kind(it->second);
  }
  const absl::Time now = absl::Now();
  if (!a.since.empty()) {
    if (absl::Status s = ParseWhen(a.since, "--since", now, f->mutable_since()); !s.ok()) {
      return s;
    }
  }
  if (!a.until.empty()) {
    if (absl::Status s = ParseWhen(a.until, "--until", now, f->mutable_until()); !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

std::vector<std::string> Row(const v1::AuditRecord& r) {
  return {absl::StrCat(r.seq()),
          FormatTime(r.time().seconds()),
          r.decision_id(),
          r.user(),
          r.account(),
          absl::StrJoin(r.datasets(), ","),
          r.verdict(),
          r.partition(),
          r.region(),
          r.job_id() == 0 ? "" : absl::StrCat(r.job_id()),
          r.register_version().substr(0, 12)};
}

const std::vector<std::string>& Header() {
  static const std::vector<std::string> kHeader = {
      "SEQ",       "TIME",   "DECISION", "USER", "ACCOUNT", "DATASETS", "VERDICT",
      "PARTITION", "REGION", "JOB",      "REGISTER"};
  return kHeader;
}

// The server answers at most this many records per call (audit.proto).
constexpr int kServerPageSize = 1000;

int List(const GlobalOptions& g, const AuditArgs& a) {
  v1::ListDecisionsRequest req;
  if (absl::Status s = BuildFilter(a, req.mutable_filter()); !s.ok()) {
    return ReportError(s);
  }
  if (a.limit <= 0) {
    return ReportError(
        absl::InvalidArgumentError(absl::StrCat("--limit ", a.limit, " is not a positive number")));
  }
  // --limit past the server's page size: as many pages as it takes.
  v1::ListDecisionsResponse all;
  std::string token = a.page_token;
  while (all.records_size() < a.limit) {
    req.set_page_size(std::min(a.limit - all.records_size(), kServerPageSize));
    req.set_page_token(token);
    v1::ListDecisionsResponse resp;
    if (int rc =
            CallDaemon<v1::AuditService>(g, &v1::AuditService::Stub::ListDecisions, req, &resp);
        rc != kExitOk) {
      return rc;
    }
    for (v1::AuditRecord& r : *resp.mutable_records()) {
      all.add_records()->Swap(&r);
    }
    token = resp.next_page_token();
    if (token.empty() || resp.records().empty()) {
      break;
    }
  }
  all.set_next_page_token(token);
  return PrintAnswer(g, all, PrintJson, [](const v1::ListDecisionsResponse& all) {
    std::vector<std::vector<std::string>> rows;
    for (const v1::AuditRecord& r : all.records()) {
      rows.push_back(Row(r));
    }
    std::cout << FormatTable(Header(), rows);
    if (!all.next_page_token().empty()) {
      std::cout << "more: --page-token " << all.next_page_token() << "\n";
    }
  });
}

// The nodes an attestation names ("fr-a100-1,fr-a100-2"), from its body; its violation, if any.
std::string AttestedNodes(const v1::AuditRecord& a) {
  nlohmann::json body = nlohmann::json::parse(a.body_json(), nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> nodes;
  if (body.is_object() && body.contains("nodes") && body["nodes"].is_array()) {
    for (const nlohmann::json& n : body["nodes"]) {
      if (n.is_object() && n.contains("node") && n["node"].is_string()) {
        nodes.push_back(n["node"].get<std::string>());
      }
    }
  }
  std::string text = nodes.empty() ? "?" : absl::StrJoin(nodes, ",");
  if (body.is_object() && body.contains("violation") && body["violation"].is_string()) {
    absl::StrAppend(&text, " - ", body["violation"].get<std::string>());
  }
  return text;
}

// What an outcome says, from its verdict and body: "job 12 ended COMPLETED, exit code 0, at
// ...", "job 13 cancelled before it ran (CANCELLED)", "not_created: <why>".
std::string OutcomeText(const v1::AuditRecord& o) {
  nlohmann::json body = nlohmann::json::parse(o.body_json(), nullptr, /*allow_exceptions=*/false);
  auto text = [&](const char* key) {
    return body.is_object() && body.contains(key) && body[key].is_string()
               ? body[key].get<std::string>()
               : std::string();
  };
  std::string job = o.job_id() == 0 ? "" : absl::StrCat("job ", o.job_id(), " ");
  if (o.verdict() == "ended") {
    std::string out = absl::StrCat(job, "ended ", text("state"));
    if (body.is_object() && body.contains("exit_code") && body["exit_code"].is_number()) {
      absl::StrAppend(&out, ", exit code ", body["exit_code"].get<int64_t>());
    }
    if (!text("end_time").empty()) {
      absl::StrAppend(&out, ", at ", text("end_time"));
    }
    return out;
  }
  if (o.verdict() == "cancelled") {
    return absl::StrCat(job, "cancelled before it ran (", text("state"), ")");
  }
  if (o.verdict() == "never_ran") {
    return absl::StrCat(job, "never ran: slurmctld ended it ", text("state"));
  }
  return absl::StrCat(o.verdict(), ": ", text("why"));
}

// audit show without --json: the record, field by field, then where the job ran and how it
// ended.
void PrintDecisionTable(const v1::GetDecisionResponse& resp) {
  const v1::AuditRecord& r = resp.record();
  std::cout << "decision:   " << r.decision_id() << " (seq " << r.seq() << ")\n"
            << "time:       " << FormatTime(r.time().seconds()) << "\n"
            << "caller:     " << r.caller() << "\n"
            << "user:       " << r.user() << "\n"
            << "account:    " << r.account() << "\n"
            << "datasets:   " << absl::StrJoin(r.datasets(), ",") << "\n"
            << "verdict:    " << r.verdict() << "\n"
            << "partition:  " << r.partition() << "\n"
            << "region:     " << r.region() << "\n"
            << "register:   " << r.register_version() << "\n"
            << "hash:       " << r.hash() << "\n"
            << "body:       " << r.body_json() << "\n";
  if (resp.attestations().empty() && resp.outcomes().empty()) {
    std::cout << "ran on:     (no attestation yet: the job has not started, or was never "
                 "submitted)\n";
  }
  for (const v1::AuditRecord& a : resp.attestations()) {
    std::cout << "ran on:     " << AttestedNodes(a) << " (job " << a.job_id() << ", "
              << a.verdict() << ", seq " << a.seq() << ", " << FormatTime(a.time().seconds())
              << ")\n";
  }
  for (const v1::AuditRecord& o : resp.outcomes()) {
    std::cout << "outcome:    " << OutcomeText(o) << " (seq " << o.seq() << ", "
              << FormatTime(o.time().seconds()) << ")\n";
  }
}

int Show(const GlobalOptions& g, const AuditArgs& a) {
  v1::GetDecisionRequest req;
  req.set_decision_id(a.decision_id);
  return CallAndPrint<v1::AuditService>(g, &v1::AuditService::Stub::GetDecision, req, PrintJson,
                                        PrintDecisionTable);
}

int Watch(const GlobalOptions& g, const AuditArgs& a) {
  v1::WatchDecisionsRequest req;
  if (absl::Status s = BuildFilter(a, req.mutable_filter()); !s.ok()) {
    return ReportError(s);
  }
  req.set_after_seq(a.after_seq);
  auto channel = ConnectToDaemon(g.socket);
  if (!channel.ok()) {
    return ReportError(channel.status());
  }
  auto stub = v1::AuditService::NewStub(*channel);
  grpc::ClientContext context;  // no deadline: a watch lasts until stopped
  auto reader = stub->WatchDecisions(&context, req);
  // Tell whoever waits on our output that the watch is in place.
  reader->WaitForInitialMetadata();
  if (!g.json) {
    std::cout << FormatTable(Header(), {}) << std::flush;
  }
  v1::WatchDecisionsResponse resp;
  int64_t seen = 0;
  while (reader->Read(&resp)) {
    if (g.json) {
      std::cout << ToJson(resp.record()) << "\n" << std::flush;
    } else {
      std::string table = FormatTable(Header(), {Row(resp.record())});
      std::cout << table.substr(table.find('\n') + 1) << std::flush;
    }
    if (a.count > 0 && ++seen >= a.count) {
      context.TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  if (!s.ok() && !(a.count > 0 && seen >= a.count)) {
    return ReportError(s, g.socket);
  }
  return kExitOk;
}

// A verification, of the daemon's log or of a copy (`what`); a broken chain is the answer "no".
int PrintVerify(const GlobalOptions& g, const v1::VerifyResponse& r, const std::string& what) {
  PrintAnswer(g, r, PrintJson, [&what](const v1::VerifyResponse& r) {
    if (r.ok()) {
      std::cout << what << " verified: " << r.records_checked() << " records, "
                << r.checkpoints_checked() << " signed checkpoints, chain intact\n";
    } else {
      std::cout << what << " FAILED verification at record " << r.first_bad_seq() << ": "
                << r.problem() << "\n";
    }
  });
  return r.ok() ? kExitOk : kExitNo;
}

int Verify(const GlobalOptions& g, const AuditArgs& a) {
  if (!a.db.empty() || !a.public_key.empty()) {
    if (a.db.empty() || a.public_key.empty()) {
      std::cerr << "sovereignctl: offline verification needs both --db and --public-key\n";
      return kExitUsage;
    }
    std::ifstream in(a.public_key);
    if (!in) {
      std::cerr << "sovereignctl: cannot read " << a.public_key << "\n";
      return kExitUsage;
    }
    std::stringstream pem;
    pem << in.rdbuf();
    absl::StatusOr<audit::VerifyReport> report = audit::VerifyDatabaseCopy(a.db, pem.str());
    if (!report.ok()) {
      // Nothing to verify: not a failed verification.
      std::cerr << "sovereignctl: " << report.status().message() << "\n";
      return kExitUsage;
    }
    v1::VerifyResponse r;
    service::ToProto(*report, &r);
    return PrintVerify(g, r, a.db);
  }
  v1::VerifyResponse resp;
  // No deadline: a long log takes a while.
  if (int rc = CallDaemon<v1::AuditService>(g, &v1::AuditService::Stub::Verify,
                                            v1::VerifyRequest(), &resp, CallDeadline::kNone);
      rc != kExitOk) {
    return rc;
  }
  return PrintVerify(g, resp, "audit log");
}

int Export(const GlobalOptions& g, const AuditArgs& a) {
  auto channel = ConnectToDaemon(g.socket);
  if (!channel.ok()) {
    return ReportError(channel.status());
  }
  std::ofstream file;
  std::ostream* out = &std::cout;
  if (!a.output.empty() && a.output != "-") {
    // Every user's decisions: a new file is readable by the auditor alone, whatever the umask
    // (an existing one keeps the mode its owner gave it).
    if (const int fd = CreateFileWithMode(a.output, O_WRONLY | O_CLOEXEC, kPrivateFileMode);
        fd >= 0) {
      close(fd);
    }
    file.open(a.output, std::ios::out | std::ios::trunc);
    if (!file) {
      std::cerr << "sovereignctl: cannot write " << a.output << "\n";
      return kExitUsage;
    }
    out = &file;
  }
  auto stub = v1::AuditService::NewStub(*channel);
  v1::ExportRequest req;
  req.set_first_seq(a.first);
  req.set_last_seq(a.last);
  grpc::ClientContext context;
  auto reader = stub->Export(&context, req);
  v1::ExportResponse resp;
  while (reader->Read(&resp)) {
    *out << resp.lines();
  }
  grpc::Status s = reader->Finish();
  if (!s.ok()) {
    return ReportError(s, g.socket);
  }
  out->flush();
  if (!*out) {
    std::cerr << "sovereignctl: cannot write " << a.output << "\n";
    return kExitUsage;
  }
  return kExitOk;
}

void AddFilterOptions(CLI::App* cmd, AuditArgs* a) {
  cmd->add_option("--job-id", a->job_id, "Slurm job id");
  cmd->add_option("--decision", a->decision_id, "a decision and its attestations");
  cmd->add_option("--user", a->user, "Unix user");
  cmd->add_option("--account", a->account, "Slurm account");
  cmd->add_option("--dataset", a->dataset, "dataset label");
  cmd->add_option("--region", a->region, "region placed in");
  cmd->add_option("--partition", a->partition, "partition placed in");
  cmd->add_option("--verdict", a->verdict,
                  "place, reject, at_risk (attestations: ok, violation; outcomes: ended, "
                  "cancelled, never_ran, not_created, unknown; node weights: set, changed, "
                  "reapplied)");
  cmd->add_option("--kind", a->kind, "decision, attestation, outcome, node_weight");
  cmd->add_option("--register", a->register_version,
                  "register version the record names (SHA-256 or a prefix of 4+ digits)");
  cmd->add_option("--since", a->since,
                  "from this time (RFC 3339 or YYYY-MM-DD, UTC) or this long ago (1h, 7d)");
  cmd->add_option("--until", a->until, "before this time, or this long ago");
}

}  // namespace

void AddAuditCommands(CLI::App& audit_cmd, GlobalOptions& global, int* exit_code) {
  auto args = std::make_shared<AuditArgs>();

  CLI::App* list = audit_cmd.add_subcommand("list", "decisions, newest first");
  AddFilterOptions(list, args.get());
  list->add_option("--limit", args->limit, "at most this many (pages past 1000 are fetched)")
      ->capture_default_str();
  list->add_option("--page-token", args->page_token, "continue where the last page ended");
  list->callback([&global, args, exit_code] { *exit_code = List(global, *args); });

  CLI::App* show = audit_cmd.add_subcommand("show", "one decision with its full record");
  show->add_option("decision", args->decision_id, "decision id")->required();
  show->callback([&global, args, exit_code] { *exit_code = Show(global, *args); });

  CLI::App* watch = audit_cmd.add_subcommand("watch", "print decisions as they are recorded");
  AddFilterOptions(watch, args.get());
  watch->add_option("--count", args->count, "stop after this many records");
  watch->add_option("--after-seq", args->after_seq, "start after this record (resume)");
  watch->callback([&global, args, exit_code] { *exit_code = Watch(global, *args); });

  CLI::App* verify = audit_cmd.add_subcommand(
      "verify", "recompute the hash chain and check the signed checkpoints");
  verify->add_option("--db", args->db, "verify this database copy offline");
  verify->add_option("--public-key", args->public_key, "the log's public key (PEM), offline");
  verify->callback([&global, args, exit_code] { *exit_code = Verify(global, *args); });

  CLI::App* export_cmd = audit_cmd.add_subcommand("export", "records as JSON lines");
  export_cmd->add_option("--first", args->first, "first seq (default 1)");
  export_cmd->add_option("--last", args->last, "last seq (default: the head)");
  export_cmd->add_option("-o,--output", args->output, "file (default: stdout)");
  export_cmd->callback([&global, args, exit_code] { *exit_code = Export(global, *args); });
}

}  // namespace sovereign::cli
