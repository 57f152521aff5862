#include "sovereign/file_io.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "absl/strings/str_cat.h"

namespace sovereign {
namespace {

absl::Status Failed(int err, absl::string_view step, absl::string_view path) {
  return StatusFromErrno(err, absl::StrCat(step, " ", path));
}

// Opens a new temporary file beside `path`; -1 with errno set when none can be created.
int OpenTemporary(const std::string& path, mode_t mode, std::string* tmp) {
  static std::atomic<uint64_t> counter{0};
  for (int attempt = 0; attempt < 100; ++attempt) {
    *tmp = absl::StrCat(path, ".tmp.", getpid(), ".", counter.fetch_add(1));
    const int fd = CreateFileWithMode(*tmp, O_WRONLY, mode);
    if (fd >= 0 || errno != EEXIST) {
      return fd;  // EEXIST: left by a crashed process of the same pid; try the next name
    }
  }
  return -1;
}

}  // namespace

std::string DirectoryOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) {
    return ".";
  }
  return slash == 0 ? "/" : path.substr(0, slash);
}

absl::StatusOr<std::string> ReadFileToString(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Failed(errno, "cannot read", path);
  }
  std::string out;
  char buf[65536];
  while (true) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      close(fd);
      return Failed(err, "cannot read", path);
    }
    if (n == 0) {
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents,
                                 mode_t mode) {
  std::string tmp;
  const int fd = OpenTemporary(path, mode, &tmp);
  if (fd < 0) {
    return Failed(errno, "cannot create a temporary file for", path);
  }
  // Closes and removes the temporary file; returns the error of `step`.
  auto abandon = [&](int err, absl::string_view step) {
    close(fd);
    unlink(tmp.c_str());
    return Failed(err, step, tmp);
  };
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = write(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return abandon(n == 0 ? ENOSPC : errno, "cannot write");
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0) {
    return abandon(errno, "cannot sync");
  }
  if (close(fd) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return Failed(err, "cannot write", tmp);
  }
  if (rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    unlink(tmp.c_str());
    return Failed(err, "cannot replace", path);
  }
  // The rename is in the directory: sync it, or a power loss may bring the old file back.
  const std::string dir = DirectoryOf(path);
  const int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) {
    return Failed(errno, "cannot open the directory to sync", dir);
  }
  if (fsync(dfd) != 0) {
    const int err = errno;
    close(dfd);
    return Failed(err, "cannot sync directory", dir);
  }
  close(dfd);
  return absl::OkStatus();
}

}  // namespace sovereign
