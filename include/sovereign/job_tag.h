// The tag a placed job carries in Slurm's admin_comment: the contract between everything that
// places a job and everything that later checks it. The job_submit plugin writes it (and
// sovereignd's Decide answers it as job_tag, exactly as the plugin would write it); the
// plugin's job_modify guard and its parent-job inheritance, sovereign-prolog, and sovereignd's
// reconciler and register impact read it back.
//
//   sovereign:v1;id=<decision id>;ds=<dataset>,<dataset>;region=<region>;reg=<12 hex>
//
// No spaces, so that `scontrol show job -o` keeps it one field. Text an admin appends after
// the tag (";held: why") is not part of it.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace sovereign {

struct JobTag {
  std::string decision_id;
  std::vector<std::string> datasets;  // the decision's labels; empty for an unlabelled job
  std::string region;
  std::string register_version;  // short form (Register::short_version())
};

std::string FormatJobTag(const JobTag& tag);

// The tag in `admin_comment` (null when the job has none). NOT_FOUND when it carries no tag;
// INVALID_ARGUMENT when the tag is malformed (no decision id).
absl::StatusOr<JobTag> ParseJobTag(const char* admin_comment);

}  // namespace sovereign
