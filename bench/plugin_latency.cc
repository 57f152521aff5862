// Time spent inside job_submit_sovereign.so's job_submit(), as slurmctld would spend it with
// its locks held: the harness dlopens the plugin, calls init() and then job_submit() with real
// job_desc_msg_t values (built with libslurm's own initialiser), and times each call.
//
// Reports p50/p99/max in microseconds, and the ratio to a baseline measured in the same run:
// the same loop calling a function that only does the Slurm field bookkeeping every submission
// needs (xstrdup of partition, admin_comment and features, then xfree), so that the ratio says
// what the decision and the spool write cost on top.
//
// With --green-window DURATION, every site of the snapshot also gets a synthetic hourly carbon
// series (72 hours from now, a daily swing between 100 and 500 gCO2/kWh), and the plugin is timed
// twice more in the same run: jobs without a window, and jobs with one (the window search),
// reporting the ratio of their p99s.
//
//   plugin_latency --plugin build/plugins/job_submit/job_submit_sovereign.so [--calls N]
//                  [--fdatasync] [--dir DIR] [--green-window 6h]
#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "sovereign/carbon_series.h"
#include "sovereign/cluster.h"
#include "sovereign/file_io.h"
#include "sovereign/register.h"
#include "sovereign/snapshot_file.h"

extern "C" {
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
char* slurm_xstrdup(const char*);
void slurm_xfree(void**, const char*, int, const char*);
}

namespace {

using Clock = std::chrono::steady_clock;
using SubmitFn = int (*)(job_desc_msg_t*, uint32_t, char**);

struct Stats {
  double p50, p99, max;
};

Stats Summarise(std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  return {us[us.size() / 2], us[us.size() * 99 / 100], us.back()};
}

void FreeField(char** f) {
  if (*f != nullptr) {
    slurm_xfree(reinterpret_cast<void**>(f), __FILE__, __LINE__, __func__);
  }
}

// What any plugin that places a job must do with Slurm's strings.
int Baseline(job_desc_msg_t* d, uint32_t, char**) {
  FreeField(&d->partition);
  d->partition = slurm_xstrdup("gpu-fr-a100");
  FreeField(&d->admin_comment);
  d->admin_comment = slurm_xstrdup("sovereign:v1;id=0;ds=patients-eu;region=eu;reg=000000000000");
  FreeField(&d->features);
  d->features = slurm_xstrdup("region_eu");
  return SLURM_SUCCESS;
}

// The first refusal's message (stderr is silenced while the calls are timed).
std::string first_refusal;

// The jobs' green window ("SOVEREIGN_GREEN_WINDOW=6h"); empty = none.
std::string green_env;

std::vector<double> Run(SubmitFn fn, int calls, int* refused) {
  std::vector<double> us;
  us.reserve(calls);
  char env0[] = "SOVEREIGN_DATASETS=imagenet-public";  // open to every user
  char* env[] = {env0, green_env.data()};
  uid_t uid = getuid();
  for (int i = 0; i < calls; ++i) {
    job_desc_msg_t d;
    slurm_init_job_desc_msg(&d);
    d.user_id = uid;
    d.spank_job_env = env;
    d.spank_job_env_size = green_env.empty() ? 1 : 2;
    d.time_limit = 120;
    char gres[] = "gres:gpu:2";
    d.tres_per_node = gres;
    char* err = nullptr;
    auto t0 = Clock::now();
    int rc = fn(&d, uid, &err);
    auto t1 = Clock::now();
    us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    if (rc != SLURM_SUCCESS) {
      ++*refused;
      if (first_refusal.empty()) {
        first_refusal = err != nullptr ? err : "(no message)";
      }
    }
    FreeField(&err);
    FreeField(&d.partition);
    FreeField(&d.admin_comment);
    FreeField(&d.features);
  }
  return us;
}

}  // namespace

int main(int argc, char** argv) {
  std::string plugin, dir, green_window;
  int calls = 20000;
  bool sync = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--plugin" && i + 1 < argc) {
      plugin = argv[++i];
    } else if (a == "--calls" && i + 1 < argc) {
      calls = std::max(100, std::min(1000000, atoi(argv[++i])));
    } else if (a == "--fdatasync") {
      sync = true;
    } else if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--green-window" && i + 1 < argc) {
      green_window = argv[++i];
    } else {
      fprintf(stderr,
              "usage: %s --plugin PATH [--calls N] [--fdatasync] [--dir DIR] "
              "[--green-window DURATION]\n",
              argv[0]);
      return 2;
    }
  }
  if (plugin.empty()) {
    fprintf(stderr, "plugin_latency: --plugin is required\n");
    return 2;
  }
  bool own_dir = dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/plugin_latency_XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      perror("mkdtemp");
      return 2;
    }
    dir = tmpl;
  }
  std::ifstream in(std::string(SOVEREIGN_SOURCE_DIR) + "/config/register.example.yaml");
  std::stringstream yaml;
  yaml << in.rdbuf();
  auto reg = sovereign::Register::Parse(yaml.str(), "register.example.yaml");
  if (!reg.ok()) {
    fprintf(stderr, "%s\n", std::string(reg.status().message()).c_str());
    return 2;
  }
  sovereign::ClusterSnapshot cluster;
  cluster.taken_at = absl::Now() + absl::Hours(1);  // fresh for the whole run
  for (const auto& p : (*reg)->partitions()) {
    cluster.partitions.push_back({p.name, sovereign::PartitionState::kUp, p.nodes,
                                  p.nodes * p.gpus_per_node, p.nodes * p.gpus_per_node / 2, {}, {},
                                  {}});
  }
  if (!green_window.empty()) {
    const absl::Time hour = absl::FromUnixSeconds(absl::ToUnixSeconds(absl::Now()) / 3600 * 3600);
    for (const auto& site : (*reg)->sites()) {
      std::vector<sovereign::CarbonPoint> points;
      for (int h = 0; h < 72; ++h) {
        points.push_back({hour + absl::Hours(h), 300 + 200 * std::sin(h * 2 * M_PI / 24), h > 0});
      }
      auto series = sovereign::CarbonSeries::FromPoints(points, site.name);
      if (!series.ok()) {
        fprintf(stderr, "%s\n", std::string(series.status().message()).c_str());
        return 2;
      }
      cluster.carbon.push_back({site.name, site.name + ".csv", sovereign::CarbonBasis::kLocation,
                                std::make_shared<const sovereign::CarbonSeries>(*series)});
    }
  }
  auto written = sovereign::WriteFileAtomically(
      dir + "/snapshot",
      sovereign::snapshot::EncodeSnapshot(yaml.str(), "register.example.yaml", **reg, cluster,
                                          absl::Now()));
  if (!written.ok()) {
    fprintf(stderr, "%s\n", std::string(written.message()).c_str());
    return 2;
  }
  std::string conf = dir + "/sovereign-plugin.conf";
  std::ofstream(conf) << "snapshot = " << dir << "/snapshot\nspool = " << dir
                      << "/spool\nspool_fdatasync = " << (sync ? "yes" : "no") << "\n";
  setenv("SOVEREIGN_PLUGIN_CONF", conf.c_str(), 1);

  void* h = dlopen(plugin.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    fprintf(stderr, "dlopen: %s\n", dlerror());
    return 2;
  }
  auto init = reinterpret_cast<int (*)()>(dlsym(h, "init"));
  auto fini = reinterpret_cast<int (*)()>(dlsym(h, "fini"));
  auto submit = reinterpret_cast<SubmitFn>(dlsym(h, "job_submit"));
  if (init == nullptr || submit == nullptr || init() != SLURM_SUCCESS) {
    fprintf(stderr, "plugin init failed\n");
    return 2;
  }
  // libslurm logs to stderr in a process that has not set up Slurm's log: silence it while
  // timing (slurmctld writes its log file instead).
  fflush(stderr);
  int saved_stderr = dup(2);
  int devnull = open("/dev/null", O_WRONLY);
  dup2(devnull, 2);
  int refused_base = 0, refused = 0;
  Run(Baseline, std::min(calls, 1000), &refused_base);  // warm-up
  Run(submit, std::min(calls, 1000), &refused);         // warm-up (NSS cache, page cache)
  refused_base = refused = 0;
  first_refusal.clear();
  std::vector<double> base = Run(Baseline, calls, &refused_base);
  std::vector<double> plug = Run(submit, calls, &refused);
  std::vector<double> green;
  if (!green_window.empty()) {
    green_env = "SOVEREIGN_GREEN_WINDOW=" + green_window;
    Run(submit, std::min(calls, 1000), &refused);  // warm-up
    refused = 0;
    green = Run(submit, calls, &refused);
    green_env.clear();
  }
  dup2(saved_stderr, 2);
  close(devnull);
  close(saved_stderr);
  Stats b = Summarise(base), p = Summarise(plug);
  printf("job_submit latency, %d calls, spool fdatasync %s\n", calls, sync ? "on" : "off");
  printf("%-28s %10s %10s %10s\n", "", "p50 us", "p99 us", "max us");
  printf("%-28s %10.2f %10.2f %10.1f\n", "baseline (field bookkeeping)", b.p50, b.p99, b.max);
  printf("%-28s %10.2f %10.2f %10.1f\n", "job_submit_sovereign", p.p50, p.p99, p.max);
  printf("ratio p50 %.1fx, p99 %.1fx; refused %d of %d (placed %d)\n", p.p50 / b.p50,
         p.p99 / b.p99, refused, calls, calls - refused);
  if (!green.empty()) {
    Stats g = Summarise(green);
    printf("%-28s %10.2f %10.2f %10.1f\n",
           absl::StrCat("  with --green-window ", green_window).c_str(), g.p50, g.p99, g.max);
    printf("green window vs none: p50 %.2fx, p99 %.2fx (carbon series of 72 hourly points)\n",
           g.p50 / p.p50, g.p99 / p.p99);
  }
  if (fini != nullptr) {
    fini();
  }
  if (own_dir) {
    std::filesystem::remove_all(dir);
  }
  // Every job asks for an open dataset on an up cluster: a refusal means the figures above
  // timed something other than a placement.
  if (refused != 0 || refused_base != 0) {
    fprintf(stderr, "plugin_latency: %d of %d jobs were refused (first: %s); every one should "
                    "have been placed\n",
            refused, calls, first_refusal.c_str());
    return 1;
  }
  return 0;
}
