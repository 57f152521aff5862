#include "register_lifecycle/register_manager.h"

#include <spdlog/spdlog.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "sovereign/file_io.h"

namespace sovereign::service {

absl::StatusOr<std::unique_ptr<RegisterManager>> RegisterManager::Start(
    RegisterManagerOptions options, RegisterStore* store) {
  std::unique_ptr<RegisterManager> m(new RegisterManager(std::move(options), store));
  absl::StatusOr<std::string> yaml = ReadFileToString(m->options_.register_path);
  if (!yaml.ok()) {
    return yaml.status();
  }
  std::lock_guard<std::mutex> lock(m->change_mu_);
  absl::StatusOr<ApplyResult> r =
      m->ApplyLocked(*yaml, m->options_.register_path, "sovereignd (startup)", "startup", "",
                     /*write_file=*/false);
  if (!r.ok()) {
    return r.status();
  }
  return m;
}

absl::StatusOr<ClusterView> RegisterManager::BindCluster(const Register& reg) const {
  if (options_.cluster_path.empty()) {
    return ClusterView::AllUp(reg);
  }
  absl::StatusOr<ClusterSnapshot> snapshot = ClusterSnapshot::Load(options_.cluster_path);
  if (!snapshot.ok()) {
    return snapshot.status();
  }
  return ClusterView::Bind(*snapshot, reg);
}

absl::StatusOr<ApplyResult> RegisterManager::ApplyLocked(
    const std::string& yaml, const std::string& source, const std::string& applied_by,
    const std::string& action, const std::string& comment, bool write_file) {
  absl::StatusOr<std::shared_ptr<const Register>> reg =
      Register::Parse(yaml, source.empty() ? "register.yaml" : source);
  if (!reg.ok()) {
    return reg.status();
  }
  absl::StatusOr<ClusterView> view = BindCluster(**reg);
  if (!view.ok()) {
    return view.status();
  }
  std::shared_ptr<const ActiveRegister> old = current_.load();
  ApplyResult result;
  result.previous_version = old != nullptr ? old->reg->version() : "";
  result.changed = old == nullptr || old->reg->version() != (*reg)->version();

  // At start-up the file is what the store last recorded unless someone edited it while the
  // daemon was down: record it only when it differs.
  bool record = true;
  if (action == "startup") {
    absl::StatusOr<std::optional<StoredRegister>> latest = store_->Latest();
    if (!latest.ok()) {
      return latest.status();
    }
    if (latest->has_value() && (*latest)->version == (*reg)->version()) {
      record = false;
      result.revision = **latest;
      result.changed = false;
    }
  }
  if (action == "reload" && !result.changed) {
    // The file was not changed: nothing to record or swap.
    result.revision.revision = old->revision;
    result.revision.version = old->reg->version();
    return result;
  }
  if (record) {
    StoredRegister entry;
    entry.version = (*reg)->version();
    entry.yaml = yaml;
    entry.source = source;
    entry.applied_by = applied_by;
    entry.action = action;
    entry.comment = comment;
    entry.applied_at = absl::Now();
    if (write_file && options_.write_register_file) {
      // File first: if the store then fails, the file holds a valid register that a restart
      // records; the other order could leave a recorded version that no file backs.
      if (absl::Status s = WriteFileAtomically(options_.register_path, yaml, kPublicFileMode);
          !s.ok()) {
        return s;
      }
    }
    absl::StatusOr<StoredRegister> stored = store_->Append(std::move(entry));
    if (!stored.ok()) {
      return stored.status();
    }
    result.revision = *std::move(stored);
  }
  auto next = std::make_shared<ActiveRegister>();
  next->reg = *std::move(reg);
  next->view = *std::move(view);
  next->revision = result.revision.revision;
  next->source = source;
  current_.store(std::move(next));
  spdlog::info("register {} in force (revision {}, {} by {})",
               std::string(current_.load()->reg->short_version()), result.revision.revision, action,
               applied_by);
  return result;
}

absl::StatusOr<ApplyResult> RegisterManager::Apply(
    const std::string& yaml, const std::string& source, const std::string& applied_by,
    const std::string& action, const std::string& comment, const std::string& expected_version) {
  std::lock_guard<std::mutex> lock(change_mu_);
  if (!expected_version.empty()) {
    const std::string& in_force = current_.load()->reg->version();
    if (!absl::StartsWith(in_force, expected_version)) {
      return absl::FailedPreconditionError(
          absl::StrCat("the register in force is ", in_force.substr(0, 12), ", not ",
                       expected_version, ": someone applied another register meanwhile"));
    }
  }
  return ApplyLocked(yaml, source, applied_by, action, comment, /*write_file=*/true);
}

absl::StatusOr<ApplyResult> RegisterManager::Rollback(const std::string& version,
                                                      const std::string& applied_by,
                                                      const std::string& comment) {
  absl::StatusOr<StoredRegister> stored = store_->FindVersion(version);
  if (!stored.ok()) {
    return stored.status();
  }
  std::lock_guard<std::mutex> lock(change_mu_);
  return ApplyLocked(stored->yaml, stored->source, applied_by, "rollback", comment,
                     /*write_file=*/true);
}

absl::StatusOr<ApplyResult> RegisterManager::Reload() {
  std::lock_guard<std::mutex> lock(change_mu_);
  absl::StatusOr<std::string> yaml = ReadFileToString(options_.register_path);
  absl::StatusOr<ApplyResult> r =
      yaml.ok() ? ApplyLocked(*yaml, options_.register_path, "sovereignd (SIGHUP)", "reload", "",
                              /*write_file=*/false)
                : absl::StatusOr<ApplyResult>(yaml.status());
  if (!r.ok()) {
    reload_failures_.fetch_add(1);
  }
  return r;
}

}  // namespace sovereign::service
