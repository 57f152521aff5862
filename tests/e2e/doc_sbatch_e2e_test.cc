// The sbatch examples of the researchers' guide, run as written against the mini cluster with
// the example register published: a fenced block right after `<!-- doc-test: cluster -->` is
// checked as doc_examples.h says. Commands run with /bin/sh as sov-alice (group oncology) in a
// folder holding train.sh. Every block with a `$ sbatch`, `$ srun` or `$ salloc` line must be
// checked: the guide cannot show a submission that no test makes.
#include <sys/stat.h>

#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "support/plugin_cluster.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "support/doc_examples.h"

namespace sovereign::e2e {
namespace {

using testing::DocExample;
using testing::DocExamples;

constexpr char kClusterMarker[] = "<!-- doc-test: cluster -->";
constexpr char kGuide[] = "docs/researchers.md";

class DocSbatchE2ETest : public PluginClusterTest {};

TEST_F(DocSbatchE2ETest, EverySbatchExampleRunsAsWritten) {
  const DocExamples doc =
      testing::ParseDocExamples(ReadText(absl::StrCat(SOVEREIGN_SOURCE_DIR, "/", kGuide)),
                                kClusterMarker, {"$ sbatch ", "$ srun ", "$ salloc "});
  EXPECT_THAT(doc.unchecked, ::testing::IsEmpty())
      << kGuide << ": these code blocks submit jobs but are not marked " << kClusterMarker;
  ASSERT_FALSE(doc.examples.empty()) << kGuide << " has no checked sbatch example";

  const std::string work = cluster().output_dir() + "/doc-examples";
  ASSERT_EQ(mkdir(work.c_str(), 01777), 0);
  chmod(work.c_str(), 01777);  // the researcher's job output lands here
  std::ofstream(work + "/train.sh") << "#!/bin/sh\ntrue\n";
  chmod((work + "/train.sh").c_str(), 0755);
  Publish();
  for (const DocExample& ex : doc.examples) {
    CommandResult r = cluster().Run({"runuser", "-u", kAlice, "--", "/bin/sh", "-c",
                                     absl::StrCat("cd '", work, "' && ", ex.command)});
    testing::ExpectDocExamplePrinted(kGuide, ex, r.out + r.err, r.exit_code);
  }
}

}  // namespace
}  // namespace sovereign::e2e
