#include "sovereign/spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sovereign/file_io.h"
#include "sovereign/file_modes.h"

namespace sovereign::spool {
namespace {

constexpr char kMagic[4] = {'S', 'V', 'S', 'P'};
constexpr size_t kHeaderBytes = 12;
constexpr std::string_view kSuffix = ".spool";

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) {
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) {
    v = (v << 8) | static_cast<unsigned char>(p[i]);
  }
  return v;
}

// CRC-32 over the 4 length bytes and the payload, so a torn length is caught too.
uint32_t FrameCrc(const char* length_bytes, std::string_view payload) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(length_bytes), 4);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(payload.data()),
              static_cast<uInt>(payload.size()));
  return static_cast<uint32_t>(crc);
}

// True when a whole record with a matching CRC starts at `pos`; sets its payload length.
bool ParseFrame(const std::string& data, size_t pos, size_t* len) {
  if (data.size() - pos < kHeaderBytes || std::memcmp(data.data() + pos, kMagic, 4) != 0) {
    return false;
  }
  uint32_t n = GetU32(data.data() + pos + 4);
  if (n > kMaxPayloadBytes || data.size() - pos - kHeaderBytes < n) {
    return false;
  }
  std::string_view payload(data.data() + pos + kHeaderBytes, n);
  if (FrameCrc(data.data() + pos + 4, payload) != GetU32(data.data() + pos + 8)) {
    return false;
  }
  *len = n;
  return true;
}

// The first offset >= from where a whole valid record starts, or npos.
size_t NextValidFrame(const std::string& data, size_t from) {
  size_t len = 0;
  for (size_t at = data.find(kMagic, from, 4); at != std::string::npos;
       at = data.find(kMagic, at + 1, 4)) {
    if (ParseFrame(data, at, &len)) {
      return at;
    }
  }
  return std::string::npos;
}

absl::Status ErrnoStatus(int err, absl::string_view what, absl::string_view path) {
  return FileErrorStatus(err, "spool", path, what);
}

}  // namespace

std::string SegmentPath(const std::string& dir, uint64_t segment) {
  return absl::StrFormat("%s/%016d%s", dir, segment, kSuffix);
}

absl::StatusOr<std::vector<uint64_t>> ListSegments(const std::string& dir) {
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) {
    return ErrnoStatus(errno, "cannot list directory", dir);
  }
  std::vector<uint64_t> out;
  while (struct dirent* e = readdir(d)) {
    std::string_view name(e->d_name);
    if (name.size() != 16 + kSuffix.size() || !name.ends_with(kSuffix)) {
      continue;
    }
    uint64_t seq = 0;
    if (absl::SimpleAtoi(std::string(name.substr(0, 16)), &seq) && seq > 0) {
      out.push_back(seq);
    }
  }
  closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<std::unique_ptr<SpoolWriter>> SpoolWriter::Open(const SpoolWriterOptions& options) {
  if (CreateFolderWithMode(options.dir, kPrivateFolderMode) != 0) {
    return ErrnoStatus(errno, "cannot create directory", options.dir);
  }
  std::unique_ptr<SpoolWriter> w(new SpoolWriter(options));
  std::lock_guard<std::mutex> lock(w->mu_);
  if (absl::Status s = w->OpenNextSegmentLocked(); !s.ok()) {
    return s;
  }
  return w;
}

SpoolWriter::~SpoolWriter() {
  if (fd_ >= 0) {
    close(fd_);
  }
}

std::string SpoolWriter::current_segment() const {
  std::lock_guard<std::mutex> lock(mu_);
  return segment_path_;
}

absl::Status SpoolWriter::OpenNextSegmentLocked() {
  absl::StatusOr<std::vector<uint64_t>> existing = ListSegments(options_.dir);
  if (!existing.ok()) {
    return existing.status();
  }
  uint64_t next = existing->empty() ? 1 : existing->back() + 1;
  // O_EXCL: another writer (a restarted or backup controller) may race us to the same number.
  for (int attempt = 0; attempt < 100; ++attempt, ++next) {
    std::string path = SegmentPath(options_.dir, next);
    int fd = CreateFileWithMode(path, O_WRONLY | O_APPEND, kPrivateFileMode);
    if (fd < 0 && errno == EEXIST) {
      continue;
    }
    if (fd < 0) {
      return ErrnoStatus(errno, "cannot create segment", path);
    }
    if (fd_ >= 0) {
      close(fd_);
    }
    fd_ = fd;
    segment_path_ = std::move(path);
    segment_size_ = 0;
    segment_opened_ = std::chrono::steady_clock::now();
    return absl::OkStatus();
  }
  return absl::InternalError(
      absl::StrCat("spool ", options_.dir, ": cannot create a new segment after 100 attempts"));
}

absl::Status SpoolWriter::Append(std::string_view payload) {
  if (payload.size() > kMaxPayloadBytes) {
    return absl::InvalidArgumentError(absl::StrCat("spool record of ", payload.size(),
                                                   " bytes exceeds the limit of ",
                                                   kMaxPayloadBytes, " bytes"));
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (segment_size_ > 0 &&
      (segment_size_ >= options_.segment_bytes ||
       std::chrono::steady_clock::now() - segment_opened_ >= options_.segment_age)) {
    if (absl::Status s = OpenNextSegmentLocked(); !s.ok()) {
      return s;
    }
  }
  frame_.clear();
  frame_.append(kMagic, sizeof(kMagic));
  PutU32(&frame_, static_cast<uint32_t>(payload.size()));
  PutU32(&frame_, FrameCrc(frame_.data() + 4, payload));
  frame_.append(payload);

  ssize_t n = write(fd_, frame_.data(), frame_.size());
  if (n != static_cast<ssize_t>(frame_.size())) {
    int err = n < 0 ? errno : ENOSPC;  // a short write to a regular file means no space
    // Leave no partial frame behind: cut the segment back to its last whole record.
    if (n > 0 && ftruncate(fd_, static_cast<off_t>(segment_size_)) != 0) {
      // The reader will see the partial frame as a torn tail once the next segment starts.
      OpenNextSegmentLocked().IgnoreError();
    }
    return ErrnoStatus(err, "cannot write decision record", segment_path_);
  }
  if (options_.fdatasync_each && fdatasync(fd_) != 0) {
    int err = errno;
    return ErrnoStatus(err, "cannot sync decision record", segment_path_);
  }
  segment_size_ += frame_.size();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<SpoolReader>> SpoolReader::Open(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    return ErrnoStatus(errno, "cannot open directory", dir);
  }
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat("spool ", dir, ": not a directory"));
  }
  return std::unique_ptr<SpoolReader>(new SpoolReader(dir));
}

absl::StatusOr<ReadResult> SpoolReader::ReadNew(size_t max_records) {
  ReadResult result;
  absl::StatusOr<std::vector<uint64_t>> segments = ListSegments(dir_);
  if (!segments.ok()) {
    return segments.status();
  }
  for (uint64_t seg : *segments) {
    if (seg < segment_ || result.records.size() >= max_records) {
      continue;
    }
    if (seg > segment_) {
      segment_ = seg;
      offset_ = 0;
    }
    const bool newest = seg == segments->back();
    std::string path = SegmentPath(dir_, seg);
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      return ErrnoStatus(errno, "cannot open segment", path);
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
      int err = errno;
      close(fd);
      return ErrnoStatus(err, "cannot stat segment", path);
    }
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    std::string data(size > offset_ ? size - offset_ : 0, '\0');
    size_t got = 0;
    while (got < data.size()) {
      ssize_t n = pread(fd, data.data() + got, data.size() - got,
                        static_cast<off_t>(offset_ + got));
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        break;
      }
      got += static_cast<size_t>(n);
    }
    close(fd);
    data.resize(got);

    size_t pos = 0;
    bool waiting = false;  // an unfinished tail the writer may still complete
    while (pos < data.size() && result.records.size() < max_records) {
      size_t len = 0;
      if (ParseFrame(data, pos, &len)) {
        result.records.push_back(
            {seg, offset_ + pos, data.substr(pos + kHeaderBytes, len)});
        pos += kHeaderBytes + len;
        continue;
      }
      // Not a whole, valid record. If a valid one follows, the bytes between were damaged:
      // skip them. Otherwise this is the tail: still being written if this is the newest
      // segment, torn by a crash if a newer segment exists.
      size_t next = NextValidFrame(data, pos + 1);
      if (next == std::string::npos && newest) {
        waiting = true;
        break;
      }
      size_t skip_to = next == std::string::npos ? data.size() : next;
      ++result.torn_tails;
      result.torn_bytes += skip_to - pos;
      pos = skip_to;
    }
    offset_ += pos;
    if (waiting || newest || offset_ < size) {
      break;  // the newest segment, or the record budget ran out
    }
    finished_.push_back(seg);
  }
  return result;
}

absl::StatusOr<int> SpoolReader::Trim() {
  int deleted = 0;
  for (uint64_t seg : finished_) {
    std::string path = SegmentPath(dir_, seg);
    if (unlink(path.c_str()) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "cannot delete finished segment", path);
    }
    ++deleted;
  }
  finished_.clear();
  return deleted;
}

}  // namespace sovereign::spool
