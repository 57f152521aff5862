#include "proto_convert.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "sovereign/dataset_declaration.h"

namespace sovereign::service {
namespace {

v1::Verdict ToProto(Verdict v) {
  switch (v) {
    case Verdict::kPlace:
      return v1::VERDICT_PLACE;
    case Verdict::kReject:
      return v1::VERDICT_REJECT;
  }
  return v1::VERDICT_UNSPECIFIED;
}

v1::RejectCode ToProto(RejectCode c) {
  switch (c) {
    case RejectCode::kNone:
      return v1::REJECT_CODE_UNSPECIFIED;
    case RejectCode::kInvalidRequest:
      return v1::REJECT_CODE_INVALID_REQUEST;
    case RejectCode::kTooManyLabels:
      return v1::REJECT_CODE_TOO_MANY_LABELS;
    case RejectCode::kLabelTooLong:
      return v1::REJECT_CODE_LABEL_TOO_LONG;
    case RejectCode::kUnknownDataset:
      return v1::REJECT_CODE_UNKNOWN_DATASET;
    case RejectCode::kUnknownAccount:
      return v1::REJECT_CODE_UNKNOWN_ACCOUNT;
    case RejectCode::kNotAuthorised:
      return v1::REJECT_CODE_NOT_AUTHORISED;
    case RejectCode::kRegionConflict:
      return v1::REJECT_CODE_REGION_CONFLICT;
    case RejectCode::kPartitionOutsideRegion:
      return v1::REJECT_CODE_PARTITION_OUTSIDE_REGION;
    case RejectCode::kNoCandidate:
      return v1::REJECT_CODE_NO_CANDIDATE;
    case RejectCode::kModificationRefused:
      return v1::REJECT_CODE_MODIFICATION_REFUSED;
    case RejectCode::kStartRefused:
      return v1::REJECT_CODE_START_REFUSED;
  }
  return v1::REJECT_CODE_UNSPECIFIED;
}

v1::Exclusion ToProto(Exclusion e) {
  switch (e) {
    case Exclusion::kEligible:
      return v1::EXCLUSION_ELIGIBLE;
    case Exclusion::kRegionNotAllowed:
      return v1::EXCLUSION_REGION_NOT_ALLOWED;
    case Exclusion::kJurisdictionNotAccepted:
      return v1::EXCLUSION_JURISDICTION_NOT_ACCEPTED;
    case Exclusion::kNotRequested:
      return v1::EXCLUSION_NOT_REQUESTED;
    case Exclusion::kNotInCluster:
      return v1::EXCLUSION_NOT_IN_CLUSTER;
    case Exclusion::kNotUp:
      return v1::EXCLUSION_NOT_UP;
    case Exclusion::kGpuTypeMismatch:
      return v1::EXCLUSION_GPU_TYPE_MISMATCH;
    case Exclusion::kTooFewGpusPerNode:
      return v1::EXCLUSION_TOO_FEW_GPUS_PER_NODE;
    case Exclusion::kTooFewNodes:
      return v1::EXCLUSION_TOO_FEW_NODES;
  }
  return v1::EXCLUSION_UNSPECIFIED;
}

v1::RecordKind ToProto(audit::RecordKind k) {
  switch (k) {
    case audit::RecordKind::kDecision:
      return v1::RECORD_KIND_DECISION;
    case audit::RecordKind::kAttestation:
      return v1::RECORD_KIND_ATTESTATION;
    case audit::RecordKind::kOutcome:
      return v1::RECORD_KIND_OUTCOME;
    case audit::RecordKind::kNodeWeight:
      return v1::RECORD_KIND_NODE_WEIGHT;
  }
  return v1::RECORD_KIND_UNSPECIFIED;
}

v1::ChangeType ToProto(ObjectDiff::Change c) {
  switch (c) {
    case ObjectDiff::Change::kAdded:
      return v1::CHANGE_TYPE_ADDED;
    case ObjectDiff::Change::kRemoved:
      return v1::CHANGE_TYPE_REMOVED;
    case ObjectDiff::Change::kChanged:
      return v1::CHANGE_TYPE_CHANGED;
  }
  return v1::CHANGE_TYPE_UNSPECIFIED;
}

template <typename Repeated>
std::vector<std::string> Strings(const Repeated& items) {
  return std::vector<std::string>(items.begin(), items.end());
}

}  // namespace

void ToProto(absl::Time t, google::protobuf::Timestamp* out) {
  int64_t micros = absl::ToUnixMicros(t);
  int64_t seconds = micros / 1000000;
  int64_t rest = micros % 1000000;
  if (rest < 0) {
    rest += 1000000;
    seconds -= 1;
  }
  out->set_seconds(seconds);
  out->set_nanos(static_cast<int32_t>(rest * 1000));
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

absl::StatusOr<JobRequest> FromProto(const v1::JobRequest& in, absl::Time now) {
  if (in.gpus() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("job field \"gpus\": ", in.gpus(), " is negative"));
  }
  if (in.nodes() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("job field \"nodes\": ", in.nodes(), " is negative"));
  }
  JobRequest r;
  r.user = in.user();
  r.uid = in.has_uid() ? in.uid() : 0;
  r.groups = Strings(in.groups());
  r.account = in.account();
  r.datasets = Strings(in.datasets());
  r.partitions = Strings(in.partitions());
  r.gpus = in.gpus();
  r.gpu_type = in.gpu_type();
  r.nodes = in.nodes();
  if (in.has_time_limit()) {
    absl::Duration d =
        absl::Seconds(in.time_limit().seconds()) + absl::Nanoseconds(in.time_limit().nanos());
    if (d < absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("job field \"time_limit\": ", absl::FormatDuration(d), " is negative"));
    }
    r.time_limit = d;
  }
  r.submit_time = in.has_submit_time() ? FromProto(in.submit_time()) : now;
  if (in.has_begin_time()) {
    r.begin_time = FromProto(in.begin_time());
  }
  if (in.has_green_window()) {
    const absl::Duration d = absl::Seconds(in.green_window().seconds()) +
                             absl::Nanoseconds(in.green_window().nanos());
    if (d < absl::ZeroDuration() || d > kMaxGreenWindow) {
      return absl::InvalidArgumentError(
          absl::StrCat("job field \"green_window\": ", absl::FormatDuration(d),
                       " is not from 0 to ", absl::FormatDuration(kMaxGreenWindow)));
    }
    r.green_window = d;
  }
  return r;
}

void ToProto(const JobRequest& in, v1::JobRequest* out) {
  out->set_user(in.user);
  if (!in.user.empty()) {
    out->set_uid(in.uid);
  }
  for (const std::string& g : in.groups) {
    out->add_groups(g);
  }
  out->set_account(in.account);
  for (const std::string& d : in.datasets) {
    out->add_datasets(d);
  }
  for (const std::string& p : in.partitions) {
    out->add_partitions(p);
  }
  out->set_gpus(in.gpus);
  out->set_gpu_type(in.gpu_type);
  out->set_nodes(in.nodes);
  if (in.time_limit > absl::ZeroDuration()) {
    out->mutable_time_limit()->set_seconds(absl::ToInt64Seconds(in.time_limit));
  }
  if (in.submit_time != absl::UnixEpoch()) {
    ToProto(in.submit_time, out->mutable_submit_time());
  }
  if (in.begin_time != absl::InfinitePast()) {
    ToProto(in.begin_time, out->mutable_begin_time());
  }
  if (in.green_window > absl::ZeroDuration()) {
    out->mutable_green_window()->set_seconds(absl::ToInt64Seconds(in.green_window));
  }
}

void ToProto(const Decision& d, const Register& reg, v1::Decision* out) {
  out->set_verdict(ToProto(d.verdict));
  out->set_code(ToProto(d.code));
  out->set_code_name(std::string(RejectCodeName(d.code)));
  out->set_reason(d.reason);
  out->set_partition(d.partition_name);
  out->set_region(d.region);
  for (const std::string& l : d.labels) {
    out->add_labels(l);
  }
  for (const std::string& r : d.allowed_regions) {
    out->add_allowed_regions(r);
  }
  out->set_register_version(d.register_version);
  ToProto(d.decided_at, out->mutable_decided_at());
  const int partitions = static_cast<int>(reg.partitions().size());
  for (const Candidate& c : d.candidates) {
    v1::Candidate* pc = out->add_candidates();
    if (c.partition >= 0 && c.partition < partitions) {
      const Partition& p = reg.partitions()[c.partition];
      pc->set_partition(p.name);
      pc->set_site(p.site);
      int region = reg.RegionOfPartition(c.partition);
      if (region >= 0) {
        pc->set_region(reg.regions()[region].name);
      }
    }
    pc->set_exclusion(ToProto(c.exclusion));
    if (c.exclusion != Exclusion::kEligible) {
      pc->set_exclusion_reason(DescribeExclusion(c, d, reg));
    }
    pc->set_nodes(c.nodes);
    pc->set_energy_kwh(c.energy_kwh);
    pc->set_jobs_per_kwh(c.jobs_per_kwh);
    pc->set_co2_grams(c.co2_grams);
    pc->set_free_gpus(c.free_gpus);
    pc->set_rank(c.rank);
    pc->set_gco2_per_kwh(c.gco2_per_kwh);
    if (c.carbon_covered > 0) {
      pc->set_carbon_covered(c.carbon_covered);
      pc->set_carbon_forecast(c.carbon_forecast);
      pc->set_carbon_basis(std::string(CarbonBasisName(c.carbon_basis)));
    }
    pc->set_power_from(std::string(PowerFromName(c.power_from)));
    if (c.power_from == PowerFrom::kRegister) {
      if (c.partition >= 0 && c.partition < partitions) {
        pc->set_gpu_watts(reg.figures(c.partition).gpu_watts);
      }
    } else {
      pc->set_gpu_watts(c.gpu_watts);
      ToProto(c.power_at, pc->mutable_power_at());
    }
  }
  if (const GreenStart& g = d.green; g.asked > absl::ZeroDuration()) {
    v1::GreenStart* pg = out->mutable_green();
    auto name = [&reg, partitions](int p) {
      return p >= 0 && p < partitions ? reg.partitions()[p].name : std::string();
    };
    pg->mutable_window()->set_seconds(absl::ToInt64Seconds(g.window));
    pg->mutable_asked()->set_seconds(absl::ToInt64Seconds(g.asked));
    ToProto(g.immediate, pg->mutable_immediate_start());
    pg->set_immediate_partition(name(g.immediate_partition));
    pg->set_immediate_co2_grams(g.immediate_co2_grams);
    ToProto(g.start, pg->mutable_start());
    pg->set_partition(name(g.partition));
    pg->set_co2_grams(g.co2_grams);
    pg->set_moved(g.moved);
    pg->set_saving(g.saving());
  }
}

void ToProto(const audit::AuditRecord& in, v1::AuditRecord* out) {
  out->set_seq(in.seq);
  out->set_kind(ToProto(in.kind));
  out->set_decision_id(in.decision_id);
  ToProto(in.time, out->mutable_time());
  out->set_caller(in.caller);
  out->set_user(in.user);
  out->set_account(in.account);
  for (const std::string& d : in.datasets) {
    out->add_datasets(d);
  }
  out->set_region(in.region);
  out->set_partition(in.partition);
  out->set_verdict(in.verdict);
  out->set_job_id(in.job_id);
  out->set_register_version(in.register_version);
  out->set_body_json(in.body_json);
  out->set_prev_hash(in.prev_hash);
  out->set_hash(in.hash);
}

audit::AuditQuery FromProto(const v1::DecisionFilter& in) {
  audit::AuditQuery q;
  if (in.has_job_id()) {
    q.job_id = in.job_id();
  }
  q.decision_id = in.decision_id();
  q.user = in.user();
  q.account = in.account();
  q.dataset = in.dataset();
  q.region = in.region();
  q.partition = in.partition();
  q.verdict = in.verdict();
  if (in.has_since()) {
    q.since = FromProto(in.since());
  }
  if (in.has_until()) {
    q.until = FromProto(in.until());
  }
  if (in.kind() == v1::RECORD_KIND_DECISION) {
    q.kind = audit::RecordKind::kDecision;
  } else if (in.kind() == v1::RECORD_KIND_ATTESTATION) {
    q.kind = audit::RecordKind::kAttestation;
  } else if (in.kind() == v1::RECORD_KIND_OUTCOME) {
    q.kind = audit::RecordKind::kOutcome;
  } else if (in.kind() == v1::RECORD_KIND_NODE_WEIGHT) {
    q.kind = audit::RecordKind::kNodeWeight;
  }
  q.register_version = in.register_version();
  return q;
}

bool Matches(const audit::AuditQuery& q, const audit::AuditRecord& r) {
  auto field = [](const std::string& want, const std::string& have) {
    return want.empty() || want == have;
  };
  if (q.job_id.has_value() && *q.job_id != r.job_id) {
    return false;
  }
  if (!field(q.decision_id, r.decision_id) || !field(q.user, r.user) ||
      !field(q.account, r.account) || !field(q.region, r.region) ||
      !field(q.partition, r.partition) || !field(q.verdict, r.verdict)) {
    return false;
  }
  if (!q.dataset.empty() &&
      std::find(r.datasets.begin(), r.datasets.end(), q.dataset) == r.datasets.end()) {
    return false;
  }
  if ((q.since.has_value() && r.time < *q.since) || (q.until.has_value() && r.time >= *q.until)) {
    return false;
  }
  if (!absl::StartsWith(r.register_version, q.register_version)) {
    return false;
  }
  return !q.kind.has_value() || *q.kind == r.kind;
}

void ToProto(const audit::Checkpoint& in, v1::Checkpoint* out) {
  out->set_count(in.count);
  out->set_head_hash(in.head_hash);
  ToProto(in.time, out->mutable_time());
  out->set_signature(in.signature);
  out->set_public_key(in.public_key);
}

void ToProto(const audit::VerifyReport& in, v1::VerifyResponse* out) {
  out->set_ok(in.ok);
  out->set_records_checked(in.records_checked);
  out->set_checkpoints_checked(in.checkpoints_checked);
  out->set_first_bad_seq(in.first_bad_seq);
  out->set_problem(in.problem);
}

std::string ToJsonLine(const audit::AuditRecord& record) {
  v1::AuditRecord proto;
  ToProto(record, &proto);
  proto.clear_body_json();
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;  // a zero job id or an empty region is shown
  std::string line;
  // Printing a message we built cannot fail: every field is a valid proto3 value.
  (void)google::protobuf::util::MessageToJsonString(proto, &line, options);
  // Printed empty, the string field gives way to the value (field names are never escaped, a
  // value's quotes always are: this text is the field and nothing else).
  constexpr std::string_view kEmptyBody = ",\"body_json\":\"\"";
  if (size_t at = line.find(kEmptyBody); at != std::string::npos) {
    line.erase(at, kEmptyBody.size());
  }
  // The body goes in as the JSON value it is, byte for byte as hashed. Every body sovereign
  // writes is JSON; one that is not (a foreign row) stays a string, so that the line parses.
  line.pop_back();  // the closing brace
  absl::StrAppend(&line, ",\"body\":",
                  nlohmann::json::accept(record.body_json)
                      ? record.body_json
                      : nlohmann::json(record.body_json)
                            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "}\n");
  return line;
}

void ToProto(const Diagnostic& in, v1::Diagnostic* out) {
  out->set_file(in.location.file);
  out->set_line(in.location.line);
  out->set_column(in.location.column);
  out->set_message(in.message);
  out->set_text(in.ToString());
}

void ToProto(const ObjectDiff& in, v1::ObjectChange* out) {
  out->set_kind(in.kind);
  out->set_name(in.name);
  out->set_change(ToProto(in.change));
  for (const FieldDiff& f : in.fields) {
    v1::FieldChange* pf = out->add_fields();
    pf->set_field(f.field);
    pf->set_old_value(f.old_value);
    pf->set_new_value(f.new_value);
  }
}

}  // namespace sovereign::service
