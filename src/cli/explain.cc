// sovereignctl explain: where would this job go, and why. Offline (--register, optionally
// --cluster) it decides here with the same core as the Slurm plugin; without --register it
// asks sovereignd (when built in).
#include <iostream>
#include <memory>

#include "nlohmann/json.hpp"
#include "absl/strings/str_cat.h"
#include "cli_common.h"
#include "commands.h"
#include "explain_request.h"
#include "explain_table.h"
#include "sovereign/cluster.h"
#include "sovereign/decision_json.h"

namespace sovereign::cli {
namespace {

constexpr absl::string_view kCommand = "explain";

int ExplainOffline(const ExplainOptions& options, const ExplainJob& job, bool as_json) {
  LoadedRegister loaded = LoadRegisterFile(options.register_path);
  if (loaded.reg == nullptr) {
    PrintError(kCommand, loaded.error);
    return loaded.exit_code;
  }
  const Register& reg = *loaded.reg;
  ClusterSource source;
  ClusterView view = ClusterView::AllUp(reg);
  if (!options.cluster_path.empty()) {
    absl::StatusOr<ClusterSnapshot> snapshot = ClusterSnapshot::Load(options.cluster_path);
    if (!snapshot.ok()) {
      PrintError(kCommand, snapshot.status().message());
      return absl::IsNotFound(snapshot.status()) ? kExitUsage : kExitNo;
    }
    view = ClusterView::Bind(*snapshot, reg);
    source = {options.cluster_path, snapshot->taken_at};
  }
  const Decision decision = Decide(job.request, view, reg, job.now);
  if (as_json) {
    std::cout << nlohmann::json::parse(DecisionJsonText(decision, job.request, reg)).dump(2)
              << "\n";
  } else {
    std::cout << RenderDecision(decision, job.request, reg, source);
  }
  return decision.verdict == Verdict::kPlace ? kExitOk : kExitNo;
}

}  // namespace

void AddExplainCommand(CLI::App& app, GlobalOptions& global, int* exit_code,
                       ExplainOnlineFn online) {
  CLI::App* cmd = app.add_subcommand(
      "explain", "where would this job run, and why (every partition with its energy and CO2)");
  auto o = std::make_shared<ExplainOptions>();
  auto uid = std::make_shared<int64_t>(0);
  cmd->add_option("--register", o->register_path,
                  "decide offline against this register file (YAML)");
  cmd->add_option("--cluster", o->cluster_path,
                  "cluster snapshot (JSON); default: every partition up with all GPUs free");
  cmd->add_option("--user", o->user, "the job's user (default: you)");
  CLI::Option* uid_opt =
      cmd->add_option("--uid", *uid, "the user's uid (default: from this machine)")
          ->check(CLI::Range(int64_t{0}, int64_t{4294967295}));
  cmd->add_option("--group", o->groups,
                  "the user's Unix groups, repeatable or comma-separated (default: from this "
                  "machine)")
      ->delimiter(',');
  cmd->add_option("-A,--account", o->account, "the job's Slurm account");
  cmd->add_option("--dataset", o->datasets,
                  "datasets the job touches, repeatable or comma-separated")
      ->delimiter(',');
  cmd->add_option("--comment", o->comment,
                  "the job's --comment, as given to sbatch: its dataset:NAME[,NAME...] words "
                  "declare datasets too");
  cmd->add_option("--gpus", o->gpus, "GPUs in total (default: none, a CPU-only job)");
  cmd->add_option("--gpu-type", o->gpu_type, "GRES type, e.g. h100 (default: any)");
  cmd->add_option("-N,--nodes", o->nodes, "nodes (default: as many as the GPUs need)");
  cmd->add_option("-t,--time", o->time,
                  "time limit as sbatch -t takes it (120, 2:00:00, 1-00:00:00, MM:SS) or as "
                  "30m, 2h, 1h30m (default: the register's default)");
  cmd->add_option("-p,--partition", o->partitions,
                  "partitions asked for, comma-separated (default: any)")
      ->delimiter(',');
  cmd->add_option("--green-window", o->green_window,
                  "let the start move by up to this long for less CO2, as sbatch "
                  "--green-window takes it (6h, 90m, 1d12h)");
  cmd->add_option("--now", o->now, "decide at this RFC 3339 time (default: now)");
  cmd->callback([o, uid, uid_opt, &global, exit_code, online] {
    if (uid_opt->count() > 0) {
      o->uid = static_cast<uint32_t>(*uid);
    }
    const bool offline = !o->register_path.empty();
    if (!offline && online == nullptr) {
      PrintError(kCommand, "--register is required when sovereignd support is not built in");
      *exit_code = kExitUsage;
      return;
    }
    if (!offline && (!o->cluster_path.empty() || !o->now.empty())) {
      // sovereignd decides with its own cluster view, now.
      PrintError(kCommand, absl::StrCat(o->cluster_path.empty() ? "--now" : "--cluster",
                                        " needs --register (sovereignd uses its own cluster "
                                        "view and clock)"));
      *exit_code = kExitUsage;
      return;
    }
    // sovereignd knows who is asking: the user's identity is looked up here only offline.
    o->look_up_identity = offline;
    absl::StatusOr<ExplainJob> job = BuildExplainJob(*o);
    if (!job.ok()) {
      PrintError(kCommand, job.status().message());
      *exit_code = kExitUsage;
      return;
    }
    *exit_code = offline ? ExplainOffline(*o, *job, global.json) : online(global, job->request);
  });
}

}  // namespace sovereign::cli
