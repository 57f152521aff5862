// sovereign_spank.so is loaded into sbatch, srun, salloc, slurmd and slurmstepd: it must export
// the SPANK entry points with C names, and nothing else (sovereign_spank.map).
#include <cstdio>
#include <set>
#include <string>

#include "gtest/gtest.h"

namespace {

TEST(SpankPluginSymbols, ExportsOnlyThePluginSymbols) {
  const std::string cmd =
      std::string("nm -D --defined-only --format=just-symbols ") + SOVEREIGN_SPANK_SO;
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::set<std::string> symbols;
  char line[512];
  while (fgets(line, sizeof(line), p) != nullptr) {
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) {
      s.pop_back();
    }
    symbols.insert(s);
  }
  ASSERT_EQ(pclose(p), 0) << cmd;
  EXPECT_EQ(symbols, (std::set<std::string>{"plugin_name", "plugin_type", "plugin_version",
                                            "spank_plugin_version", "slurm_spank_init",
                                            "slurm_spank_init_post_opt"}));
}

}  // namespace
