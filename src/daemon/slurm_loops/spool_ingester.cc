#include "slurm_loops/spool_ingester.h"

#include <sys/stat.h>

#include <algorithm>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "records/audit_records.h"
#include "spdlog/spdlog.h"

namespace sovereign::service {

SpoolIngester::SpoolIngester(IngesterOptions options, audit::AuditLog* log,
                             RegisterLookup registers)
    : options_(std::move(options)), log_(log), registers_(std::move(registers)) {}

SpoolIngester::~SpoolIngester() { worker_.Stop(); }

void SpoolIngester::Start() {
  worker_.Start(options_.interval, PeriodicWorker::FirstRound::kAtOnce, [this] { Run(); });
}

absl::StatusOr<int> SpoolIngester::IngestOnce() {
  std::lock_guard<std::mutex> lock(mu_);
  if (reader_ == nullptr) {
    struct stat st;
    if (stat(options_.spool_dir.c_str(), &st) != 0) {
      return 0;  // the plugin has not started yet
    }
    absl::StatusOr<std::unique_ptr<spool::SpoolReader>> reader =
        spool::SpoolReader::Open(options_.spool_dir);
    if (!reader.ok()) {
      return reader.status();
    }
    reader_ = *std::move(reader);
  }
  absl::StatusOr<spool::ReadResult> read = reader_->ReadNew(options_.batch);
  if (!read.ok()) {
    return read.status();
  }
  if (read->torn_tails > 0) {
    torn_ += read->torn_tails;
    spdlog::warn("spool {}: {} torn record(s), {} bytes, at the end of a finished segment: "
                 "slurmctld stopped while writing them and never answered those submissions",
                 options_.spool_dir, read->torn_tails, read->torn_bytes);
  }
  std::shared_ptr<const Register> reg;
  std::vector<audit::AuditRecord> records;
  records.reserve(read->records.size());
  for (const spool::SpoolRecord& rec : read->records) {
    absl::StatusOr<spool::SpooledDecision> d = spool::DecodeSpooledDecision(rec.payload);
    if (!d.ok()) {
      ++undecodable_;
      std::ofstream(options_.spool_dir + "/undecodable.log", std::ios::app)
          << rec.segment << ":" << rec.offset << " " << d.status().message() << "\n"
          << rec.payload << "\n";
      spdlog::error("spool {}: record at segment {} offset {} set aside in undecodable.log: {}",
                    options_.spool_dir, rec.segment, rec.offset, std::string(d.status().message()));
      continue;
    }
    if (reg == nullptr || reg->version() != d->decision.register_version) {
      reg = registers_ ? registers_(d->decision.register_version) : nullptr;
    }
    records.push_back(SpooledToRecord(*d, reg.get()));
  }
  // One transaction for everything read: all of it is in the log, or none.
  const size_t n = records.size();
  if (absl::StatusOr<std::vector<audit::AuditRecord>> appended = log_->AppendAll(std::move(records));
      !appended.ok()) {
    // Read these again next round: the log refuses duplicates, so nothing is doubled.
    reader_.reset();
    return appended.status();
  }
  {
    // Cleared before the count grows: a status read never shows these records ingested and the
    // round still failing.
    std::lock_guard<std::mutex> error_lock(error_mu_);
    last_error_.clear();
  }
  ingested_ += static_cast<int64_t>(n);
  if (absl::StatusOr<int> trimmed = reader_->Trim(); !trimmed.ok()) {
    spdlog::warn("{}", std::string(trimmed.status().message()));
  }
  return static_cast<int>(read->records.size());
}

std::string SpoolIngester::last_error() const {
  std::lock_guard<std::mutex> lock(error_mu_);
  return last_error_;
}

int64_t SpoolIngester::BacklogBytes() {
  absl::StatusOr<std::vector<uint64_t>> segments = spool::ListSegments(options_.spool_dir);
  if (!segments.ok()) {
    return 0;  // no spool yet
  }
  uint64_t segment = 0, offset = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (reader_ != nullptr) {
      segment = reader_->segment();
      offset = reader_->offset();
    }
  }
  int64_t backlog = 0;
  for (uint64_t seg : *segments) {
    struct stat st;
    if (seg < segment || stat(spool::SegmentPath(options_.spool_dir, seg).c_str(), &st) != 0) {
      continue;
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    const uint64_t read = seg == segment ? std::min(offset, size) : 0;
    backlog += static_cast<int64_t>(size - read);
  }
  return backlog;
}

void SpoolIngester::Run() {
  absl::StatusOr<int> n = IngestOnce();
  if (!n.ok()) {
    ++failures_;
    spdlog::error("spool ingestion: {}", std::string(n.status().message()));
  }
  {
    std::lock_guard<std::mutex> error_lock(error_mu_);
    last_error_ = n.ok() ? "" : std::string(n.status().message());
  }
  // Drain a backlog without pausing; otherwise wait for the next round.
  if (n.ok() && *n >= static_cast<int>(options_.batch)) {
    worker_.Wake();
  }
}

}  // namespace sovereign::service
