#include "submit_filter.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "sovereign/residency.h"
#include "sovereign/spool_record.h"
#include "sovereign/unix_accounts.h"
#include "sovereign/user_text.h"

namespace sovereign::plugin {
namespace {

// Bytes of a --constraint quoted back in a refusal (the user's value may be any length).
constexpr size_t kConstraintEcho = 200;

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
    absl::StatusOr<UserInfo> info = UserInfoById(uid);
    if (!info.ok()) {
      return info.status();
    }
    std::lock_guard<std::mutex> lock(mu_);
    cache_[uid] = {*info, now};
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
    return absl::InvalidArgumentError(
        absl::StrCat("this job was submitted from inside job ",
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

std::string SnapshotChangeLine(const std::string& path, const absl::Status& not_taken,
                               const snapshot::LoadedSnapshot* current, bool* is_error) {
  auto published = [](const snapshot::LoadedSnapshot& s) {
    return absl::StrCat("published ", snapshot::FormatPublishedAt(s.published_at), " (register ",
                        std::string(s.reg->short_version()), ")");
  };
  *is_error = !not_taken.ok() || current == nullptr;
  if (!*is_error) {
    return absl::StrCat("job_submit/sovereign: took snapshot ", path, " ", published(*current));
  }
  if (current != nullptr) {
    return absl::StrCat("job_submit/sovereign: kept the snapshot ", published(*current), ": ",
                        not_taken.message());
  }
  return absl::StrCat("job_submit/sovereign: no snapshot to decide from: ", not_taken.message(),
                      "; labelled jobs are refused until sovereignd publishes one");
}

absl::StatusOr<std::unique_ptr<SubmitFilter>> SubmitFilter::Create(
    PluginSettings options, std::unique_ptr<UserDirectory> users, FilterLog log) {
  spool::SpoolWriterOptions so;
  so.dir = options.spool_dir;
  so.fdatasync_each = options.spool_fdatasync;
  absl::StatusOr<std::unique_ptr<spool::SpoolWriter>> writer = spool::SpoolWriter::Open(so);
  if (!writer.ok()) {
    return writer.status();
  }
  return std::unique_ptr<SubmitFilter>(
      new SubmitFilter(std::move(options), std::move(users), *std::move(writer), std::move(log)));
}

SubmitFilter::SubmitFilter(PluginSettings options, std::unique_ptr<UserDirectory> users,
                           std::unique_ptr<spool::SpoolWriter> spool, FilterLog log)
    : options_(std::move(options)), users_(std::move(users)), spool_(std::move(spool)) {
  snapshot::WatcherOptions wo;
  wo.path = options_.snapshot_path;
  // Once per change of the file, on the watcher's thread: never on job_submit's path.
  wo.on_change = [path = options_.snapshot_path, log = std::move(log)](
                     const absl::Status& not_taken,
                     const std::shared_ptr<const snapshot::LoadedSnapshot>& current) {
    try {
      bool is_error = false;
      std::string line = SnapshotChangeLine(path, not_taken, current.get(), &is_error);
      if (const auto& sink = is_error ? log.error : log.info; sink) {
        sink(line);
      }
    } catch (...) {
      // A line that cannot be built is lost; nothing unwinds into slurmctld's thread.
    }
  };
  watcher_ = std::make_unique<snapshot::SnapshotWatcher>(wo);
}

std::shared_ptr<const std::vector<char>> SubmitFilter::SitesWithNodes(
    const std::shared_ptr<const snapshot::LoadedSnapshot>& snap) {
  if (snap->cluster.nodes.empty()) {
    return nullptr;  // a view without nodes says nothing about features
  }
  std::lock_guard<std::mutex> lock(sites_mu_);
  if (sites_snapshot_ != snap) {
    sites_with_nodes_ = std::make_shared<const std::vector<char>>(
        sovereign::SitesWithNodes(*snap->reg, options_.site_feature_prefix, snap->cluster.nodes));
    sites_snapshot_ = snap;
  }
  return sites_with_nodes_;
}

SubmitAnswer SubmitFilter::Submit(const job_desc_msg_t& desc, uint32_t submit_uid, absl::Time now,
                                  const char* parent_admin_comment) {
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
  rec.decision_id = ids_.Next(now);
  rec.stale_cluster = chosen.stale;
  rec.request = *std::move(request);
  rec.decision = Decide(rec.request, *chosen.view, *snap->reg, now);
  Decision& d = rec.decision;
  if (chosen.stale) {
    snapshot::NoteStaleView(options_.max_cluster_age, &d);
  }
  // The node-set guard, decided before anything is written down.
  std::string features = desc.features == nullptr ? "" : desc.features;
  if (d.verdict == Verdict::kPlace && !options_.region_feature_prefix.empty()) {
    features = AppendSiteGuard(features, options_.region_feature_prefix + d.region);
  }
  if (d.verdict == Verdict::kPlace && !options_.site_feature_prefix.empty()) {
    // The labels of a placed decision are all in this register.
    absl::StatusOr<Residency> residency = Residency::OfNames(d.labels, *snap->reg);
    if (!residency.ok()) {
      answer.slurm_error = ESLURM_INVALID_FEATURE;
      answer.message = absl::StrCat("sovereign: ", residency.status().message());
      answer.log_line = answer.message;
      return answer;
    }
    std::shared_ptr<const std::vector<char>> present = SitesWithNodes(snap);
    const std::string guard =
        SiteGuardTerm(*residency, options_.site_feature_prefix, present.get());
    const int chosen_site = snap->reg->SiteOfPartition(d.partition);
    if (!residency->unrestricted() && present != nullptr && !(*present)[chosen_site]) {
      // Slurm would refuse the guard with "Invalid feature specification": say why instead.
      answer.slurm_error = ESLURM_INVALID_FEATURE;
      answer.message = absl::StrCat(
          "sovereign: no node carries the site feature ",
          SiteFeature(options_.site_feature_prefix, snap->reg->sites()[chosen_site].name),
          " of partition ", d.partition_name,
          ", so the job cannot be kept on its allowed sites; ask your cluster admins to declare "
          "it (docs/admin.md)");
      answer.log_line = answer.message;
      return answer;
    }
    if (!guard.empty()) {
      if (desc.features != nullptr && std::strchr(desc.features, '*') != nullptr) {
        // Slurm enforces only the counted terms of an expression with node counts.
        answer.slurm_error = ESLURM_INVALID_FEATURE;
        answer.message = absl::StrCat(
            "sovereign: --constraint ", QuoteUserText(desc.features, kConstraintEcho),
            " uses node counts (*N), which cannot be combined with the guard that keeps the "
            "job on the sites its datasets allow; drop the counts or submit without them");
        answer.log_line = answer.message;
        return answer;
      }
      features = AppendSiteGuard(features, guard);
    }
  }
  std::string payload;
  payload.reserve(1024);
  spool::EncodeSpooledDecision(rec, &payload);
  if (absl::Status s = spool_->Append(payload); !s.ok()) {
    // Nothing may be decided that is not written down: fail closed.
    answer.slurm_error = ESLURM_INVALID_FEATURE;
    answer.message =
        absl::StrCat("sovereign: cannot record the placement decision, so the job is refused (",
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
  answer.admin_comment =
      FormatJobTag({rec.decision_id, d.labels, d.region, std::string(snap->reg->short_version())});
  if (features != (desc.features == nullptr ? "" : desc.features)) {
    answer.features = std::move(features);
  }
  if (d.green.asked > absl::ZeroDuration()) {
    if (d.green.moved && d.green.start > now) {
      answer.begin_time = absl::ToTimeT(d.green.start);
    }
    answer.message = absl::StrCat("sovereign: ", d.reason, " [decision ", rec.decision_id, "]");
  }
  answer.log_line = absl::StrCat("sovereign: uid ", uid, " -> ", d.partition_name, " (", d.region,
                                 ") [decision ", rec.decision_id, "]");
  return answer;
}

std::string RefusedChangeLine(uint32_t job_id, uint32_t submit_uid, const std::string& why) {
  return absl::StrCat("sovereign: refused a change to job ", job_id, " by uid ", submit_uid, ": ",
                      why);
}

ModifyAnswer SubmitFilter::RefuseModify(const job_desc_msg_t& desc, const CurrentJob& job,
                                        const JobTag& tag, uint32_t submit_uid, absl::Time now,
                                        const std::string& register_version, std::string why) {
  ModifyAnswer answer;
  answer.accept = false;
  spool::SpooledDecision rec;
  rec.decision_id = ids_.Next(now);
  rec.source = "plugin-modify";
  rec.job_id = job.job_id;
  JobRequest& r = rec.request;
  r.uid = submit_uid;
  if (absl::StatusOr<UserInfo> user = users_->Lookup(submit_uid); user.ok()) {
    r.user = user->name;
  }
  if (desc.account != nullptr) {
    r.account = desc.account;
  }
  r.datasets = tag.datasets;
  if (desc.partition != nullptr) {
    r.partitions = absl::StrSplit(desc.partition, ',', absl::SkipEmpty());
  }
  r.submit_time = now;
  Decision& d = rec.decision;
  d.verdict = Verdict::kReject;
  d.code = RejectCode::kModificationRefused;
  d.labels = tag.datasets;
  d.register_version = register_version;
  d.decided_at = now;
  d.reason =
      absl::StrCat("refused a change to job ", job.job_id, " by uid ", submit_uid, " (decision ",
                   tag.decision_id, ", datasets ",
                   tag.datasets.empty() ? "none" : absl::StrJoin(tag.datasets, ","), "): ", why);
  std::string payload;
  spool::EncodeSpooledDecision(rec, &payload);
  absl::Status spooled = spool_->Append(payload);
  answer.log_line =
      absl::StrCat("sovereign: ", d.reason, " [decision ", rec.decision_id, "]",
                   spooled.ok() ? "" : absl::StrCat(" (not spooled: ", spooled.message(), ")"));
  return answer;
}

ModifyAnswer SubmitFilter::Modify(const job_desc_msg_t& desc, const CurrentJob& job,
                                  uint32_t submit_uid, absl::Time now) {
  ModifyAnswer answer;
  absl::StatusOr<JobTag> tag = ParseJobTag(job.admin_comment);
  if (!tag.ok()) {
    return answer;  // not a job we placed
  }
  const bool touches_residency = desc.partition != nullptr || desc.features != nullptr ||
                                 desc.req_nodes != nullptr || desc.reservation != nullptr ||
                                 desc.account != nullptr || desc.comment != nullptr ||
                                 desc.admin_comment != nullptr;
  if (!touches_residency) {
    return answer;  // time limit, priority, hold, release, ...
  }
  std::shared_ptr<const snapshot::LoadedSnapshot> snap = watcher_->Current();
  if (snap == nullptr) {
    return RefuseModify(desc, job, *tag, submit_uid, now, "",
                        "no sovereignty register has been published, so the change cannot be "
                        "checked");
  }
  const Register& reg = *snap->reg;
  auto refuse = [&](std::string why) {
    return RefuseModify(desc, job, *tag, submit_uid, now, reg.version(), std::move(why));
  };

  // The datasets the job is held to: the tag's, or a new tag's (only ever more of them).
  std::vector<std::string> labels = tag->datasets;
  if (desc.admin_comment != nullptr) {
    absl::StatusOr<JobTag> new_tag = ParseJobTag(desc.admin_comment);
    if (!new_tag.ok()) {
      return refuse(absl::StrCat("the new admin comment \"", desc.admin_comment,
                                 "\" drops the residency tag"));
    }
    for (const std::string& ds : tag->datasets) {
      if (std::find(new_tag->datasets.begin(), new_tag->datasets.end(), ds) ==
          new_tag->datasets.end()) {
        return refuse(absl::StrCat("the new tag drops dataset ", ds));
      }
    }
    const bool more = new_tag->datasets.size() > tag->datasets.size();
    if (more && desc.features == nullptr && !options_.site_feature_prefix.empty()) {
      return refuse("a tag with more datasets must come with features that carry its site guard");
    }
    labels = new_tag->datasets;
  }
  absl::StatusOr<Residency> residency = Residency::OfNames(labels, reg);
  if (!residency.ok()) {
    return refuse(absl::StrCat(residency.status().message(), ", so the change cannot be checked"));
  }

  if (desc.partition != nullptr) {
    if (std::string why = PartitionsBreak(reg, *residency, desc.partition); !why.empty()) {
      return refuse(std::move(why));
    }
  }
  if (desc.features != nullptr && !options_.site_feature_prefix.empty()) {
    bool unreadable = false;
    std::string why =
        GuardBreaks(reg, *residency, desc.features, options_.site_feature_prefix, &unreadable);
    if (unreadable) {
      absl::StrAppend(&why, "; keep the guard ",
                      SiteGuardTerm(*residency, options_.site_feature_prefix), " as the last term");
    }
    if (!why.empty()) {
      return refuse(std::move(why));
    }
  }
  if (desc.req_nodes != nullptr && !residency->unrestricted()) {
    absl::StatusOr<std::vector<std::string>> nodes = ExpandNodeList(desc.req_nodes);
    if (!nodes.ok()) {
      return refuse(absl::StrCat(nodes.status().message(), ", so it cannot be checked"));
    }
    for (const NodeVerdict& v :
         JudgeNodes(reg, options_.site_feature_prefix, labels, *nodes, snap->cluster.nodes)) {
      if (!v.why.empty()) {
        return refuse(v.why);
      }
    }
  }
  // Datasets the change would declare: by the comment channel, or implied by a new account.
  absl::StatusOr<std::vector<std::string>> declared = DeclaredDatasets(desc);
  if (!declared.ok()) {
    return refuse(std::string(declared.status().message()));
  }
  for (const std::string& ds : *declared) {
    if (std::find(labels.begin(), labels.end(), ds) == labels.end()) {
      return refuse(absl::StrCat("the comment declares dataset ", ds,
                                 ", which the job was not placed for; submit a new job"));
    }
  }
  if (desc.account != nullptr) {
    if (const Account* account = reg.FindAccount(desc.account); account != nullptr) {
      for (const std::string& ds : account->datasets) {
        if (std::find(labels.begin(), labels.end(), ds) == labels.end()) {
          return refuse(absl::StrCat("account ", account->name, " implies dataset ", ds,
                                     ", which the job was not placed for; submit a new job "
                                     "under that account"));
        }
      }
    }
  }
  if (desc.reservation != nullptr) {
    // A reservation's nodes are bounded by the site guard, which stays; logged for auditors.
    answer.log_line =
        absl::StrCat("sovereign: job ", job.job_id, " (decision ", tag->decision_id,
                     ") moved to reservation ", desc.reservation, "; its site guard still applies");
  }
  return answer;
}

}  // namespace sovereign::plugin
