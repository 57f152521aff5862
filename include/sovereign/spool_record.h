// The payload of one spool record: a decision made by the Slurm plugin, with the request it
// answered. The plugin encodes it inside slurmctld's locks, so the encoder is hand-written for
// speed (one JSON object, no intermediate DOM); sovereignd decodes it with a real JSON parser.
//
// Candidates are stored by register partition index; the register version in the record
// names the register that gives those indexes their meaning (sovereignd keeps every applied
// version).
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "sovereign/placement.h"

namespace sovereign::spool {

struct SpooledDecision {
  std::string decision_id;
  // Who decided: "plugin" (job_submit), "plugin-modify" (job_modify), "prolog"
  // (PrologSlurmctld).
  std::string source = "plugin";
  // The Slurm job a modification or a start was checked for; 0 for a submission (no id yet).
  uint32_t job_id = 0;
  JobRequest request;
  Decision decision;
  // True when the cluster view was too old and the static register figures were used.
  bool stale_cluster = false;
};

// Appends the JSON encoding of `d` to *out.
void EncodeSpooledDecision(const SpooledDecision& d, std::string* out);

// INVALID_ARGUMENT names the field that is missing or of the wrong type.
absl::StatusOr<SpooledDecision> DecodeSpooledDecision(const std::string& payload);

}  // namespace sovereign::spool
