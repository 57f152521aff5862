#include "dataset_option.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sovereign::spank {
namespace {

using ::testing::ElementsAre;

std::string ErrorOf(std::string_view value, DatasetOptionLimits limits = {}) {
  Checked<std::vector<std::string>> r = ParseDatasetOption(value, limits);
  EXPECT_FALSE(r.ok()) << "accepted: " << value;
  return r.error;
}

TEST(ParseDatasetOption, SplitsTrimsAndDropsRepeats) {
  Checked<std::vector<std::string>> r =
      ParseDatasetOption(" patients-eu , imagenet.public,patients-eu,Genome_2024 ", {});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_THAT(r.value, ElementsAre("patients-eu", "imagenet.public", "Genome_2024"));
  EXPECT_EQ(JoinDatasets(r.value), "patients-eu,imagenet.public,Genome_2024");
}

TEST(ParseDatasetOption, OneName) {
  Checked<std::vector<std::string>> r = ParseDatasetOption("patients-eu", {});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_THAT(r.value, ElementsAre("patients-eu"));
}

TEST(ParseDatasetOption, EmptyValue) {
  const std::string want =
      "--dataset needs one or more dataset names, e.g. --dataset=patients-eu,imagenet-public";
  EXPECT_EQ(ErrorOf(""), want);
  EXPECT_EQ(ErrorOf("  "), want);
}

TEST(ParseDatasetOption, EmptyName) {
  EXPECT_EQ(ErrorOf("a,,b"),
            "--dataset: name 2 of \"a,,b\" is empty; separate names with single commas, "
            "e.g. --dataset=patients-eu,imagenet-public");
  EXPECT_EQ(ErrorOf("patients-eu,"),
            "--dataset: name 2 of \"patients-eu,\" is empty; separate names with single commas, "
            "e.g. --dataset=patients-eu,imagenet-public");
}

TEST(ParseDatasetOption, BadCharacter) {
  EXPECT_EQ(ErrorOf("patients eu"),
            "--dataset: dataset \"patients eu\" has byte 0x20 at position 9; names start with a "
            "letter or digit and use only letters, digits, '.', '_' and '-'");
  EXPECT_EQ(ErrorOf("ok,pat/ients"),
            "--dataset: dataset \"pat/ients\" has '/' at position 4; names start with a letter or "
            "digit and use only letters, digits, '.', '_' and '-'");
  EXPECT_EQ(ErrorOf("-patients"),
            "--dataset: dataset \"-patients\" has '-' at position 1; names start with a letter or "
            "digit and use only letters, digits, '.', '_' and '-'");
  EXPECT_EQ(ErrorOf("p\xc3\xa4tients"),
            "--dataset: dataset \"p\\xc3\\xa4tients\" has byte 0xc3 at position 2; names start "
            "with a letter or digit and use only letters, digits, '.', '_' and '-'");
}

TEST(ParseDatasetOption, OverLongName) {
  const std::string name(65, 'x');
  EXPECT_EQ(ErrorOf(name),
            "--dataset: dataset \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...\" is 65 bytes long; "
            "the limit is 64");
  EXPECT_TRUE(ParseDatasetOption(std::string(64, 'x'), {}).ok());
  EXPECT_EQ(ErrorOf("abcd", {.max_name_bytes = 3}),
            "--dataset: dataset \"abcd\" is 4 bytes long; the limit is 3");
}

TEST(ParseDatasetOption, TooManyNames) {
  EXPECT_EQ(ErrorOf("a,b,c", {.max_names = 2}),
            "--dataset: more than 2 datasets; a job may declare at most 2, counting every "
            "--dataset option and #SBATCH --dataset line");
  // Repeats do not count.
  EXPECT_TRUE(ParseDatasetOption("a,b,a,b", {.max_names = 2}).ok());
}

TEST(AddDatasetOption, EveryOptionAddsUpInFirstSeenOrder) {
  // sbatch --dataset=imagenet-public job.sh, job.sh has #SBATCH --dataset=patients-eu: sbatch
  // calls the option for the script, then the command line; a value seen again (a second
  // pass) changes nothing.
  Checked<std::vector<std::string>> r = AddDatasetOption({}, "patients-eu", {});
  ASSERT_TRUE(r.ok()) << r.error;
  r = AddDatasetOption(r.value, "imagenet-public", {});
  ASSERT_TRUE(r.ok()) << r.error;
  r = AddDatasetOption(r.value, "imagenet-public", {});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_THAT(r.value, ElementsAre("patients-eu", "imagenet-public"));
  r = AddDatasetOption(r.value, "genomics-eu-us,patients-eu", {});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_THAT(r.value, ElementsAre("patients-eu", "imagenet-public", "genomics-eu-us"));
}

TEST(AddDatasetOption, TheLimitAppliesToTheUnionAndRepeatsDoNotCount) {
  const DatasetOptionLimits two{.max_names = 2};
  Checked<std::vector<std::string>> r = AddDatasetOption({"a"}, "b", two);
  ASSERT_TRUE(r.ok()) << r.error;
  // The command line seen a second time.
  r = AddDatasetOption(r.value, "a,b", two);
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_THAT(r.value, ElementsAre("a", "b"));
  Checked<std::vector<std::string>> over = AddDatasetOption(r.value, "c", two);
  EXPECT_FALSE(over.ok());
  EXPECT_EQ(over.error,
            "--dataset: more than 2 datasets; a job may declare at most 2, counting every "
            "--dataset option and #SBATCH --dataset line");
}

TEST(AddDatasetOption, ABadValueIsRefusedWhateverCameBefore) {
  EXPECT_EQ(AddDatasetOption({"patients-eu"}, "", {}).error,
            "--dataset needs one or more dataset names, e.g. --dataset=patients-eu,imagenet-public");
  EXPECT_EQ(AddDatasetOption({"patients-eu"}, "pat/ients", {}).error,
            "--dataset: dataset \"pat/ients\" has '/' at position 4; names start with a letter or "
            "digit and use only letters, digits, '.', '_' and '-'");
}

TEST(IsJobId, OnlyWhatSlurmWritesAsSlurmJobId) {
  EXPECT_TRUE(IsJobId("1"));
  EXPECT_TRUE(IsJobId("4294967295"));
  EXPECT_FALSE(IsJobId(""));
  EXPECT_FALSE(IsJobId("0"));
  EXPECT_FALSE(IsJobId("4294967296"));
  EXPECT_FALSE(IsJobId("12345678901"));
  EXPECT_FALSE(IsJobId("-1"));
  EXPECT_FALSE(IsJobId("12 "));
  EXPECT_FALSE(IsJobId("12_3"));
}

TEST(ParseDatasetOptionArgs, DefaultsAndOverrides) {
  Checked<DatasetOptionLimits> d = ParseDatasetOptionArgs({});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d.value.max_name_bytes, 64);
  EXPECT_EQ(d.value.max_names, 16);
  Checked<DatasetOptionLimits> o = ParseDatasetOptionArgs({"max_name_bytes=128", "max_names=4"});
  ASSERT_TRUE(o.ok()) << o.error;
  EXPECT_EQ(o.value.max_name_bytes, 128);
  EXPECT_EQ(o.value.max_names, 4);
}

TEST(ParseDatasetOptionArgs, BadArguments) {
  EXPECT_EQ(ParseDatasetOptionArgs({"max_name=3"}).error,
            "sovereign_spank.so: unknown argument \"max_name=3\" (known: max_name_bytes=N, "
            "max_names=N)");
  EXPECT_EQ(ParseDatasetOptionArgs({"max_names=0"}).error,
            "sovereign_spank.so: argument \"max_names=0\": max_names must be a number in 1..4096");
  EXPECT_EQ(ParseDatasetOptionArgs({"max_name_bytes=12x"}).error,
            "sovereign_spank.so: argument \"max_name_bytes=12x\": max_name_bytes must be a number "
            "in 1..4096");
  EXPECT_EQ(ParseDatasetOptionArgs({"max_names"}).error,
            "sovereign_spank.so: argument \"max_names\": max_names must be a number in 1..4096");
}

}  // namespace
TEST(ParseGreenWindowOption, ReadsDurations) {
  EXPECT_EQ(ParseGreenWindowOption("6h").value, "6h");
  EXPECT_EQ(ParseGreenWindowOption(" 1d12h ").value, "1d12h");
  EXPECT_TRUE(ParseGreenWindowOption("1.5h").ok());
  EXPECT_TRUE(ParseGreenWindowOption("14d").ok());
}

TEST(ParseGreenWindowOption, RefusesWhatTheControllerCannotRead) {
  const std::string tail =
      "\"; give how far the job's start may move for less CO2, longer than zero and at most "
      "14d, e.g. --green-window=6h (units d, h, m, s)";
  EXPECT_EQ(ParseGreenWindowOption("soon").error, "--green-window: cannot read \"soon" + tail);
  EXPECT_EQ(ParseGreenWindowOption("6").error, "--green-window: cannot read \"6" + tail);
  EXPECT_EQ(ParseGreenWindowOption("15d").error, "--green-window: cannot read \"15d" + tail);
  EXPECT_EQ(ParseGreenWindowOption("0h").error, "--green-window: cannot read \"0h" + tail);
  EXPECT_EQ(ParseGreenWindowOption("").error, "--green-window: cannot read \"" + tail);
  EXPECT_FALSE(ParseGreenWindowOption("h").ok());
  EXPECT_FALSE(ParseGreenWindowOption("6hx").ok());
}

}  // namespace sovereign::spank
