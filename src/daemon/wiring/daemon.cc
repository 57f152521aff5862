#include "wiring/daemon.h"

#include <algorithm>
#include <filesystem>

#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/resource_quota.h>
#include <grpcpp/security/server_credentials.h>
#include <grpcpp/server_builder.h>
#include <spdlog/spdlog.h>

#include "absl/strings/str_cat.h"
#include "sovereign/file_io.h"
#include "sovereign/file_modes.h"
#include "serving/admin_service.h"
#include "serving/audit_service.h"
#include "serving/placement_service.h"
#include "wiring/plugin_agreement.h"
#include "slurm_loops/reconciler.h"
#include "serving/register_service.h"
#include "slurm_loops/snapshot_publisher.h"
#include "slurm_loops/spool_ingester.h"
#include "slurm_loops/weight_tuner.h"
#include "power/power_source.h"

namespace sovereign::service {
namespace {

// How far back the measured jobs are read at start-up (the learnt GPU power).
constexpr absl::Duration kLearnedEnergyWindow = absl::Hours(24 * 30);

// The folder of a file sovereignd writes: created with kFolderMode whatever the umask; one that
// others may write is tightened (file_modes.h), since they could replace the file by a rename.
absl::Status MakeParentDirectory(const std::string& path) {
  ModeNotes notes;
  absl::Status s =
      PrepareFolder(std::filesystem::path(path).parent_path().string(), kFolderMode, &notes);
  for (const std::string& note : notes) {
    spdlog::warn("{}", note);
  }
  return s;
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> TlsCredentials(
    const TcpListenerConfig& tcp) {
  grpc::SslServerCredentialsOptions options(
      GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  absl::StatusOr<std::string> ca = ReadFileToString(tcp.client_ca);
  absl::StatusOr<std::string> cert = ReadFileToString(tcp.certificate);
  absl::StatusOr<std::string> key = ReadFileToString(tcp.key);
  for (const auto* s : {&ca, &cert, &key}) {
    if (!s->ok()) {
      return s->status();
    }
  }
  options.pem_root_certs = *ca;
  options.pem_key_cert_pairs.push_back({*key, *cert});
  return grpc::SslServerCredentials(options);
}

}  // namespace

Daemon::Daemon(DaemonConfig config) : config_(std::move(config)) {}

Daemon::~Daemon() { Shutdown(); }

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Start(const DaemonConfig& config) {
  std::unique_ptr<Daemon> d(new Daemon(config));
  const DaemonConfig& c = d->config_;

  // Bind first: a second daemon on the same socket stops here, before touching the stores.
  if (absl::Status s = MakeParentDirectory(c.socket_path); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<UnixListener>> listener =
      UnixListener::Bind(c.socket_path, c.socket_mode);
  if (!listener.ok()) {
    return listener.status();
  }
  d->listener_ = *std::move(listener);

  if (absl::Status s = MakeParentDirectory(c.register_history_path); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<RegisterStore>> store =
      RegisterStore::Open(c.register_history_path);
  if (!store.ok()) {
    return store.status();
  }
  d->store_ = *std::move(store);
  RegisterManagerOptions rm;
  rm.register_path = c.register_path;
  rm.cluster_path = c.cluster_snapshot_path;
  rm.write_register_file = c.register_write_back;
  absl::StatusOr<std::unique_ptr<RegisterManager>> registers =
      RegisterManager::Start(rm, d->store_.get());
  if (!registers.ok()) {
    return registers.status();
  }
  d->registers_ = *std::move(registers);

  if (c.audit_enabled) {
    if (absl::Status s = MakeParentDirectory(c.audit.path); !s.ok()) {
      return s;
    }
    absl::StatusOr<std::unique_ptr<audit::AuditLog>> log = audit::AuditLog::Open(c.audit);
    if (!log.ok()) {
      return log.status();
    }
    d->log_ = *std::move(log);
  } else {
    spdlog::warn(
        "the audit log is disabled (audit.enabled: false): decisions are not "
        "recorded; use this only to benchmark");
  }

  d->auth_ = std::make_unique<Authenticator>(c.roles);
  d->ctx_.auth = d->auth_.get();
  d->limiter_ = std::make_unique<CallLimiter>(c.user_limits);
  d->ctx_.limiter = d->limiter_.get();
  d->ctx_.registers = d->registers_.get();
  d->ctx_.log = d->log_.get();
  d->ctx_.audit_sync = c.audit.sync == audit::Sync::kFull ? "full" : "normal";
  d->ctx_.started_at = absl::Now();
  d->placement_ = std::make_unique<PlacementServiceImpl>(&d->ctx_);
  d->audit_ = std::make_unique<AuditServiceImpl>(&d->ctx_);
  d->register_ = std::make_unique<RegisterServiceImpl>(&d->ctx_);
  d->admin_ = std::make_unique<AdminServiceImpl>(&d->ctx_);

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  // Idle threads waiting for calls. The sync server starts a thread whenever fewer than
  // min_pollers wait; with gRPC's default of 1 that is a thread start on the path of nearly
  // every call of a serial client (a slurmctld-like caller), which shows in its latency tail.
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, c.min_pollers);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS,
                              std::max(c.min_pollers, c.max_pollers));
  builder.RegisterService(d->placement_.get());
  builder.RegisterService(d->audit_.get());
  builder.RegisterService(d->register_.get());
  builder.RegisterService(d->admin_.get());
  if (c.max_threads > 0) {
    grpc::ResourceQuota quota("sovereignd");
    quota.SetMaxThreads(c.max_threads);
    builder.SetResourceQuota(quota);
  }
  if (!c.tcp.listen.empty()) {
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = TlsCredentials(c.tcp);
    if (!creds.ok()) {
      return creds.status();
    }
    builder.AddListeningPort(c.tcp.listen, *creds, &d->tcp_port_);
  }
  d->server_ = builder.BuildAndStart();
  if (d->server_ == nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "cannot start the gRPC server",
        c.tcp.listen.empty() ? "" : absl::StrCat(" (listening on ", c.tcp.listen, ")")));
  }
  if (!c.tcp.listen.empty() && d->tcp_port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", c.tcp.listen));
  }
  if (!c.slurm.slurm_conf.empty()) {
    if (absl::Status s = d->StartSlurm(); !s.ok()) {
      return s;
    }
  }
  d->server_->GetHealthCheckService()->SetServingStatus(true);
  d->listener_->Start(d->server_.get(), d->auth_.get());
  spdlog::info("sovereignd serving on {}{}", c.socket_path,
               c.tcp.listen.empty()
                   ? ""
                   : absl::StrCat(" and ", c.tcp.listen, " (TCP port ", d->tcp_port_, ", mTLS)"));
  return d;
}

absl::Status Daemon::Reload() {
  absl::StatusOr<ApplyResult> r = registers_->Reload();
  if (!r.ok()) {
    spdlog::error("register reload refused, the register in force stays ({} failed reloads):\n{}",
                  registers_->reload_failures(), std::string(r.status().message()));
    return r.status();
  }
  if (!r->changed) {
    spdlog::info("register reload: {} unchanged", r->revision.version.substr(0, 12));
  } else if (impact_ != nullptr) {
    CheckJobs(*registers_->Current()->reg, /*dry_run=*/false).IgnoreError();  // logged inside
  }
  return absl::OkStatus();
}

absl::StatusOr<ImpactSummary> Daemon::CheckJobs(const Register& reg, bool dry_run) {
  if (impact_ == nullptr) {
    return absl::FailedPreconditionError("sovereignd has no Slurm side: no jobs to check");
  }
  // The cluster as the plugin sees it (the published snapshot), bound to `reg`.
  ClusterSnapshot cluster;
  if (const snapshot::SnapshotWatcher* w = ctx_.snapshot.load(std::memory_order_acquire)) {
    if (std::shared_ptr<const snapshot::LoadedSnapshot> s = w->Current()) {
      cluster = s->cluster;
    }
  }
  absl::StatusOr<ImpactSummary> s =
      impact_->Run(reg, ClusterView::Bind(cluster, reg), dry_run, absl::Now());
  if (!s.ok()) {
    spdlog::error("register {}: cannot check the jobs slurmctld holds: {}", reg.short_version(),
                  std::string(s.status().message()));
  } else if (!dry_run) {
    spdlog::info("register {}: {} pending jobs checked, {} moved, {} held; {} running at risk",
                 reg.short_version(), s->pending_checked, s->moved, s->held,
                 s->running_at_risk);
  }
  return s;
}

std::shared_ptr<const Register> Daemon::RegisterInForceAt(absl::Time t) {
  absl::StatusOr<std::optional<std::string>> version = store_->VersionInForceAt(t);
  if (version.ok() && version->has_value()) {
    if (std::shared_ptr<const Register> reg = RegisterByVersion(**version)) {
      return reg;
    }
  }
  // Before the first recorded revision (or the store cannot say): the register in force now.
  std::shared_ptr<const ActiveRegister> active = registers_->Current();
  return active == nullptr ? nullptr : active->reg;
}

std::shared_ptr<const Register> Daemon::RegisterByVersion(const std::string& version) {
  return versions_.Get(version, [&]() -> std::shared_ptr<const Register> {
    std::shared_ptr<const ActiveRegister> active = registers_->Current();
    if (active != nullptr && active->reg->version() == version) {
      return active->reg;
    }
    absl::StatusOr<StoredRegister> stored = store_->FindVersion(version);
    if (!stored.ok()) {
      return nullptr;
    }
    absl::StatusOr<std::shared_ptr<const Register>> reg =
        Register::Parse(stored->yaml, stored->source);
    return reg.ok() ? *reg : nullptr;
  });
}

absl::Status Daemon::StartSlurm() {
  const SlurmConfig& sc = config_.slurm;
  // The plugin's own config must name the same snapshot, spool and staleness: say so if not.
  for (const std::string& warning : PluginConfigWarnings(sc)) {
    spdlog::warn("{}", warning);
  }
  if (absl::Status s = slurm::InitSlurm(sc.slurm_conf); !s.ok()) {
    return s;
  }
  if (absl::Status s = MakeParentDirectory(sc.snapshot_path); !s.ok()) {
    return s;
  }
  // Live GPU power first: the first snapshot and the first weight round use its first scrape.
  StartPower();
  slurm::PublisherOptions po;
  po.path = sc.snapshot_path;
  po.interval = std::chrono::milliseconds(sc.publish_interval_ms);
  po.carbon_series_dir = sc.carbon_series_dir;
  po.carbon_basis = sc.carbon_basis;
  if (power_ != nullptr) {
    po.power_readings = [this] { return power_->Readings(); };
    po.cluster_read = [this](const ClusterSnapshot& cluster) {
      std::map<std::string, int> allocated;
      for (const NodeStatus& node : cluster.nodes) {
        allocated[node.name] = node.gpus_allocated;
      }
      power_->SetAllocatedGpus(std::move(allocated));
    };
  }
  if (log_ != nullptr) {
    // What the last month's finished jobs measured (with or without a power source now).
    absl::StatusOr<int64_t> learned = learned_.Load(*log_, absl::Now() - kLearnedEnergyWindow);
    if (learned.ok()) {
      spdlog::info("learnt GPU power from {} measured jobs of the last {} days", *learned,
                   absl::ToInt64Hours(kLearnedEnergyWindow) / 24);
    } else {
      spdlog::warn("cannot read the measured jobs from the audit log: {}",
                   std::string(learned.status().message()));
    }
    po.learned_power = [this] { return learned_.Partitions(); };
  }
  publisher_ = std::make_unique<slurm::SnapshotPublisher>(po, [this] {
    slurm::PublishedRegister out;
    std::shared_ptr<const ActiveRegister> active = registers_->Current();
    if (active == nullptr) {
      return out;
    }
    absl::StatusOr<StoredRegister> stored = store_->FindVersion(active->reg->version());
    if (stored.ok()) {
      out = {active->reg, stored->yaml, stored->source};
    }
    return out;
  });
  // The first snapshot before anything else: the plugin refuses labelled jobs until it has one.
  if (absl::Status s = publisher_->Publish(); !s.ok()) {
    return s;
  }
  if (!publisher_->last_cluster_error().ok()) {
    spdlog::warn("snapshot published without a cluster view: {}",
                 std::string(publisher_->last_cluster_error().message()));
  }
  publisher_->Start();
  spdlog::info("publishing the snapshot to {} every {} ms", sc.snapshot_path,
               sc.publish_interval_ms);
  snapshot::WatcherOptions wo;
  wo.path = sc.snapshot_path;
  snapshot_watcher_ = std::make_unique<snapshot::SnapshotWatcher>(wo);
  ctx_.max_cluster_age = sc.max_cluster_age;
  ctx_.snapshot.store(snapshot_watcher_.get(), std::memory_order_release);
  ctx_.read_inventory = [] { return slurm::ReadSlurmInventory(); };
  ctx_.slurm_status = [this] { return SlurmStatus(); };
  if (log_ != nullptr) {
    IngesterOptions io;
    io.spool_dir = sc.spool_dir;
    io.interval = std::chrono::milliseconds(sc.ingest_interval_ms);
    ingester_ = std::make_unique<SpoolIngester>(
        io, log_.get(), [this](const std::string& v) { return RegisterByVersion(v); });
    ingester_->Start();
    // sovereign-prolog's refused starts: their own folder, one writer at a time.
    io.spool_dir = sc.spool_dir + "/prolog";
    prolog_ingester_ = std::make_unique<SpoolIngester>(
        io, log_.get(), [this](const std::string& v) { return RegisterByVersion(v); });
    prolog_ingester_->Start();
    ReconcilerOptions ro;
    ro.interval = std::chrono::milliseconds(sc.reconcile_interval_ms);
    ro.rederive_after = absl::Seconds(sc.rederive_after_s);
    absl::StatusOr<PluginSettings> plugin_conf = ReadPluginSettings(PluginConfPath(sc));
    if (plugin_conf.ok()) {
      ro.site_feature_prefix = plugin_conf->site_feature_prefix;
    }
    if (power_ != nullptr) {
      ro.node_energy = [this](const std::string& node, absl::Time from,
                              absl::Time to) -> std::optional<NodeEnergy> {
        std::optional<power::HostEnergy> e = power_->EnergyOver(node, from, to);
        if (!e.has_value()) {
          return std::nullopt;
        }
        return NodeEnergy{e->joules_per_allocated_gpu, e->covered, e->newest};
      };
      ro.energy_patience = 2 * config_.power.interval + absl::Seconds(5);
      ro.measured = [this](const std::string& partition, const MeasuredJobEnergy& e,
                           absl::Time ended) {
        learned_.Add(partition, e.gpu_kwh, e.gpu_hours, ended);
      };
    }
    reconciler_ = std::make_unique<Reconciler>(ro, log_.get(), [this](absl::Time t) {
      return RegisterInForceAt(t);
    });
    reconciler_->Start();
    ImpactOptions impact_options;
    impact_options.site_feature_prefix = ro.site_feature_prefix;
    impact_options.at_risk = *ParseAtRiskAction(sc.running_at_risk);  // validated with the config
    impact_ = std::make_unique<RegisterImpact>(impact_options, log_.get());
    ctx_.check_jobs = [this](const Register& reg, bool dry_run) { return CheckJobs(reg, dry_run); };
    spdlog::info("ingesting the plugin's spool {}; reconciling jobs every {} ms", sc.spool_dir,
                 sc.reconcile_interval_ms);
  }
  StartWeights();
  return absl::OkStatus();
}

void Daemon::StartPower() {
  const power::PowerOptions& pc = config_.power;
  if (power_ == nullptr && !pc.prometheus_url.empty()) {
    power::PowerOptions po = pc;
    po.timeout = std::min(pc.interval, absl::Seconds(5));
    power_ = std::make_unique<power::PowerSource>(po);
    power_->Start();
    spdlog::info("reading GPU power ({}) from {} every {}", pc.metric, pc.prometheus_url,
                 absl::FormatDuration(pc.interval));
  }
}

void Daemon::StartWeights() {
  StartPower();  // without Slurm (a snapshot file), not started before
  const WeightsConfig& wc = config_.weights;
  if (!wc.enabled) {
    return;
  }
  WeightTunerOptions wo;
  wo.interval = absl::ToChronoMilliseconds(wc.interval);
  wo.policy.min_interval = wc.min_interval;
  wo.policy.hysteresis = wc.hysteresis;
  if (power_ != nullptr) {
    wo.readings = [this] { return power_->Readings(); };
  }
  wo.log = log_.get();  // null when the audit log is disabled: weights are then only logged
  weights_ = std::make_unique<WeightTuner>(wo, [this]() -> std::shared_ptr<const Register> {
    std::shared_ptr<const ActiveRegister> active = registers_->Current();
    return active == nullptr ? nullptr : active->reg;
  });
  weights_->Start();
  spdlog::info("setting node weights from facility watts per GPU ({}) every {}",
               power_ != nullptr ? "measured where fresh, else the register's"
                                 : "the register's figures",
               absl::FormatDuration(wc.interval));
}

SlurmSideStatus Daemon::SlurmStatus() {
  std::lock_guard<std::mutex> lock(slurm_mu_);
  SlurmSideStatus out;
  if (publisher_ != nullptr) {
    slurm::SnapshotPublisher::Stats p = publisher_->stats();
    out.snapshot_published_at = p.last_published;
    out.snapshot_write_failures = p.write_failures;
    out.snapshot_last_write_error = p.last_write_error;
    out.carbon_series_dir = config_.slurm.carbon_series_dir;
    out.carbon_series = p.carbon_series;
    out.carbon_error = p.carbon_error;
    out.cluster_read_failures = p.cluster_read_failures;
    out.cluster_read_error = p.cluster_read_error;
  }
  for (SpoolIngester* i : {ingester_.get(), prolog_ingester_.get()}) {
    if (i == nullptr) {
      continue;
    }
    out.spool_backlog_bytes += i->BacklogBytes();
    out.spool_ingested += i->ingested();
    out.spool_ingest_failures += i->failures();
    out.spool_torn += i->torn_records();
    out.spool_undecodable += i->undecodable();
    if (std::string e = i->last_error(); !e.empty()) {
      out.spool_ingest_error = e;
    }
  }
  if (reconciler_ != nullptr) {
    out.reconcile_rounds = reconciler_->rounds();
    out.reconcile_failures = reconciler_->failures();
    const Reconciler::FullReads reads = reconciler_->full_reads();
    out.reconcile_full_reads = reads.count;
    out.reconcile_last_full_read_jobs = reads.last_jobs;
    out.reconcile_last_full_read_took = reads.last_took;
    const Reconciler::Kept kept = reconciler_->kept();
    out.reconcile_jobs_followed = static_cast<int64_t>(kept.jobs);
    out.reconcile_placements_awaiting = static_cast<int64_t>(kept.awaiting);
    out.reconcile_seen_ahead = static_cast<int64_t>(kept.seen_ahead);
    out.reconcile_error = reconciler_->last_error();
  }
  if (weights_ != nullptr) {
    WeightTuner::Stats w = weights_->stats();
    out.weights_enabled = true;
    out.weight_changes = w.changes;
    out.weight_reapplied = w.reapplied;
    out.weight_set_failures = w.set_failures;
    out.weight_record_failures = w.record_failures;
    out.weight_error = w.error;
    for (const WeightTuner::NodeView& n : w.nodes) {
      out.node_weights.push_back({n.node, n.weight, n.desired, n.figure.watts_per_gpu,
                                  FigureSourceName(n.figure.source), n.figure.partition,
                                  n.figure.measured_at, n.figure.samples, n.changed_at});
    }
  }
  std::shared_ptr<const ActiveRegister> active = registers_->Current();
  for (const auto& [partition, learned] : learned_.Partitions()) {
    SlurmSideStatus::Learned l;
    l.partition = partition;
    l.jobs = learned.jobs;
    l.gpu_hours = learned.gpu_hours;
    l.measured_watts_per_gpu = learned.watts_per_gpu();
    l.newest = learned.newest;
    const int index = active != nullptr ? active->reg->PartitionIndex(partition) : -1;
    if (index >= 0) {
      l.in_register = true;
      l.min_jobs = active->reg->policy().learned_energy_min_jobs;
      l.register_watts_per_gpu = active->reg->figures(index).gpu_watts;
      std::optional<MeasuredPower> used =
          LearnedPower(learned, l.register_watts_per_gpu, static_cast<int>(l.min_jobs));
      l.watts_per_gpu = used.has_value() ? used->watts_per_gpu : 0;
    }
    out.learned_power.push_back(l);
  }
  if (power_ != nullptr) {
    power::PowerSource::Stats p = power_->stats();
    out.power_url = p.url;
    out.power_scrapes = p.scrapes;
    out.power_failures = p.failures;
    out.power_error = p.error;
    out.power_scraped_at = p.last_success;
    out.power_hosts = p.hosts;
  }
  return out;
}

void Daemon::Shutdown() {
  std::lock_guard<std::mutex> lock(shutdown_mu_);
  if (shut_down_) {
    return;
  }
  shut_down_ = true;
  // The Slurm loops first: they write to the log, which closes last.
  {
    std::lock_guard<std::mutex> slurm_lock(slurm_mu_);  // GetStatus reads them
    weights_.reset();
    power_.reset();
    reconciler_.reset();
    publisher_.reset();
    if (ingester_ != nullptr) {
      ingester_->IngestOnce().IgnoreError();  // what the plugin spooled so far
      ingester_.reset();
    }
    if (prolog_ingester_ != nullptr) {
      prolog_ingester_->IngestOnce().IgnoreError();
      prolog_ingester_.reset();
    }
  }
  ctx_.stopping.store(true);
  if (listener_ != nullptr) {
    listener_->Stop();
  }
  if (server_ != nullptr) {
    server_->GetHealthCheckService()->SetServingStatus(false);
    // Calls in progress finish (a Decide answers only after its record is durable); new calls
    // are refused. Watch streams end within a tick once `stopping` is set.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
    server_->Wait();
  }
  ctx_.snapshot.store(nullptr);
  snapshot_watcher_.reset();
  if (log_ != nullptr) {
    audit::CommitStats stats = log_->GetCommitStats();
    spdlog::info("audit log: {} records appended in {} transactions since start", stats.records,
                 stats.transactions);
  }
  log_.reset();
  spdlog::info("sovereignd stopped");
}

}  // namespace sovereign::service
