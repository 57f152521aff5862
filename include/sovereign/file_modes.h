// The access every file sovereign creates gets, and the one way it is given: modes are set
// explicitly, never left to the umask, and an existing file or folder that gives more access
// than its readers need is tightened. docs/admin.md ("Files, owners and modes") lists each file
// with its mode and who reads it.
//
// Functions that tighten something say so in `notes`, one line each for the caller's log, e.g.
//   "audit log /var/lib/sovereign/audit.db had mode 0644: tightened to 0600".
// A mode that cannot be changed (the file belongs to another user) is a note too, not an
// error: the file still works, and the log says what to fix. Thread-compatible.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace sovereign {

// Read and written by its owner only: the audit log and the register history (SQLite databases,
// with their -wal and -shm), the audit signing key, the spool's segments.
inline constexpr mode_t kPrivateFileMode = 0600;
// Written by its owner, read by everyone: the snapshot (read by slurmctld's user; it holds the
// register in force, which every user may read over gRPC, and the partitions and nodes sinfo
// shows everyone) and the register file sovereignd writes back on apply and rollback.
inline constexpr mode_t kPublicFileMode = 0644;
// Folders sovereignd creates for its files and socket: everyone may reach what is inside,
// nobody but the owner may add, remove or rename an entry.
inline constexpr mode_t kFolderMode = 0755;
// The spool folder (the plugin's, and sovereign-prolog's inside it): only its owner lists,
// writes and trims it.
inline constexpr mode_t kPrivateFolderMode = 0700;

// Lines for the log, one per file or folder whose mode was tightened or should be.
using ModeNotes = std::vector<std::string>;

// open(path, O_CREAT | O_EXCL | flags, mode), then fchmod to exactly `mode` whatever the umask.
// The file descriptor, or -1 with errno set (EEXIST when `path` exists).
int CreateFileWithMode(const std::string& path, int flags, mode_t mode);

// mkdir(dir, mode), then chmod to exactly `mode` whatever the umask. 0 when created, or when
// `dir` exists already (left as it is); -1 with errno set otherwise.
int CreateFolderWithMode(const std::string& dir, mode_t mode);

// An existing `path` that gives any permission `mode` does not is chmod'ed to `mode`, and a
// note says so. `what` names the file in notes ("audit log"). Nothing when `path` does not
// exist or cannot be looked at: the open that follows reports that in its own words.
void RestrictFileMode(const std::string& path, mode_t mode, absl::string_view what,
                      ModeNotes* notes);

// A SQLite database: creates `path` empty with exactly `mode` when it is missing, so that
// SQLite, which gives the -wal and -shm files it creates the mode of the database, creates them
// with `mode` too; and restricts an existing database and its -wal, -shm and -journal to `mode`
// (RestrictFileMode). Call before sqlite3_open_v2, which reports a database that cannot be
// created or opened.
void PrepareDatabaseFiles(const std::string& path, mode_t mode, absl::string_view what,
                          ModeNotes* notes);

// Creates `dir` and every missing folder above it with exactly `mode`. An existing `dir` that
// its group or others may write, and that is not sticky (in a sticky folder like /tmp nobody
// may rename or remove another user's file), loses that write permission when this process's
// user owns it; a note says so, or, for another owner's folder, that it lets other users
// replace the files in it. Errors: "cannot create directory <dir>: <why>".
absl::Status PrepareFolder(const std::string& dir, mode_t mode, ModeNotes* notes);

// "0644": a mode as the notes and messages write it.
std::string ModeText(mode_t mode);

}  // namespace sovereign
