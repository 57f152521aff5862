// Conversion between the gRPC messages (sovereign.v1) and the core's types: the only file that
// knows both. Enums are mapped by switch so that a value added on one side without the other
// is a compile-time warning (-Wswitch), not a silent mistranslation.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "sovereign/register_diff.h"
#include "sovereign/audit_log.h"
#include "sovereign/placement.h"
#include "sovereign/register.h"
#include "sovereign/v1/audit.pb.h"
#include "sovereign/v1/placement.pb.h"
#include "sovereign/v1/register.pb.h"

namespace sovereign::service {

void ToProto(absl::Time t, google::protobuf::Timestamp* out);
absl::Time FromProto(const google::protobuf::Timestamp& t);

// The request as the core sees it. `now` stands in for an absent submit time.
// INVALID_ARGUMENT names the field for negative GPUs or nodes, or a negative time limit.
absl::StatusOr<JobRequest> FromProto(const v1::JobRequest& in, absl::Time now);
// Zero values stay unset, for the daemon to fill: an empty user leaves uid unset (the caller's
// own), a zero time limit the policy's default, the epoch as submit time "now".
void ToProto(const JobRequest& in, v1::JobRequest* out);

// The decision with everything a client needs to show it; `decision_id`, `job_tag`, `recorded`
// and `audit_seq` are the daemon's additions to the core's Decision.
void ToProto(const Decision& d, const Register& reg, v1::Decision* out);

void ToProto(const audit::AuditRecord& in, v1::AuditRecord* out);
// The filter as an audit query (paging fields are left to the caller).
audit::AuditQuery FromProto(const v1::DecisionFilter& in);
// True when `record` passes `filter` (WatchDecisions filters records as they arrive).
bool Matches(const audit::AuditQuery& filter, const audit::AuditRecord& record);
void ToProto(const audit::Checkpoint& in, v1::Checkpoint* out);
void ToProto(const audit::VerifyReport& in, v1::VerifyResponse* out);
// One line of `audit export`: the record as compact JSON (proto3 JSON mapping) and "\n".
std::string ToJsonLine(const audit::AuditRecord& record);

void ToProto(const Diagnostic& in, v1::Diagnostic* out);
void ToProto(const ObjectDiff& in, v1::ObjectChange* out);

}  // namespace sovereign::service
