#include "serving/audit_service.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "records/energy_report.h"
#include "serving/grpc_status.h"
#include "proto_convert.h"

namespace sovereign::service {
namespace {

constexpr int kDefaultPageSize = 100;
constexpr int kMaxPageSize = 1000;
constexpr int64_t kExportBatch = 500;
// An energy report reads at most this many ended jobs: a longer period is asked in parts.
constexpr int64_t kMaxEnergyJobs = 200000;
// A watcher checks for cancellation and shutdown at least this often.
constexpr absl::Duration kWatchTick = absl::Milliseconds(250);

// Every verdict a record can carry (audit_log.h).
constexpr absl::string_view kVerdicts[] = {
    "place",     "reject",      "at_risk", "ok",  "violation", "ended",    "cancelled",
    "never_ran", "not_created", "unknown", "set", "changed",   "reapplied"};

// A filter that can only give an empty answer because it names nothing that exists is a
// mistake to report, not an empty table to show.
absl::Status CheckFilter(const audit::AuditQuery& q, const ServiceContext& ctx) {
  if (!q.verdict.empty() &&
      std::find(std::begin(kVerdicts), std::end(kVerdicts), q.verdict) == std::end(kVerdicts)) {
    return absl::InvalidArgumentError(absl::StrCat("verdict \"", q.verdict,
                                                   "\" is not one a record can have (known: ",
                                                   absl::StrJoin(kVerdicts, ", "), ")"));
  }
  if (!q.register_version.empty() &&
      (q.register_version.size() < 4 || q.register_version.size() > 64 ||
       q.register_version.find_first_not_of("0123456789abcdef") != std::string::npos)) {
    return absl::InvalidArgumentError(
        absl::StrCat("register version \"", q.register_version,
                     "\" is not a SHA-256 in lowercase hex or a prefix of at least 4 digits"));
  }
  if (q.region.empty()) {
    return absl::OkStatus();
  }
  std::vector<std::string> known;
  if (ctx.registers != nullptr) {
    if (std::shared_ptr<const ActiveRegister> active = ctx.registers->Current();
        active != nullptr && active->reg != nullptr) {
      for (const Region& r : active->reg->regions()) {
        known.push_back(r.name);
      }
    }
  }
  if (std::find(known.begin(), known.end(), q.region) != known.end()) {
    return absl::OkStatus();
  }
  // A region an older register had is still a fair question.
  absl::StatusOr<bool> logged = ctx.log->HasRegion(q.region);
  if (!logged.ok()) {
    return logged.status();
  }
  if (*logged) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "region \"", q.region, "\" is neither in the register in force nor in any record (known: ",
      absl::StrJoin(known, ", "), ")"));
}

}  // namespace

absl::StatusOr<audit::AuditQuery> AuditServiceImpl::ScopedQuery(
    const Caller& caller, const v1::DecisionFilter& filter) const {
  audit::AuditQuery query = FromProto(filter);
  if (absl::Status s = CheckFilter(query, *ctx_); !s.ok()) {
    return s;
  }
  if (caller.ReadsEverything()) {
    return query;
  }
  if (caller.transport == Caller::Transport::kTls) {
    return RequireRole(caller, kReaders, "read the audit log");
  }
  if (!query.user.empty() && query.user != caller.user) {
    return absl::PermissionDeniedError(
        absl::StrCat(caller.Describe(), " may read only its own decisions, not those of user \"",
                     query.user, "\" (auditor role needed)"));
  }
  query.user = caller.user;
  return query;
}

grpc::Status AuditServiceImpl::ListDecisions(grpc::ServerContext* context,
                                             const v1::ListDecisionsRequest* request,
                                             v1::ListDecisionsResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kAnyCaller, "read the audit log",
                                /*needs_log=*/true);
  absl::StatusOr<audit::AuditQuery> query = ScopedQuery(*caller, request->filter());
  if (!query.ok()) {
    return ToGrpcStatus(query.status());
  }
  if (request->page_size() < 0) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("page_size ", request->page_size(), " is negative")));
  }
  query->limit =
      request->page_size() == 0 ? kDefaultPageSize : std::min(request->page_size(), kMaxPageSize);
  if (!request->page_token().empty() &&
      (!absl::SimpleAtoi(request->page_token(), &query->before_seq) || query->before_seq <= 0)) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("page_token \"", request->page_token(), "\" is not one this server gave")));
  }
  absl::StatusOr<std::vector<audit::AuditRecord>> records = ctx_->log->List(*query);
  if (!records.ok()) {
    return ToGrpcStatus(records.status());
  }
  for (const audit::AuditRecord& r : *records) {
    ToProto(r, response->add_records());
  }
  if (static_cast<int>(records->size()) == query->limit && records->back().seq > 1) {
    response->set_next_page_token(absl::StrCat(records->back().seq));
  }
  return grpc::Status::OK;
}

grpc::Status AuditServiceImpl::GetDecision(grpc::ServerContext* context,
                                           const v1::GetDecisionRequest* request,
                                           v1::GetDecisionResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kAnyCaller, "read the audit log",
                                /*needs_log=*/true);
  absl::StatusOr<audit::AuditRecord> record = ctx_->log->Get(request->decision_id());
  if (!record.ok()) {
    return ToGrpcStatus(record.status());
  }
  if (!caller->ReadsEverything() && record->user != caller->user) {
    return ToGrpcStatus(absl::PermissionDeniedError(
        absl::StrCat(caller->Describe(), " may read only its own decisions; decision ",
                     request->decision_id(), " is not one of them (auditor role needed)")));
  }
  ToProto(*record, response->mutable_record());
  // The records bound to it, through the index on decision ids.
  audit::AuditQuery bound;
  bound.decision_id = request->decision_id();
  bound.limit = 1000;
  absl::StatusOr<std::vector<audit::AuditRecord>> found = ctx_->log->List(bound);
  if (!found.ok()) {
    return ToGrpcStatus(found.status());
  }
  for (auto it = found->rbegin(); it != found->rend(); ++it) {  // oldest first
    if (it->kind == audit::RecordKind::kAttestation) {
      ToProto(*it, response->add_attestations());
    } else if (it->kind == audit::RecordKind::kOutcome) {
      ToProto(*it, response->add_outcomes());
    }
  }
  return grpc::Status::OK;
}

grpc::Status AuditServiceImpl::WatchDecisions(
    grpc::ServerContext* context, const v1::WatchDecisionsRequest* request,
    grpc::ServerWriter<v1::WatchDecisionsResponse>* writer) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kAnyCaller, "read the audit log",
                                /*needs_log=*/true);
  absl::StatusOr<audit::AuditQuery> query = ScopedQuery(*caller, request->filter());
  if (!query.ok()) {
    return ToGrpcStatus(query.status());
  }
  // A watch holds a server thread while it lasts: a caller without a role has a few at once.
  CallLimiter::StreamSlot slot;
  if (ctx_->limiter != nullptr) {
    if (absl::Status s = ctx_->limiter->OpenStream(*caller, &slot); !s.ok()) {
      return ToGrpcStatus(s);
    }
  }
  int64_t seq = request->after_seq() > 0 ? request->after_seq() : ctx_->log->HeadSeq();
  // Headers now, so that the client knows the watch is in place before the first record.
  writer->SendInitialMetadata();
  while (!context->IsCancelled() && !ctx_->stopping.load()) {
    int64_t head = ctx_->log->WaitForAppend(seq, absl::Now() + kWatchTick);
    while (seq < head && !context->IsCancelled()) {
      int64_t last = std::min(head, seq + kExportBatch);
      absl::StatusOr<std::vector<audit::AuditRecord>> records = ctx_->log->Range(seq + 1, last);
      if (!records.ok()) {
        return ToGrpcStatus(records.status());
      }
      for (const audit::AuditRecord& r : *records) {
        if (!Matches(*query, r)) {
          continue;
        }
        v1::WatchDecisionsResponse out;
        ToProto(r, out.mutable_record());
        if (!writer->Write(out)) {
          return grpc::Status::OK;  // the client went away
        }
      }
      seq = last;
    }
  }
  if (ctx_->stopping.load()) {
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "sovereignd is shutting down");
  }
  return grpc::Status::OK;
}

grpc::Status AuditServiceImpl::GetCheckpoint(grpc::ServerContext* context,
                                             const v1::GetCheckpointRequest* request,
                                             v1::GetCheckpointResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kReaders, "read the audit checkpoint",
                                /*needs_log=*/true);
  std::optional<audit::Checkpoint> checkpoint;
  if (!request->fresh()) {
    absl::StatusOr<std::optional<audit::Checkpoint>> latest = ctx_->log->LatestCheckpoint();
    if (!latest.ok()) {
      return ToGrpcStatus(latest.status());
    }
    checkpoint = *latest;
  }
  if (!checkpoint.has_value()) {
    absl::StatusOr<audit::Checkpoint> made = ctx_->log->MakeCheckpoint();
    if (!made.ok()) {
      return ToGrpcStatus(made.status());
    }
    checkpoint = *made;
  }
  ToProto(*checkpoint, response->mutable_checkpoint());
  response->set_head_seq(ctx_->log->HeadSeq());
  return grpc::Status::OK;
}

grpc::Status AuditServiceImpl::Export(grpc::ServerContext* context,
                                      const v1::ExportRequest* request,
                                      grpc::ServerWriter<v1::ExportResponse>* writer) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kReaders, "export the audit log",
                                /*needs_log=*/true);
  int64_t first = std::max<int64_t>(1, request->first_seq());
  int64_t last = request->last_seq() > 0 ? request->last_seq() : ctx_->log->HeadSeq();
  if (first > last && request->last_seq() > 0) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("export range ", first, "..", last, " is empty: first_seq > last_seq")));
  }
  for (int64_t from = first; from <= last && !context->IsCancelled(); from += kExportBatch) {
    int64_t to = std::min(last, from + kExportBatch - 1);
    absl::StatusOr<std::vector<audit::AuditRecord>> records = ctx_->log->Range(from, to);
    if (!records.ok()) {
      return ToGrpcStatus(records.status());
    }
    v1::ExportResponse out;
    for (const audit::AuditRecord& r : *records) {
      out.mutable_lines()->append(ToJsonLine(r));
    }
    if (!out.lines().empty() && !writer->Write(out)) {
      return grpc::Status::OK;
    }
  }
  return grpc::Status::OK;
}

grpc::Status AuditServiceImpl::Verify(grpc::ServerContext* context,
                                      const v1::VerifyRequest* /*request*/,
                                      v1::VerifyResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kReaders, "verify the audit log",
                                /*needs_log=*/true);
  ToProto(ctx_->log->Verify(), response);
  return grpc::Status::OK;
}

namespace {

void ToProto(const EnergyRow& in, v1::EnergyRow* out) {
  out->set_key(in.key);
  out->set_jobs(in.jobs);
  out->set_measured_jobs(in.measured_jobs);
  out->set_measured_kwh(in.measured_kwh);
  out->set_estimated_kwh(in.estimated_kwh);
  out->set_jobs_per_kwh(in.jobs_per_kwh());
  out->set_co2_kg(in.co2_kg);
  out->set_green_jobs(in.green_jobs);
  out->set_green_saved_kg(in.green_saved_kg);
}

}  // namespace

grpc::Status AuditServiceImpl::EnergyReport(grpc::ServerContext* context,
                                            const v1::EnergyReportRequest* request,
                                            v1::EnergyReportResponse* response) {
  SOVEREIGN_AUTHORISE_OR_RETURN(caller, *ctx_, *context, kReaders, "read the energy report",
                                /*needs_log=*/true);
  const std::string by = request->by().empty() ? "partition" : request->by();
  const std::optional<EnergyGrouping> grouping = ParseEnergyGrouping(by);
  if (!grouping.has_value()) {
    return ToGrpcStatus(absl::InvalidArgumentError(absl::StrCat(
        "cannot group by \"", by, "\": choose partition, account, region or day")));
  }
  absl::StatusOr<EnergyJobs> ended = CollectEnergyJobs(
      *ctx_->log,
      request->has_since() ? std::optional<absl::Time>(FromProto(request->since())) : std::nullopt,
      request->has_until() ? std::optional<absl::Time>(FromProto(request->until())) : std::nullopt,
      kMaxEnergyJobs);
  if (!ended.ok()) {
    return ToGrpcStatus(ended.status());
  }
  response->set_skipped(ended->skipped);
  response->set_first_skipped(ended->first_skipped);
  const std::vector<EnergyJob>& jobs = ended->jobs;
  response->set_by(by);
  std::vector<EnergyRow> rows = SummariseEnergy(jobs, *grouping);
  for (size_t i = 0; i + 1 < rows.size(); ++i) {
    ToProto(rows[i], response->add_rows());
  }
  ToProto(rows.back(), response->mutable_total());
  return grpc::Status::OK;
}

}  // namespace sovereign::service
