#include "submit_filter.h"

#include <grp.h>
#include <pwd.h>
#include <sys/random.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "sovereign/spool_record.h"

namespace sovereign::plugin {
namespace {

int SlurmErrorFor(RejectCode code) {
  switch (code) {
    case RejectCode::kNotAuthorised:
      return ESLURM_ACCESS_DENIED;
    case RejectCode::kPartitionOutsideRegion:
      return ESLURM_INVALID_PARTITION_NAME;
    case RejectCode::kNoCandidate:
      return ESLURM_REQUESTED_PART_CONFIG_UNAVAILABLE;
    default:
      return ESLURM_INVALID_FEATURE;  // "Invalid feature specification": the labels
  }
}

class NssUserDirectory : public UserDirectory {
 public:
  explicit NssUserDirectory(absl::Duration ttl) : ttl_(ttl) {}

  absl::StatusOr<UserInfo> Lookup(uint32_t uid) override {
    absl::Time now = absl::Now();
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = cache_.find(uid);
      if (it != cache_.end() && now - it->second.at < ttl_) {
        return it->second.info;
      }
    }
    struct passwd pw;
    struct passwd* found = nullptr;
    std::vector<char> buf(16384);
    if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &found) != 0 || found == nullptr) {
      return absl::NotFoundError(absl::StrCat("uid ", uid, " is not known on the controller"));
    }
    UserInfo info;
    info.name = pw.pw_name;
    std::vector<gid_t> gids(64);
    int n = static_cast<int>(gids.size());
    if (getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &n) < 0) {
      gids.resize(static_cast<size_t>(n));
      getgrouplist(pw.pw_name, pw.pw_gid, gids.data(), &n);
    }
    gids.resize(static_cast<size_t>(std::max(n, 0)));
    for (gid_t gid : gids) {
      struct group gr;
      struct group* g = nullptr;
      if (getgrgid_r(gid, &gr, buf.data(), buf.size(), &g) == 0 && g != nullptr) {
        info.groups.emplace_back(g->gr_name);
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    cache_[uid] = {info, now};
    return info;
  }

 private:
  struct Entry {
    UserInfo info;
    absl::Time at;
  };
  const absl::Duration ttl_;
  std::mutex mu_;
  std::unordered_map<uint32_t, Entry> cache_;
};

absl::StatusOr<bool> ParseYesNo(absl::string_view v) {
  if (v == "yes" || v == "true" || v == "1") {
    return true;
  }
  if (v == "no" || v == "false" || v == "0") {
    return false;
  }
  return absl::InvalidArgumentError("expected yes or no");
}

std::string AddFeature(const char* existing, const std::string& feature) {
  if (existing == nullptr || *existing == '\0') {
    return feature;
  }
  // Slurm's feature expression: '&' binds the guard to whatever the user asked for.
  return absl::StrCat("(", existing, ")&", feature);
}

// A job submitted from inside a running job inherits that job's datasets, read from the
// parent's tag (which only the plugin and admins can write).
absl::Status AddParentDatasets(const job_desc_msg_t& desc, const char* parent_admin_comment,
                               std::vector<std::string>* datasets) {
  if (parent_admin_comment == nullptr) {
    return absl::OkStatus();
  }
  absl::StatusOr<JobTag> tag = ParseJobTag(parent_admin_comment);
  if (absl::IsNotFound(tag.status())) {
    return absl::OkStatus();  // the parent was not placed by this plugin
  }
  if (!tag.ok()) {
    const std::vector<uint32_t> parents = ParentJobIds(desc);
    return absl::InvalidArgumentError(absl::StrCat(
        "this job was submitted from inside job ",
        parents.empty() ? std::string("(unknown)") : absl::StrCat(parents.front()),
        ", whose residency tag cannot be read (", tag.status().message(),
        "), so the datasets it inherits are unknown; ask your cluster admins"));
  }
  for (std::string& name : tag->datasets) {
    if (std::find(datasets->begin(), datasets->end(), name) == datasets->end()) {
      datasets->push_back(std::move(name));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::unique_ptr<UserDirectory> NewNssUserDirectory(absl::Duration ttl) {
  return std::make_unique<NssUserDirectory>(ttl);
}

absl::StatusOr<FilterOptions> ParseFilterConfig(const std::string& text,
                                                const std::string& source) {
  FilterOptions o;
  int line_no = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    line = absl::StripAsciiWhitespace(line.substr(0, line.find('#')));
    if (line.empty()) {
      continue;
    }
    auto fail = [&](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat(source, ":", line_no, ": ", why));
    };
    size_t eq = line.find('=');
    if (eq == absl::string_view::npos) {
      return fail(absl::StrCat("expected \"key = value\", got \"", line, "\""));
    }
    std::string key(absl::StripAsciiWhitespace(line.substr(0, eq)));
    std::string value(absl::StripAsciiWhitespace(line.substr(eq + 1)));
    if (key == "snapshot") {
      o.snapshot_path = value;
    } else if (key == "spool") {
      o.spool_dir = value;
    } else if (key == "region_feature_prefix") {
      o.region_feature_prefix = value;
    } else if (key == "spool_fdatasync") {
      absl::StatusOr<bool> b = ParseYesNo(value);
      if (!b.ok()) {
        return fail(absl::StrCat("spool_fdatasync: \"", value, "\": expected yes or no"));
      }
      o.spool_fdatasync = *b;
    } else if (key == "max_cluster_age" || key == "user_cache_ttl") {
      absl::Duration d;
      if (!absl::ParseDuration(value, &d) || d < absl::ZeroDuration()) {
        return fail(absl::StrCat(key, ": \"", value, "\": expected a duration such as 30s or 5m"));
      }
      (key == "max_cluster_age" ? o.max_cluster_age : o.user_cache_ttl) = d;
    } else {
      return fail(absl::StrCat(
          "unknown key \"", key,
          "\" (known: snapshot, spool, spool_fdatasync, max_cluster_age, region_feature_prefix, "
          "user_cache_ttl)"));
    }
  }
  return o;
}

absl::StatusOr<std::unique_ptr<SubmitFilter>> SubmitFilter::Create(
    FilterOptions options, std::unique_ptr<UserDirectory> users) {
  spool::SpoolWriterOptions so;
  so.dir = options.spool_dir;
  so.fdatasync_each = options.spool_fdatasync;
  absl::StatusOr<std::unique_ptr<spool::SpoolWriter>> writer = spool::SpoolWriter::Open(so);
  if (!writer.ok()) {
    return writer.status();
  }
  return std::unique_ptr<SubmitFilter>(
      new SubmitFilter(std::move(options), std::move(users), *std::move(writer)));
}

SubmitFilter::SubmitFilter(FilterOptions options, std::unique_ptr<UserDirectory> users,
                           std::unique_ptr<spool::SpoolWriter> spool)
    : options_(std::move(options)),
      users_(std::move(users)),
      spool_(std::move(spool)),
      nonce_([] {
        uint64_t n = 0;
        if (getrandom(&n, sizeof n, 0) != sizeof n) {
          n = static_cast<uint64_t>(getpid()) ^ static_cast<uint64_t>(absl::GetCurrentTimeNanos());
        }
        return n;
      }()) {
  snapshot::WatcherOptions wo;
  wo.path = options_.snapshot_path;
  watcher_ = std::make_unique<snapshot::SnapshotWatcher>(wo);
}

std::string SubmitFilter::NextDecisionId(absl::Time now) {
  // Time first, so ids sort by time; a per-process random nonce and a counter make them unique
  // across controller restarts and a backup controller.
  return absl::StrFormat("%013x-%06x-%x", absl::ToUnixMicros(now), nonce_ & 0xffffff,
                         counter_.fetch_add(1, std::memory_order_relaxed));
}

SubmitAnswer SubmitFilter::Submit(const job_desc_msg_t& desc, uint32_t submit_uid,
                                  absl::Time now, const char* parent_admin_comment) {
  SubmitAnswer answer;
  uint32_t uid = desc.user_id != NO_VAL ? desc.user_id : submit_uid;
  absl::StatusOr<UserInfo> user = users_->Lookup(uid);
  if (!user.ok()) {
    answer.slurm_error = ESLURM_USER_ID_MISSING;
    answer.message = absl::StrCat("sovereign: ", user.status().message());
    answer.log_line = answer.message;
    return answer;
  }
  absl::StatusOr<JobRequest> request = TranslateJobDesc(desc, *user, now);
  if (request.ok()) {
    if (absl::Status s = AddParentDatasets(desc, parent_admin_comment, &request->datasets);
        !s.ok()) {
      request = s;
    }
  }
  if (!request.ok()) {
    answer.slurm_error = ESLURM_INVALID_FEATURE;
    answer.message = absl::StrCat("sovereign: ", request.status().message());
    answer.log_line = answer.message;
    return answer;
  }
  std::shared_ptr<const snapshot::LoadedSnapshot> snap = watcher_->Current();
  if (snap == nullptr) {
    absl::Status why = watcher_->last_error();
    answer.slurm_error = ESLURM_INVALID_FEATURE;
    answer.message = absl::StrCat(
        "sovereign: cannot place jobs yet: no valid sovereignty register has been published (",
        why.ok() ? "no snapshot" : why.message(),
        "); jobs stay refused until sovereignd publishes one: ask your cluster admins");
    answer.log_line = answer.message;
    return answer;
  }
  const snapshot::ChosenView chosen = snapshot::ChooseView(*snap, now, options_.max_cluster_age);

  spool::SpooledDecision rec;
  rec.decision_id = NextDecisionId(now);
  rec.stale_cluster = chosen.stale;
  rec.request = *std::move(request);
  rec.decision = Decide(rec.request, *chosen.view, *snap->reg, now);
  Decision& d = rec.decision;
  if (chosen.stale) {
    snapshot::NoteStaleView(options_.max_cluster_age, &d);
  }
  std::string payload;
  payload.reserve(1024);
  spool::EncodeSpooledDecision(rec, &payload);
  if (absl::Status s = spool_->Append(payload); !s.ok()) {
    // Nothing may be decided that is not written down: fail closed.
    answer.slurm_error = ESLURM_INVALID_FEATURE;
    answer.message = absl::StrCat(
        "sovereign: cannot record the placement decision, so the job is refused (",
        s.message(), "); ask your cluster admins");
    answer.log_line = answer.message;
    return answer;
  }
  if (d.verdict != Verdict::kPlace) {
    answer.slurm_error = SlurmErrorFor(d.code);
    answer.message = absl::StrCat("sovereign: ", d.reason, " [decision ", rec.decision_id, "]");
    answer.log_line = absl::StrCat("sovereign: refused job of uid ", uid, ": ", d.reason,
                                   " [decision ", rec.decision_id, "]");
    return answer;
  }
  answer.accept = true;
  answer.partition = d.partition_name;
  answer.admin_comment = FormatJobTag(
      {rec.decision_id, d.labels, d.region, std::string(snap->reg->short_version())});
  if (!options_.region_feature_prefix.empty()) {
    answer.features = AddFeature(desc.features, options_.region_feature_prefix + d.region);
  }
  answer.log_line = absl::StrCat("sovereign: uid ", uid, " -> ", d.partition_name, " (",
                                 d.region, ") [decision ", rec.decision_id, "]");
  return answer;
}

ModifyAnswer SubmitFilter::Modify(const job_desc_msg_t& desc, const char* current_admin_comment,
                                  uint32_t submit_uid, absl::Time /*now*/) {
  ModifyAnswer answer;
  absl::StatusOr<JobTag> tag = ParseJobTag(current_admin_comment);
  if (!tag.ok()) {
    return answer;  // not a job we placed
  }
  // Only slurmctld's own user (the plugin's spool owner) and root may touch the tag.
  if (desc.admin_comment != nullptr) {
    absl::StatusOr<JobTag> new_tag = ParseJobTag(desc.admin_comment);
    if (!new_tag.ok() || new_tag->decision_id != tag->decision_id ||
        new_tag->region != tag->region || new_tag->datasets != tag->datasets) {
      answer.accept = false;
      answer.log_line = absl::StrCat("sovereign: refused change of the residency tag of a job by uid ",
                                     submit_uid, " (decision ", tag->decision_id, ")");
      return answer;
    }
  }
  std::shared_ptr<const snapshot::LoadedSnapshot> snap = watcher_->Current();
  auto region_of = [&](absl::string_view partition) -> std::string {
    if (snap == nullptr) {
      return "";
    }
    int idx = snap->reg->PartitionIndex(std::string(partition));
    return idx < 0 ? "" : snap->reg->regions()[snap->reg->RegionOfPartition(idx)].name;
  };
  if (desc.partition != nullptr) {
    for (absl::string_view p : absl::StrSplit(desc.partition, ',', absl::SkipEmpty())) {
      std::string region = region_of(p);
      if (region != tag->region) {
        answer.accept = false;
        answer.log_line = absl::StrCat(
            "sovereign: refused moving a job of decision ", tag->decision_id, " (datasets ",
            tag->datasets.empty() ? "none" : absl::StrJoin(tag->datasets, ","), ", region ",
            tag->region, ") to partition ", p, " (",
            region.empty() ? "not in the register" : absl::StrCat("region ", region), ")");
        return answer;
      }
    }
  }
  if (desc.features != nullptr && !options_.region_feature_prefix.empty()) {
    std::string guard = options_.region_feature_prefix + tag->region;
    if (std::strstr(desc.features, guard.c_str()) == nullptr) {
      answer.accept = false;
      answer.log_line = absl::StrCat("sovereign: refused features \"", desc.features,
                                     "\" for a job of decision ", tag->decision_id,
                                     ": they drop the region guard ", guard);
      return answer;
    }
  }
  if (desc.req_nodes != nullptr || desc.exc_nodes != nullptr || desc.reservation != nullptr) {
    // Node lists and reservations are bounded by the job's partition and its region feature,
    // which stay; log so that auditors can see the change.
    answer.log_line = absl::StrCat("sovereign: node list or reservation changed for decision ",
                                   tag->decision_id, "; partition and region guard unchanged");
  }
  return answer;
}

}  // namespace sovereign::plugin
