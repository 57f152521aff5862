// A load generator for slurmctld: submits held batch jobs through libslurm from several threads
// and reports the rate slurmctld accepted them at, and, given slurmctld's PID, the CPU slurmctld
// spent per submission (user and system time from /proc/PID/stat).
//
//   submit_load --jobs N [--threads T] [--user NAME] [--comment TEXT] [--gpus G]
//               [--slurmctld-pid PID]
//
// Jobs are held (priority 0), so that the queue grows and nothing runs: what is measured is the
// submission path, job_submit plugins included. Jobs are submitted as root on behalf of --user
// (default: this user). The run fails (exit 1) unless slurmctld accepted every job: a refusal
// means the figures measure something other than what was asked. The last line is
//   RESULT jobs=N seconds=S rate=R ctld_cpu_us=C
// for scripts (ctld_cpu_us is -1 without --slurmctld-pid).
#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/held_jobs.h"

namespace {

struct Flags {
  long jobs = 0;
  int threads = 4;
  std::string user;
  std::string comment;
  int gpus = 1;
  long slurmctld_pid = 0;
};

[[noreturn]] void Usage(const std::string& why) {
  std::fprintf(stderr,
               "submit_load: %s\nusage: submit_load --jobs N [--threads T] [--user NAME] "
               "[--comment TEXT] [--gpus G] [--slurmctld-pid PID]\n",
               why.c_str());
  std::exit(2);
}

// slurmctld's user plus system CPU, in clock ticks; -1 when it cannot be read.
long long CpuTicks(long pid) {
  if (pid <= 0) {
    return -1;
  }
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = text.rfind(')');
  if (close == std::string::npos) {
    return -1;
  }
  std::istringstream fields(text.substr(close + 2));
  std::string field;
  long long utime = 0, stime = 0;
  // After "pid (comm) ": state is field 3; utime and stime are fields 14 and 15.
  for (int i = 3; i <= 15 && fields >> field; ++i) {
    if (i == 14) {
      utime = std::atoll(field.c_str());
    } else if (i == 15) {
      stime = std::atoll(field.c_str());
    }
  }
  return utime + stime;
}

long ParseLong(const char* text, const char* flag) {
  char* end = nullptr;
  const long v = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || v < 0) {
    Usage(std::string(flag) + " needs a number, not \"" + text + "\"");
  }
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) {
        Usage(a + " needs a value");
      }
      return argv[++i];
    };
    if (a == "--jobs") {
      f.jobs = ParseLong(value(), "--jobs");
    } else if (a == "--threads") {
      f.threads = static_cast<int>(ParseLong(value(), "--threads"));
    } else if (a == "--user") {
      f.user = value();
    } else if (a == "--comment") {
      f.comment = value();
    } else if (a == "--gpus") {
      f.gpus = static_cast<int>(ParseLong(value(), "--gpus"));
    } else if (a == "--slurmctld-pid") {
      f.slurmctld_pid = ParseLong(value(), "--slurmctld-pid");
    } else {
      Usage("unknown argument " + a);
    }
  }
  if (f.jobs <= 0 || f.threads <= 0) {
    Usage("--jobs and --threads must be positive");
  }
  uid_t uid = getuid();
  gid_t gid = getgid();
  if (!f.user.empty()) {
    const passwd* pw = getpwnam(f.user.c_str());
    if (pw == nullptr) {
      Usage("no such user " + f.user);
    }
    uid = pw->pw_uid;
    gid = pw->pw_gid;
  }

  std::atomic<long> next{0}, accepted{0}, refused{0};
  std::mutex first_mu;
  std::string first_refusal;
  const long long ticks0 = CpuTicks(f.slurmctld_pid);
  const auto t0 = std::chrono::steady_clock::now();
  const sovereign::testing::HeldJob job{
      .uid = uid, .gid = gid, .comment = f.comment, .gpus = f.gpus, .name = "submit_load"};
  std::vector<std::thread> threads;
  for (int t = 0; t < f.threads; ++t) {
    threads.emplace_back([&] {
      while (next.fetch_add(1) < f.jobs) {
        const sovereign::testing::SubmitOutcome r = sovereign::testing::SubmitHeldJob(job);
        if (r.ok()) {
          ++accepted;
        } else {
          ++refused;
          std::lock_guard<std::mutex> lock(first_mu);
          if (first_refusal.empty()) {
            first_refusal = r.error_text;
          }
        }
      }
    });
  }
  for (std::thread& t : threads) {
    t.join();
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const long long ticks1 = CpuTicks(f.slurmctld_pid);
  const double cpu_us = ticks0 >= 0 && ticks1 >= 0 && accepted > 0
                            ? static_cast<double>(ticks1 - ticks0) * 1e6 /
                                  static_cast<double>(sysconf(_SC_CLK_TCK)) / accepted.load()
                            : -1;
  std::printf("%ld jobs accepted, %ld refused in %.2f s: %.0f jobs/s", accepted.load(),
              refused.load(), seconds, accepted / seconds);
  if (cpu_us >= 0) {
    std::printf("; slurmctld %.0f us of CPU per job", cpu_us);
  }
  std::printf("\n");
  if (refused > 0) {
    std::fprintf(stderr, "submit_load: %ld of %ld jobs were refused (first: %s)\n",
                 refused.load(), f.jobs, first_refusal.c_str());
    return 1;
  }
  std::printf("RESULT jobs=%ld seconds=%.3f rate=%.1f ctld_cpu_us=%.1f\n", accepted.load(),
              seconds, accepted / seconds, cpu_us);
  return 0;
}
