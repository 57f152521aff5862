// The spool: how the Slurm plugin hands its decisions to sovereignd without waiting for it.
//
// The plugin (inside slurmctld) appends one record per decision to a segment file in a spool
// directory before it answers slurmctld; sovereignd reads the records, appends them to the
// hash-chained audit log (exactly once, by decision id) and deletes segments it has finished.
//
// On disk: <dir>/<16-digit sequence>.spool segment files, mode 0600 in a folder of mode 0700
// (whatever the umask): only the writer's user (slurmctld's; sovereignd runs as it, or as root)
// reads, adds or removes a record. Each record is framed as
//   "SVSP" | u32 little-endian payload length | u32 little-endian CRC-32 of length+payload |
//   payload
// and written with a single write(2) on an O_APPEND descriptor. A writer never appends to a
// segment it did not create: every SpoolWriter starts a fresh segment, so a record torn by a
// crash is always at the end of a segment that a newer segment follows. A reader treats an
// incomplete or corrupt tail of the newest segment as "still being written" and the same tail
// of an older segment as torn (dropped and reported, never half-read).
//
// Thread-safety: SpoolWriter::Append may be called from several threads (serialised by a
// mutex). SpoolReader is single-threaded. One reader per directory.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace sovereign::spool {

struct SpoolWriterOptions {
  // Spool directory; created (mode 0700, whatever the umask) if missing.
  std::string dir = "/var/spool/sovereign";
  // fdatasync after every record: survives power loss, costs a disk flush per decision.
  // Without it a record survives any crash of slurmctld (it is in the page cache).
  bool fdatasync_each = false;
  // Start a new segment when the current one exceeds this many bytes ...
  uint64_t segment_bytes = 4u << 20;
  // ... or is older than this, so that the reader can delete finished segments.
  std::chrono::seconds segment_age{30};
};

// Largest payload a record may carry.
inline constexpr uint32_t kMaxPayloadBytes = 1u << 20;

class SpoolWriter {
 public:
  // Creates the directory if needed and a new segment. Errors name the path and errno text.
  static absl::StatusOr<std::unique_ptr<SpoolWriter>> Open(const SpoolWriterOptions& options);
  ~SpoolWriter();
  SpoolWriter(const SpoolWriter&) = delete;
  SpoolWriter& operator=(const SpoolWriter&) = delete;

  // Appends one record. OK means it is written (and synced if configured). On failure nothing
  // of the record remains in the segment: RESOURCE_EXHAUSTED for a full disk, INTERNAL for
  // other I/O errors, INVALID_ARGUMENT for a payload over kMaxPayloadBytes.
  absl::Status Append(std::string_view payload);

  // The segment being written, for diagnostics.
  std::string current_segment() const;

 private:
  explicit SpoolWriter(SpoolWriterOptions options) : options_(std::move(options)) {}
  absl::Status OpenNextSegmentLocked();

  const SpoolWriterOptions options_;
  mutable std::mutex mu_;
  int fd_ = -1;
  std::string segment_path_;
  uint64_t segment_size_ = 0;
  std::chrono::steady_clock::time_point segment_opened_;
  std::string frame_;  // reused buffer
};

struct SpoolRecord {
  uint64_t segment = 0;  // segment sequence number
  uint64_t offset = 0;   // byte offset of the record's frame in the segment
  std::string payload;
};

struct ReadResult {
  std::vector<SpoolRecord> records;
  // Torn tails found in finished segments in this read: records lost to a crash mid-write.
  int torn_tails = 0;
  uint64_t torn_bytes = 0;
};

class SpoolReader {
 public:
  // The directory must exist. Starts from the oldest segment present.
  static absl::StatusOr<std::unique_ptr<SpoolReader>> Open(const std::string& dir);

  // Reads up to `max_records` complete records after the cursor.
  absl::StatusOr<ReadResult> ReadNew(size_t max_records);

  // Declares every record returned so far as safely stored elsewhere: deletes segments that
  // were read to their end and are followed by a newer segment. Returns how many were deleted.
  absl::StatusOr<int> Trim();

  // The cursor: the segment being read (0 before the first) and the next byte in it. Bytes
  // past it, in this segment and newer ones, are not read yet (the backlog).
  uint64_t segment() const { return segment_; }
  uint64_t offset() const { return offset_; }

 private:
  explicit SpoolReader(std::string dir) : dir_(std::move(dir)) {}

  std::string dir_;
  uint64_t segment_ = 0;  // current segment; 0 = none seen yet
  uint64_t offset_ = 0;   // next byte to read in it
  std::vector<uint64_t> finished_;  // segments read to their end, awaiting Trim
};

// Lists segment sequence numbers in `dir`, ascending.
absl::StatusOr<std::vector<uint64_t>> ListSegments(const std::string& dir);
// "<dir>/<16-digit seq>.spool"
std::string SegmentPath(const std::string& dir, uint64_t segment);

}  // namespace sovereign::spool
