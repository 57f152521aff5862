// The files sovereignd creates get the least access their readers need, whatever the umask it
// starts under, and looser files an older build left are tightened when it opens them: other
// users read nothing of the audit log (the gRPC API shows a researcher only their own records)
// and can replace nothing the plugin trusts.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "support/child_process.h"
#include "support/daemon_process.h"

namespace sovereign::testing {
namespace {

using ::testing::HasSubstr;

mode_t ModeOf(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0 ? st.st_mode & 07777 : 0;
}

std::string Octal(mode_t mode) { return absl::StrFormat("%04o", mode); }

// What open() gives the unprivileged user nobody.
std::string AsNobody(const std::string& path, int flags) {
  return OpenAs(kNobody.uid, kNobody.gid, path, flags);
}

class DaemonFilesTest : public ::testing::Test {
 protected:
  ~DaemonFilesTest() override { umask(saved_umask_); }

  const mode_t saved_umask_ = umask(022);
};

TEST_F(DaemonFilesTest, EveryFileHasItsModeWhateverTheUmask) {
  DaemonProcess d;
  // sovereignd makes its folders itself, under a umask that takes nothing away.
  std::filesystem::remove(d.dir() + "/lib");
  std::filesystem::remove(d.dir() + "/run");
  umask(0);
  const std::string state = d.dir() + "/state";
  d.AddConfig(absl::StrCat("slurm:\n  slurm_conf: ", UnreachableSlurmConf(d.dir()),
                           "\n  snapshot: ", state, "/snapshot\n  spool: ", d.dir(),
                           "/spool\n  ingest_interval_ms: 60000\n"));
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  RunResult decided = d.Probe("PlacementService.Decide", kAliceJob);
  ASSERT_EQ(StatusOf(decided), "OK") << decided.out << decided.err;
  // An apply writes the register file back.
  const std::string changed = d.dir() + "/changed.yaml";
  WriteFile(changed,
            absl::StrReplaceAll(ReadFile(d.register_path()), {{"pue: 1.3 ", "pue: 1.25"}}));
  RunResult applied = d.Ctl({"register", "apply", changed});
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  ASSERT_EQ(ReadFile(d.register_path()), ReadFile(changed));

  const std::string lib = d.dir() + "/lib";
  struct Expected {
    std::string path;
    mode_t mode;
  };
  for (const Expected& e : std::vector<Expected>{
           {d.audit_db(), 0600},
           {d.audit_db() + "-wal", 0600},
           {d.audit_db() + "-shm", 0600},
           {lib + "/registers.db", 0600},
           {lib + "/registers.db-wal", 0600},
           {lib + "/registers.db-shm", 0600},
           {d.signing_key(), 0600},
           {state + "/snapshot", 0644},
           {d.register_path(), 0644},
           {d.socket(), 0666},  // socket.mode: everyone may call; roles decide what they may do
           {lib, 0755},
           {d.dir() + "/run", 0755},
           {state, 0755},
       }) {
    EXPECT_EQ(Octal(ModeOf(e.path)), Octal(e.mode)) << e.path;
  }

  // Another user reads nothing of the audit log, the register history or the key...
  for (const std::string& path :
       {d.audit_db(), d.audit_db() + "-wal", d.audit_db() + "-shm", lib + "/registers.db",
        lib + "/registers.db-wal", d.signing_key()}) {
    EXPECT_EQ(AsNobody(path, O_RDONLY), "EACCES") << path;
  }
  // ... and changes nothing the plugin trusts: neither the snapshot nor the folders of it and of
  // the socket, where a file of their own could be renamed over it.
  EXPECT_EQ(AsNobody(state + "/snapshot", O_RDONLY), "opened");
  EXPECT_EQ(AsNobody(state + "/snapshot", O_WRONLY), "EACCES");
  for (const std::string& folder : {state, lib, d.dir() + "/run"}) {
    EXPECT_EQ(AsNobody(folder + "/intruder", O_WRONLY | O_CREAT | O_EXCL), "EACCES") << folder;
  }
}

TEST_F(DaemonFilesTest, AnOlderBuildsLooseFilesAreTightenedWhenOpened) {
  DaemonProcess d;
  ASSERT_TRUE(d.Start().ok()) << d.Log();
  RunResult decided = d.Probe("PlacementService.Decide", kAliceJob);
  ASSERT_EQ(StatusOf(decided), "OK") << decided.out << decided.err;
  // Killed, the daemon leaves its -wal and -shm beside the databases, as a crash would.
  d.Stop(SIGKILL);
  const std::string lib = d.dir() + "/lib";
  const std::vector<std::string> files = {
      d.audit_db(),          d.audit_db() + "-wal",     d.audit_db() + "-shm",
      lib + "/registers.db", lib + "/registers.db-wal", lib + "/registers.db-shm",
      d.signing_key()};
  for (const std::string& path : files) {
    ASSERT_EQ(chmod(path.c_str(), 0644), 0) << path;
  }
  ASSERT_EQ(chmod(lib.c_str(), 0777), 0);
  ASSERT_EQ(AsNobody(d.audit_db() + "-wal", O_RDONLY), "opened");

  ASSERT_TRUE(d.Start().ok()) << d.Log();
  for (const std::string& path : files) {
    EXPECT_EQ(Octal(ModeOf(path)), "0600") << path;
    EXPECT_EQ(AsNobody(path, O_RDONLY), "EACCES") << path;
  }
  EXPECT_EQ(Octal(ModeOf(lib)), "0755");
  const std::string log = d.Log();
  EXPECT_THAT(log, HasSubstr(absl::StrCat("folder ", lib, " had mode 0777: tightened to 0755\n")));
  for (const std::string& file : {d.audit_db(), d.audit_db() + "-wal", d.audit_db() + "-shm"}) {
    EXPECT_THAT(log,
                HasSubstr(absl::StrCat("audit log ", file, " had mode 0644: tightened to 0600\n")));
  }
  EXPECT_THAT(log, HasSubstr(absl::StrCat("audit signing key ", d.signing_key(),
                                          " had mode 0644: tightened to 0600\n")));
  for (const std::string& file :
       {lib + "/registers.db", lib + "/registers.db-wal", lib + "/registers.db-shm"}) {
    EXPECT_THAT(log, HasSubstr(absl::StrCat("register history ", file,
                                            " had mode 0644: tightened to 0600\n")));
  }
  // The log it kept is the same log.
  RunResult verified = d.Ctl({"audit", "verify"});
  EXPECT_EQ(verified.exit_code, 0) << verified.out << verified.err;
}

}  // namespace
}  // namespace sovereign::testing
