// Tests that must change the process itself (a full disk in a private mount namespace, a file
// size limit, another user's identity) run that part in a forked child, which reports one line
// back through a pipe.
// Header-only; for unit tests.
#pragma once

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <string>

namespace sovereign::testing {

// The child's exit code when it could not set up what the test needs (the test then fails,
// saying what was missing).
inline constexpr int kChildCannotSetUp = 77;

struct ChildResult {
  bool exited = false;  // exited (not killed by a signal)
  int exit_code = -1;
  std::string report;  // what the child reported
};

// Ends the child: writes `message` to the parent and exits with `code`.
using Report = std::function<void(const std::string& message, int code)>;

// Runs `body` in a forked child and waits for it. `body` ends by calling its Report (exiting
// without one reports "" with code 0).
inline ChildResult RunInChild(const std::function<void(const Report&)>& body) {
  ChildResult result;
  int pipefd[2];
  if (pipe(pipefd) != 0) {
    result.report = "pipe failed";
    return result;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    result.report = "fork failed";
    return result;
  }
  if (pid == 0) {
    close(pipefd[0]);
    Report report = [&](const std::string& message, int code) {
      (void)!write(pipefd[1], message.data(), message.size());
      _exit(code);
    };
    body(report);
    _exit(0);
  }
  close(pipefd[1]);
  char buf[1024];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof buf)) > 0;) {
    result.report.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exited = WIFEXITED(status);
  result.exit_code = result.exited ? WEXITSTATUS(status) : -1;
  return result;
}

// What open(path, flags) gives a process of uid `uid` and gid `gid` without supplementary
// groups (run in a forked child; the test runs as root): "opened", or the name of the errno
// ("EACCES"). A new file is created with mode 0600.
inline std::string OpenAs(uid_t uid, gid_t gid, const std::string& path, int flags) {
  return RunInChild([&](const Report& report) {
           if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) {
             report("cannot become the unprivileged user", kChildCannotSetUp);
           }
           const int fd = open(path.c_str(), flags | O_CLOEXEC, 0600);
           report(fd >= 0 ? "opened" : strerrorname_np(errno), 0);
         })
      .report;
}

// In a child: a private mount namespace with a tmpfs mounted with `options` ("size=64k") on
// `dir`. Nothing propagates back to the parent's namespace. System calls only, so a child forked
// from a process with threads may call it before exec. Needs CAP_SYS_ADMIN; false when not
// possible.
inline bool MountTmpfsInNewNamespace(const char* dir, const char* options) {
  return unshare(CLONE_NEWNS) == 0 &&
         mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
         mount("tmpfs", dir, "tmpfs", 0, options) == 0;
}

// In the child: a private mount namespace with a tmpfs of `size` ("64k") on `dir`, so that the
// disk fills for real and for this process only. Needs CAP_SYS_ADMIN; false when not possible.
inline bool MountSmallTmpfs(const std::string& dir, const char* size) {
  const std::string options = std::string("size=") + size;
  return MountTmpfsInNewNamespace(dir.c_str(), options.c_str());
}

// Writes to `path` (created if missing, appended to) until its filesystem has no byte left:
// ever smaller writes once a write finds too little room, down to one byte, and at most
// `max_bytes` in all. Returns "" when the filesystem is full; otherwise what went wrong (a
// failed write, or `max_bytes` written with room left). Tests fill a small tmpfs with it.
inline std::string FillFileSystem(const std::string& path, size_t max_bytes) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) {
    return "open " + path + ": " + std::strerror(errno);
  }
  static const std::string kChunk(64 << 10, 'x');
  size_t size = kChunk.size(), written = 0;
  std::string error;
  while (size > 0) {
    if (written >= max_bytes) {
      error = path + ": " + std::to_string(written) + " bytes written and the filesystem has room";
      break;
    }
    const ssize_t n = write(fd, kChunk.data(), size);
    if (n < 0 && errno != ENOSPC) {
      error = "write " + path + ": " + std::strerror(errno);
      break;
    }
    if (n > 0) {
      written += static_cast<size_t>(n);
    }
    if (n < static_cast<ssize_t>(size)) {
      size /= 2;
    }
  }
  close(fd);
  return error;
}

}  // namespace sovereign::testing
