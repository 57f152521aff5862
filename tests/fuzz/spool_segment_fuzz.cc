// Fuzz target: the spool's segment framing as sovereignd reads it (SpoolReader::ReadNew: magic,
// length, CRC-32, torn and damaged records). The input is written as a segment file; its
// first byte says whether a newer segment follows (then the input is an older segment, whose
// bad tail is torn rather than still being written) and how many records each read may take.
// Every record returned must lie inside the segment, frames must not overlap, and the reader
// must end up past every byte of a finished segment.
#include <fcntl.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "sovereign/spool.h"

namespace {

// One spool directory for the whole run, removed at exit.
const std::string& SpoolDir() {
  static const std::string* dir = [] {
    std::string tmpl = std::filesystem::temp_directory_path() / "sovereign-spool-fuzz-XXXXXX";
    if (mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    auto* d = new std::string(tmpl);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(SpoolDir(), ec);
    });
    return d;
  }();
  return *dir;
}

void WriteFile(const std::string& path, const uint8_t* data, size_t size) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, data, size) != static_cast<ssize_t>(size) || close(fd) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) {
    return 0;
  }
  namespace spool = sovereign::spool;
  const bool newer_follows = (data[0] & 1) != 0;
  const size_t max_records = 1 + ((data[0] >> 1) & 7);
  const std::string& dir = SpoolDir();
  std::error_code ec;
  std::filesystem::remove(spool::SegmentPath(dir, 1), ec);
  std::filesystem::remove(spool::SegmentPath(dir, 2), ec);
  WriteFile(spool::SegmentPath(dir, 1), data + 1, size - 1);
  if (newer_follows) {
    WriteFile(spool::SegmentPath(dir, 2), nullptr, 0);
  }

  auto reader = spool::SpoolReader::Open(dir);
  if (!reader.ok()) {
    std::abort();
  }
  const uint64_t segment_bytes = size - 1;
  uint64_t end_of_last = 0;
  // Each read takes at least one record or moves past damaged bytes; a segment of n bytes
  // cannot need more than n + 2 reads.
  for (size_t round = 0; round < segment_bytes + 2; ++round) {
    auto result = (*reader)->ReadNew(max_records);
    if (!result.ok()) {
      std::abort();
    }
    if (result->records.size() > max_records) {
      std::abort();
    }
    for (const spool::SpoolRecord& r : result->records) {
      if (r.segment != 1 || r.offset < end_of_last ||
          r.offset + 12 + r.payload.size() > segment_bytes) {
        std::abort();
      }
      end_of_last = r.offset + 12 + r.payload.size();
    }
    if (result->records.empty() && result->torn_tails == 0) {
      break;
    }
  }
  // A finished segment (a newer one follows) is read to its end: nothing of it is left behind.
  if (newer_follows && !((*reader)->segment() == 2 ||
                         ((*reader)->segment() == 1 && (*reader)->offset() == segment_bytes))) {
    std::abort();
  }
  return 0;
}
