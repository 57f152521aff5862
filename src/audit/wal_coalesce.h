// A SQLite VFS that writes each transaction's WAL frames with one system call.
//
// SQLite writes a WAL frame as two writes (24-byte header, then the page), so a transaction
// that touches 13 pages costs 26 pwrite calls; on virtual machines, where a system call is
// dear, that is most of an append's time. This VFS wraps the default one and, for WAL files
// only, gathers consecutive writes in memory and hands them to the kernel in one write when the
// transaction's commit frame is complete (so COMMIT returns only after its frames are in the
// kernel: a crash of the process loses nothing acknowledged), and before anything else touches
// the file: a read, a sync, a truncate, the file size, a write elsewhere, or close. A failed
// write (disk full) is reported by the write of the commit frame, so the commit fails whole.
// Every other file, and every other operation, goes straight to the default VFS.
#pragma once

namespace sovereign::audit::sqlite {

// Registers the VFS on first use (not as the default) and returns its name for
// sqlite3_open_v2, or nullptr when it cannot be registered.
const char* CoalescingWalVfs();

}  // namespace sovereign::audit::sqlite
