#include "wal_coalesce.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <new>
#include <string>

namespace sovereign::audit::sqlite {
namespace {

constexpr const char* kVfsName = "sovereign-wal-coalesce";
// A WAL frame is a 24-byte header, written alone, then the page. Bytes 4..7 of the header are
// the database size after a commit: non-zero only in a transaction's commit frame.
constexpr int kFrameHeaderSize = 24;
// Gathered bytes are written out at this size even without a commit (a large transaction).
constexpr size_t kMaxGathered = 1 << 20;
// The default VFS takes at most 128 KiB - 1 per write (it keeps 17 bits of the length: a
// longer write is cut short and taken for a full disk), so gathered bytes go out in pieces.
constexpr size_t kMaxWrite = 120 * 1024;

struct File {
  sqlite3_file base;     // must come first: SQLite sees this
  sqlite3_file* real;    // the default VFS's file, right behind this struct
  bool wal;
  bool commit_page_next;  // the last write was a commit frame's header
  sqlite3_int64 gathered_at;
  std::string gathered;
};
constexpr size_t kRealOffset = (sizeof(File) + 7) & ~size_t{7};

File* Of(sqlite3_file* f) { return reinterpret_cast<File*>(f); }
sqlite3_file* Real(sqlite3_file* f) { return Of(f)->real; }

int Flush(File* f) {
  if (f->gathered.empty()) {
    return SQLITE_OK;
  }
  int rc = SQLITE_OK;
  for (size_t done = 0; rc == SQLITE_OK && done < f->gathered.size(); done += kMaxWrite) {
    size_t n = std::min(kMaxWrite, f->gathered.size() - done);
    rc = f->real->pMethods->xWrite(f->real, f->gathered.data() + done, static_cast<int>(n),
                                   f->gathered_at + static_cast<sqlite3_int64>(done));
  }
  f->gathered.clear();
  f->commit_page_next = false;
  return rc;
}

int Close(sqlite3_file* sf) {
  File* f = Of(sf);
  int flushed = Flush(f);
  int rc = f->real->pMethods->xClose(f->real);
  f->~File();
  return flushed != SQLITE_OK ? flushed : rc;
}

int Read(sqlite3_file* sf, void* out, int n, sqlite3_int64 off) {
  if (int rc = Flush(Of(sf)); rc != SQLITE_OK) {
    return rc;
  }
  return Real(sf)->pMethods->xRead(Real(sf), out, n, off);
}

int Write(sqlite3_file* sf, const void* data, int n, sqlite3_int64 off) {
  File* f = Of(sf);
  if (!f->wal) {
    return f->real->pMethods->xWrite(f->real, data, n, off);
  }
  if (!f->gathered.empty() &&
      off != f->gathered_at + static_cast<sqlite3_int64>(f->gathered.size())) {
    if (int rc = Flush(f); rc != SQLITE_OK) {
      return rc;
    }
  }
  if (f->gathered.empty()) {
    f->gathered_at = off;
  }
  f->gathered.append(static_cast<const char*>(data), static_cast<size_t>(n));
  bool commit_complete = false;
  if (f->commit_page_next) {
    f->commit_page_next = false;
    commit_complete = true;  // this was the commit frame's page
  } else if (n == kFrameHeaderSize) {
    const auto* h = static_cast<const unsigned char*>(data);
    f->commit_page_next = (h[4] | h[5] | h[6] | h[7]) != 0;
  }
  if (commit_complete || f->gathered.size() >= kMaxGathered) {
    return Flush(f);
  }
  return SQLITE_OK;
}

int Truncate(sqlite3_file* sf, sqlite3_int64 size) {
  if (int rc = Flush(Of(sf)); rc != SQLITE_OK) {
    return rc;
  }
  return Real(sf)->pMethods->xTruncate(Real(sf), size);
}

int Sync(sqlite3_file* sf, int flags) {
  if (int rc = Flush(Of(sf)); rc != SQLITE_OK) {
    return rc;
  }
  return Real(sf)->pMethods->xSync(Real(sf), flags);
}

int FileSize(sqlite3_file* sf, sqlite3_int64* size) {
  if (int rc = Flush(Of(sf)); rc != SQLITE_OK) {
    return rc;
  }
  return Real(sf)->pMethods->xFileSize(Real(sf), size);
}

int Lock(sqlite3_file* sf, int level) { return Real(sf)->pMethods->xLock(Real(sf), level); }
int Unlock(sqlite3_file* sf, int level) { return Real(sf)->pMethods->xUnlock(Real(sf), level); }
int CheckReservedLock(sqlite3_file* sf, int* out) {
  return Real(sf)->pMethods->xCheckReservedLock(Real(sf), out);
}

int FileControl(sqlite3_file* sf, int op, void* arg) {
  if (int rc = Flush(Of(sf)); rc != SQLITE_OK) {
    return rc;
  }
  return Real(sf)->pMethods->xFileControl(Real(sf), op, arg);
}

int SectorSize(sqlite3_file* sf) { return Real(sf)->pMethods->xSectorSize(Real(sf)); }
int DeviceCharacteristics(sqlite3_file* sf) {
  return Real(sf)->pMethods->xDeviceCharacteristics(Real(sf));
}
int ShmMap(sqlite3_file* sf, int region, int size, int extend, void volatile** out) {
  return Real(sf)->pMethods->xShmMap(Real(sf), region, size, extend, out);
}
int ShmLock(sqlite3_file* sf, int offset, int n, int flags) {
  return Real(sf)->pMethods->xShmLock(Real(sf), offset, n, flags);
}
void ShmBarrier(sqlite3_file* sf) { Real(sf)->pMethods->xShmBarrier(Real(sf)); }
int ShmUnmap(sqlite3_file* sf, int delete_flag) {
  return Real(sf)->pMethods->xShmUnmap(Real(sf), delete_flag);
}
int Fetch(sqlite3_file* sf, sqlite3_int64 off, int n, void** out) {
  return Real(sf)->pMethods->xFetch(Real(sf), off, n, out);
}
int Unfetch(sqlite3_file* sf, sqlite3_int64 off, void* p) {
  return Real(sf)->pMethods->xUnfetch(Real(sf), off, p);
}

constexpr sqlite3_io_methods Methods(int version) {
  return {version,     Close,        Read,       Write,
          Truncate,    Sync,         FileSize,   Lock,
          Unlock,      CheckReservedLock,        FileControl,
          SectorSize,  DeviceCharacteristics,    ShmMap,
          ShmLock,     ShmBarrier,   ShmUnmap,   Fetch,
          Unfetch};
}
// One table per io_methods version, so that SQLite calls only what the real file has.
const sqlite3_io_methods kMethods[3] = {Methods(1), Methods(2), Methods(3)};

sqlite3_vfs* Under(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* sf, int flags, int* out_flags) {
  File* f = new (sf) File();
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(sf) + kRealOffset);
  f->real->pMethods = nullptr;
  f->wal = (flags & SQLITE_OPEN_WAL) != 0;
  int rc = Under(vfs)->xOpen(Under(vfs), name, f->real, flags, out_flags);
  if (rc != SQLITE_OK || f->real->pMethods == nullptr) {
    if (f->real->pMethods != nullptr) {
      f->real->pMethods->xClose(f->real);
    }
    f->~File();
    sf->pMethods = nullptr;
    return rc != SQLITE_OK ? rc : SQLITE_CANTOPEN;
  }
  int version = std::clamp(f->real->pMethods->iVersion, 1, 3);
  f->base.pMethods = &kMethods[version - 1];
  return SQLITE_OK;
}

int Delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return Under(vfs)->xDelete(Under(vfs), name, sync_dir);
}
int Access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return Under(vfs)->xAccess(Under(vfs), name, flags, out);
}
int FullPathname(sqlite3_vfs* vfs, const char* name, int n, char* out) {
  return Under(vfs)->xFullPathname(Under(vfs), name, n, out);
}
void* DlOpen(sqlite3_vfs* vfs, const char* name) { return Under(vfs)->xDlOpen(Under(vfs), name); }
void DlError(sqlite3_vfs* vfs, int n, char* out) { Under(vfs)->xDlError(Under(vfs), n, out); }
void (*DlSym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return Under(vfs)->xDlSym(Under(vfs), handle, symbol);
}
void DlClose(sqlite3_vfs* vfs, void* handle) { Under(vfs)->xDlClose(Under(vfs), handle); }
int Randomness(sqlite3_vfs* vfs, int n, char* out) {
  return Under(vfs)->xRandomness(Under(vfs), n, out);
}
int Sleep(sqlite3_vfs* vfs, int micros) { return Under(vfs)->xSleep(Under(vfs), micros); }
int CurrentTime(sqlite3_vfs* vfs, double* out) {
  return Under(vfs)->xCurrentTime(Under(vfs), out);
}
int GetLastError(sqlite3_vfs* vfs, int n, char* out) {
  return Under(vfs)->xGetLastError(Under(vfs), n, out);
}
int CurrentTimeInt64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return Under(vfs)->xCurrentTimeInt64(Under(vfs), out);
}

sqlite3_vfs* Register() {
  sqlite3_vfs* under = sqlite3_vfs_find(nullptr);
  if (under == nullptr || under->iVersion < 2 || under->xCurrentTimeInt64 == nullptr) {
    return nullptr;
  }
  static sqlite3_vfs vfs{};
  vfs.iVersion = 2;
  vfs.szOsFile = static_cast<int>(kRealOffset) + under->szOsFile;
  vfs.mxPathname = under->mxPathname;
  vfs.zName = kVfsName;
  vfs.pAppData = under;
  vfs.xOpen = Open;
  vfs.xDelete = Delete;
  vfs.xAccess = Access;
  vfs.xFullPathname = FullPathname;
  vfs.xDlOpen = DlOpen;
  vfs.xDlError = DlError;
  vfs.xDlSym = DlSym;
  vfs.xDlClose = DlClose;
  vfs.xRandomness = Randomness;
  vfs.xSleep = Sleep;
  vfs.xCurrentTime = CurrentTime;
  vfs.xGetLastError = GetLastError;
  vfs.xCurrentTimeInt64 = CurrentTimeInt64;
  return sqlite3_vfs_register(&vfs, /*makeDflt=*/0) == SQLITE_OK ? &vfs : nullptr;
}

}  // namespace

const char* CoalescingWalVfs() {
  static sqlite3_vfs* const vfs = Register();
  return vfs != nullptr ? vfs->zName : nullptr;
}

}  // namespace sovereign::audit::sqlite
