#include "explain_request.h"

#include <unistd.h>

#include <algorithm>

#include "absl/status/status.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "sovereign/dataset_declaration.h"
#include "sovereign/duration.h"
#include "sovereign/unix_accounts.h"

namespace sovereign::cli {

absl::StatusOr<LocalUser> LookUpLocalUser(const std::string& name) {
  absl::StatusOr<UnixUser> found = UserByName(name);
  if (!found.ok()) {
    return found.status();
  }
  absl::StatusOr<std::vector<std::string>> groups = GroupNamesOf(*found);
  if (!groups.ok()) {
    return groups.status();
  }
  LocalUser user;
  user.name = found->name;
  user.uid = found->uid;
  user.groups = *std::move(groups);
  return user;
}

absl::StatusOr<std::string> CurrentUserName() {
  const uid_t uid = geteuid();
  absl::StatusOr<UnixUser> found = UserById(uid);
  if (!found.ok()) {
    return absl::NotFoundError(
        absl::StrCat("uid ", uid, " has no user name on this machine; give --user"));
  }
  return found->name;
}

std::optional<absl::Duration> ParseSlurmTime(absl::string_view text) {
  // sbatch(1): "minutes", "minutes:seconds", "hours:minutes:seconds", "days-hours",
  // "days-hours:minutes" and "days-hours:minutes:seconds".
  int64_t days = 0;
  const size_t dash = text.find('-');
  absl::string_view clock = text;
  if (dash != absl::string_view::npos) {
    if (!absl::SimpleAtoi(text.substr(0, dash), &days) || days < 0 || days > 3650 ||
        !absl::ascii_isdigit(static_cast<unsigned char>(text.front()))) {
      return std::nullopt;
    }
    clock = text.substr(dash + 1);
  }
  std::vector<absl::string_view> parts = absl::StrSplit(clock, ':');
  if (parts.size() > 3) {
    return std::nullopt;
  }
  std::vector<int64_t> values;
  for (absl::string_view part : parts) {
    int64_t v = 0;
    if (part.empty() || part.size() > 9 ||
        !std::all_of(part.begin(), part.end(),
                     [](char c) { return absl::ascii_isdigit(static_cast<unsigned char>(c)); }) ||
        !absl::SimpleAtoi(part, &v)) {
      return std::nullopt;
    }
    values.push_back(v);
  }
  int64_t h = 0, m = 0, sec = 0;
  if (dash != absl::string_view::npos) {  // days-hours[:minutes[:seconds]]
    h = values[0];
    m = values.size() > 1 ? values[1] : 0;
    sec = values.size() > 2 ? values[2] : 0;
  } else if (values.size() == 1) {  // minutes
    m = values[0];
  } else if (values.size() == 2) {  // minutes:seconds
    m = values[0];
    sec = values[1];
  } else {  // hours:minutes:seconds
    h = values[0];
    m = values[1];
    sec = values[2];
  }
  const absl::Duration d =
      absl::Hours(days * 24 + h) + absl::Minutes(m) + absl::Seconds(sec);
  if (d > absl::Hours(24 * 3650)) {
    return std::nullopt;
  }
  return d;
}

absl::StatusOr<ExplainJob> BuildExplainJob(const ExplainOptions& o) {
  ExplainJob job;
  JobRequest& r = job.request;
  if (!o.time.empty()) {
    std::optional<absl::Duration> limit = ParseSlurmTime(o.time);
    if (!limit.has_value()) {
      limit = ParseDuration(o.time);
    }
    if (!limit.has_value()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid --time \"", o.time,
          "\": expected a time limit as sbatch takes it (minutes, MM:SS, HH:MM:SS, D-HH, "
          "D-HH:MM or D-HH:MM:SS) or a duration such as 30m, 2h or 1h30m"));
    }
    if (*limit <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid --time \"", o.time, "\": the time limit must be longer than 0"));
    }
    r.time_limit = *limit;
  }
  job.now = absl::Now();
  if (!o.now.empty()) {
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, o.now, &job.now, &err)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "invalid --now \"", o.now, "\": expected an RFC 3339 time such as 2026-11-22T10:00:00Z"));
    }
  }
  r.submit_time = job.now;

  r.user = o.user;
  r.groups = o.groups;
  r.uid = o.uid.value_or(0);
  if (o.look_up_identity && r.user.empty()) {
    absl::StatusOr<std::string> me = CurrentUserName();
    if (!me.ok()) {
      return me.status();
    }
    r.user = *me;
  }
  // Offline, a missing uid or group list comes from this machine. Online, sovereignd fills in
  // its caller's identity, but a user named with --user still needs their uid.
  const bool need_uid = !o.uid.has_value() && !r.user.empty();
  const bool need_groups = o.look_up_identity && r.groups.empty();
  if (need_uid || need_groups) {
    absl::StatusOr<LocalUser> local = LookUpLocalUser(r.user);
    if (absl::IsNotFound(local.status())) {
      return absl::NotFoundError(absl::StrCat(
          "user \"", r.user, "\" is not known on this machine: give their --uid and --group"));
    }
    if (!local.ok()) {
      return local.status();
    }
    if (need_groups) {
      r.groups = local->groups;
    }
    if (need_uid) {
      r.uid = local->uid;
    }
  }
  r.account = o.account;
  r.datasets = o.datasets;
  // A declaration in --comment is read as the Slurm plugin reads it, refusals included.
  if (absl::Status s = AddCommentDatasets(o.comment, &r.datasets); !s.ok()) {
    return s;
  }
  if (absl::Status s = AddCommentGreenWindow(o.comment, &r.green_window); !s.ok()) {
    return s;
  }
  if (!o.green_window.empty()) {
    if (absl::Status s = ReadGreenWindow(o.green_window, "--green-window", &r.green_window);
        !s.ok()) {
      return s;
    }
  }
  r.partitions = o.partitions;
  r.gpus = o.gpus;
  r.gpu_type = o.gpu_type;
  r.nodes = o.nodes;
  return job;
}

}  // namespace sovereign::cli
