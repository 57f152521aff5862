#include "sovereign/file_modes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "sovereign/file_io.h"

namespace sovereign {
namespace {

constexpr mode_t kOthersWrite = S_IWGRP | S_IWOTH;

// A folder that already exists: its group and others lose write, unless it is sticky (nobody
// may then rename or remove another user's file in it) or not ours to change.
void TightenFolder(const std::string& dir, const struct stat& st, ModeNotes* notes) {
  const mode_t perms = st.st_mode & 07777;
  if ((perms & kOthersWrite) == 0 || (perms & S_ISVTX) != 0) {
    return;
  }
  const mode_t tight = perms & ~kOthersWrite;
  if (st.st_uid != geteuid()) {
    notes->push_back(absl::StrCat("folder ", dir, " has mode ", ModeText(perms), " and owner uid ",
                                  st.st_uid,
                                  ": other users may replace the files sovereign keeps "
                                  "in it; make it ",
                                  ModeText(tight)));
    return;
  }
  if (chmod(dir.c_str(), tight) != 0) {
    notes->push_back(absl::StrCat("folder ", dir, " has mode ", ModeText(perms),
                                  " and cannot be tightened to ", ModeText(tight), ": ",
                                  std::strerror(errno)));
    return;
  }
  notes->push_back(absl::StrCat("folder ", dir, " had mode ", ModeText(perms), ": tightened to ",
                                ModeText(tight)));
}

}  // namespace

std::string ModeText(mode_t mode) { return absl::StrFormat("%04o", mode & 07777); }

int CreateFileWithMode(const std::string& path, int flags, mode_t mode) {
  const int fd = open(path.c_str(), O_CREAT | O_EXCL | O_CLOEXEC | flags, mode);
  if (fd < 0) {
    return -1;
  }
  // open() took the umask's bits away; a new file has exactly the mode its readers need.
  if (fchmod(fd, mode) != 0) {
    const int err = errno;
    close(fd);
    unlink(path.c_str());
    errno = err;
    return -1;
  }
  return fd;
}

int CreateFolderWithMode(const std::string& dir, mode_t mode) {
  if (mkdir(dir.c_str(), mode) != 0) {
    return errno == EEXIST ? 0 : -1;
  }
  return chmod(dir.c_str(), mode);
}

void RestrictFileMode(const std::string& path, mode_t mode, absl::string_view what,
                      ModeNotes* notes) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return;
  }
  const mode_t perms = st.st_mode & 07777;
  if ((perms & ~mode) == 0) {
    return;
  }
  if (chmod(path.c_str(), mode) != 0) {
    notes->push_back(absl::StrCat(what, " ", path, " has mode ", ModeText(perms),
                                  " and cannot be tightened to ", ModeText(mode), ": ",
                                  std::strerror(errno)));
  } else {
    notes->push_back(absl::StrCat(what, " ", path, " had mode ", ModeText(perms), ": tightened to ",
                                  ModeText(mode)));
  }
}

void PrepareDatabaseFiles(const std::string& path, mode_t mode, absl::string_view what,
                          ModeNotes* notes) {
  const int fd = CreateFileWithMode(path, O_WRONLY, mode);
  if (fd >= 0) {
    close(fd);
  }
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    RestrictFileMode(absl::StrCat(path, suffix), mode, what, notes);
  }
}

absl::Status PrepareFolder(const std::string& dir, mode_t mode, ModeNotes* notes) {
  if (dir.empty()) {
    return absl::OkStatus();
  }
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return StatusFromErrno(ENOTDIR, absl::StrCat("cannot create directory ", dir));
    }
    TightenFolder(dir, st, notes);
    return absl::OkStatus();
  }
  // From the top down, each missing folder with `mode`.
  for (size_t slash = dir.find('/', 1);; slash = dir.find('/', slash + 1)) {
    const std::string folder = dir.substr(0, slash);
    if (CreateFolderWithMode(folder, mode) != 0) {
      return StatusFromErrno(errno, absl::StrCat("cannot create directory ", folder));
    }
    if (slash == std::string::npos) {
      return absl::OkStatus();
    }
  }
}

}  // namespace sovereign
