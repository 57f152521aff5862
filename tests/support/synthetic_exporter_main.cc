// sovereign-synthetic-exporter: the tests' synthetic DCGM power exporter as a program, for the
// demo. SYNTHETIC figures, given on the command line; nothing is measured.
//
//   sovereign-synthetic-exporter fr-a100-1=300,300 fr-a100-2=100,100
//
// prints its URL (http://127.0.0.1:<free port>/metrics) on one line, then serves
// DCGM_FI_DEV_POWER_USAGE{gpu="<i>",Hostname="<node>"} <watts> until SIGTERM or SIGINT.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "support/synthetic_exporter.h"

int main(int argc, char** argv) {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);  // before the server's thread starts
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s NODE=WATTS[,WATTS...] ... (one figure per GPU)\n", argv[0]);
    return 2;
  }
  auto exporter = sovereign::testing::SyntheticExporter::Start();
  if (!exporter.ok()) {
    std::fprintf(stderr, "%s\n", exporter.status().ToString().c_str());
    return 1;
  }
  for (int i = 1; i < argc; ++i) {
    std::vector<std::string> parts = absl::StrSplit(argv[i], absl::MaxSplits('=', 1));
    std::vector<double> watts;
    bool ok = parts.size() == 2 && !parts[0].empty();
    std::vector<std::string> figures;
    if (ok) {
      figures = absl::StrSplit(parts[1], ',');
    }
    for (const std::string& w : figures) {
      double value = 0;
      ok = ok && absl::SimpleAtod(w, &value) && value >= 0;
      watts.push_back(value);
    }
    if (!ok || watts.empty()) {
      std::fprintf(stderr, "%s: \"%s\" is not NODE=WATTS[,WATTS...], e.g. fr-a100-1=300,300\n",
                   argv[0], argv[i]);
      return 2;
    }
    (*exporter)->SetNode(parts[0], watts);
  }
  std::printf("%s\n", (*exporter)->url().c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;
}
