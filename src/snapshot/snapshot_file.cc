#include "sovereign/snapshot_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "sovereign/digest.h"
#include "sovereign/file_io.h"

namespace sovereign::snapshot {
namespace {

constexpr absl::string_view kMagic = "SOVEREIGN-SNAPSHOT";
constexpr int kFormat = 1;
// A register of 10,000 partitions and datasets is a few MiB; anything far larger is not ours.
constexpr size_t kMaxBytes = 256u << 20;

absl::Status Errno(absl::string_view what, const std::string& path) {
  return FileErrorStatus(errno, "snapshot", path, what);
}

std::string FileIdentity(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return "missing";
  }
  return absl::StrCat(st.st_dev, ":", st.st_ino, ":", st.st_size, ":", st.st_mtim.tv_sec, ".",
                      st.st_mtim.tv_nsec);
}

}  // namespace

std::string FormatPublishedAt(absl::Time published_at) {
  return absl::FormatTime(absl::RFC3339_full, published_at, absl::UTCTimeZone());
}

std::string EncodeSnapshot(const std::string& register_yaml, const std::string& register_source,
                           const Register& reg, const ClusterSnapshot& cluster,
                           absl::Time published_at) {
  nlohmann::json body = {
      {"published_at", FormatPublishedAt(published_at)},
      {"register_source", register_source},
      {"register_version", reg.version()},
      {"register_yaml", register_yaml},
      {"cluster", nlohmann::json::parse(cluster.ToJson())},
  };
  std::string text = body.dump();
  return absl::StrCat(kMagic, " ", kFormat, " ", text.size(), " ", Sha256Hex(text), "\n", text);
}

absl::StatusOr<std::shared_ptr<const LoadedSnapshot>> DecodeSnapshot(const std::string& bytes,
                                                                     const std::string& source) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot ", source, ": ", why));
  };
  size_t eol = bytes.find('\n');
  if (eol == std::string::npos) {
    return bad("no header line (not a sovereign snapshot)");
  }
  std::vector<absl::string_view> header =
      absl::StrSplit(absl::string_view(bytes).substr(0, eol), ' ');
  size_t length = 0;
  if (header.size() != 4 || header[0] != kMagic || !absl::SimpleAtoi(header[2], &length)) {
    return bad("bad header line (not a sovereign snapshot)");
  }
  if (header[1] != absl::StrCat(kFormat)) {
    return bad(absl::StrCat("format ", header[1], " is not supported (this build reads format ",
                            kFormat, ")"));
  }
  absl::string_view body(bytes.data() + eol + 1, bytes.size() - eol - 1);
  if (body.size() != length) {
    return absl::DataLossError(absl::StrCat("snapshot ", source, ": body is ", body.size(),
                                            " bytes, header says ", length,
                                            " (file truncated or partially written)"));
  }
  if (Sha256Hex(body) != header[3]) {
    return absl::DataLossError(absl::StrCat(
        "snapshot ", source, ": checksum mismatch (file damaged or partially written)"));
  }
  nlohmann::json doc = nlohmann::json::parse(body.begin(), body.end(), nullptr,
                                             /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("register_yaml") ||
      !doc["register_yaml"].is_string() || !doc.contains("cluster") ||
      !doc.contains("register_version") || !doc["register_version"].is_string()) {
    return bad("body is not a snapshot document");
  }
  auto loaded = std::make_shared<LoadedSnapshot>();
  std::string register_source = doc.value("register_source", "register");
  absl::StatusOr<std::shared_ptr<const Register>> reg =
      Register::Parse(doc["register_yaml"].get<std::string>(), register_source);
  if (!reg.ok()) {
    return bad(absl::StrCat("its register does not validate: ", reg.status().message()));
  }
  if ((*reg)->version() != doc["register_version"].get<std::string>()) {
    return bad(absl::StrCat("register version ", (*reg)->version(), " differs from the claimed ",
                            doc["register_version"].get<std::string>()));
  }
  absl::StatusOr<ClusterSnapshot> cluster =
      ClusterSnapshot::FromJson(doc["cluster"].dump(), source);
  if (!cluster.ok()) {
    return cluster.status();
  }
  std::string err;
  if (doc.contains("published_at") && doc["published_at"].is_string() &&
      !absl::ParseTime(absl::RFC3339_full, doc["published_at"].get<std::string>(),
                       &loaded->published_at, &err)) {
    return bad(absl::StrCat("published_at: ", err));
  }
  loaded->reg = *std::move(reg);
  loaded->cluster = *std::move(cluster);
  loaded->view = ClusterView::Bind(loaded->cluster, *loaded->reg);
  loaded->static_view = ClusterView::AllUp(*loaded->reg);
  return std::shared_ptr<const LoadedSnapshot>(std::move(loaded));
}

ChosenView ChooseView(const LoadedSnapshot& snapshot, absl::Time now,
                      absl::Duration max_cluster_age) {
  const bool stale = now - snapshot.cluster.taken_at > max_cluster_age;
  return ChosenView{stale ? &snapshot.static_view : &snapshot.view, stale};
}

void NoteStaleView(absl::Duration max_cluster_age, Decision* decision) {
  if (decision->verdict == Verdict::kPlace) {
    absl::StrAppend(&decision->reason, " (cluster view older than ",
                    absl::FormatDuration(max_cluster_age),
                    ": scored from the register's static figures)");
  }
}

absl::StatusOr<std::shared_ptr<const LoadedSnapshot>> ReadSnapshotFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Errno("cannot open", path);
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    absl::Status s = Errno("cannot stat", path);
    close(fd);
    return s;
  }
  if (static_cast<size_t>(st.st_size) > kMaxBytes) {
    close(fd);
    return absl::InvalidArgumentError(absl::StrCat("snapshot ", path, ": ", st.st_size,
                                                   " bytes is larger than the limit of ", kMaxBytes,
                                                   " bytes"));
  }
  std::string bytes(static_cast<size_t>(st.st_size), '\0');
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = read(fd, bytes.data() + got, bytes.size() - got);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;
    }
    got += static_cast<size_t>(n);
  }
  close(fd);
  bytes.resize(got);
  return DecodeSnapshot(bytes, path);
}

SnapshotWatcher::SnapshotWatcher(WatcherOptions options) : options_(std::move(options)) {
  Look(/*first_look=*/true);
  worker_.Start(options_.poll_interval, PeriodicWorker::FirstRound::kAfterInterval,
                [this] { CheckNow(); });
}

SnapshotWatcher::~SnapshotWatcher() { worker_.Stop(); }

std::shared_ptr<const LoadedSnapshot> SnapshotWatcher::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

absl::Status SnapshotWatcher::last_error() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_error_;
}

void SnapshotWatcher::CheckNow() { Look(/*first_look=*/false); }

void SnapshotWatcher::Look(bool first_look) {
  // One look at a time, so that each change is read and reported once.
  std::lock_guard<std::mutex> look(look_mu_);
  std::string identity = FileIdentity(options_.path);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (identity == identity_) {
      return;
    }
  }
  // Parse outside the lock: Current() never waits for a reload.
  absl::StatusOr<std::shared_ptr<const LoadedSnapshot>> loaded = ReadSnapshotFile(options_.path);
  std::shared_ptr<const LoadedSnapshot> current;
  {
    std::lock_guard<std::mutex> lock(mu_);
    identity_ = identity;
    if (loaded.ok() && current_ != nullptr && (*loaded)->published_at < current_->published_at) {
      // A copy put back from a backup, or written by a second, stale sovereignd: its register
      // may allow what a newer one no longer does.
      loaded = absl::FailedPreconditionError(absl::StrCat(
          "snapshot ", options_.path, ": published ", FormatPublishedAt((*loaded)->published_at),
          ", before the snapshot in use: an older snapshot is never taken"));
    }
    if (loaded.ok()) {
      current_ = *std::move(loaded);
      last_error_ = absl::OkStatus();
    } else {
      last_error_ = loaded.status();
    }
    current = current_;
  }
  if (options_.on_change && !first_look) {
    options_.on_change(loaded.status(), current);
  }
}

}  // namespace sovereign::snapshot
