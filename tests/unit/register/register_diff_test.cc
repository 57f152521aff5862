#include "sovereign/register_diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_replace.h"
#include "sovereign/file_io.h"

namespace sovereign {
namespace {

std::string Example() {
  return *ReadFileToString(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
}

std::shared_ptr<const Register> Parse(const std::string& yaml) {
  auto r = Register::Parse(yaml, "r.yaml");
  EXPECT_TRUE(r.ok()) << r.status();
  return r.ok() ? *r : nullptr;
}

TEST(RegisterDiffTest, SameRegisterHasNoChanges) {
  auto a = Parse(Example());
  EXPECT_TRUE(DiffRegisters(*a, *a).empty());
}

TEST(RegisterDiffTest, FieldChangesAddedAndRemovedObjects) {
  auto a = Parse(Example());
  std::string changed = absl::StrReplaceAll(
      Example(), {{"pue: 1.3 ", "pue: 1.25"},
                  {"max_labels: 8", "max_labels: 6"},
                  {"  - name: vision\n    datasets: []", "  - name: robotics\n    datasets: []"}});
  auto b = Parse(changed);
  std::vector<ObjectDiff> d = DiffRegisters(*a, *b);
  ASSERT_EQ(d.size(), 4u);
  EXPECT_EQ(d[0].kind, "policy");
  ASSERT_EQ(d[0].fields.size(), 1u);
  EXPECT_EQ(d[0].fields[0].field, "max_labels");
  EXPECT_EQ(d[0].fields[0].old_value, "8");
  EXPECT_EQ(d[0].fields[0].new_value, "6");
  EXPECT_EQ(d[1].kind, "site");
  EXPECT_EQ(d[1].name, "paris-1");
  EXPECT_EQ(d[1].change, ObjectDiff::Change::kChanged);
  ASSERT_EQ(d[1].fields.size(), 1u);
  EXPECT_EQ(d[1].fields[0].field, "pue");
  EXPECT_EQ(d[1].fields[0].old_value, "1.3");
  EXPECT_EQ(d[1].fields[0].new_value, "1.25");
  EXPECT_EQ(d[2].kind, "account");
  EXPECT_EQ(d[2].name, "vision");
  EXPECT_EQ(d[2].change, ObjectDiff::Change::kRemoved);
  EXPECT_EQ(d[3].name, "robotics");
  EXPECT_EQ(d[3].change, ObjectDiff::Change::kAdded);
}

TEST(RegisterDiffTest, ListFieldsShowTheirValues) {
  auto a = Parse(Example());
  auto b = Parse(absl::StrReplaceAll(Example(), {{"regions: [eu, us]", "regions: [us, eu, in]"}}));
  std::vector<ObjectDiff> d = DiffRegisters(*a, *b);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].kind, "dataset");
  EXPECT_EQ(d[0].name, "genomics-eu-us");
  ASSERT_EQ(d[0].fields.size(), 1u);
  EXPECT_EQ(d[0].fields[0].old_value, R"(["eu","us"])");
  EXPECT_EQ(d[0].fields[0].new_value, R"(["eu","in","us"])");
}

TEST(RegisterDiffTest, CommentsAndOrderAreNotChanges) {
  auto a = Parse(Example());
  auto b = Parse("# a comment\n" +
                 absl::StrReplaceAll(Example(), {{"regions: [eu, us]", "regions: [us, eu]"}}));
  EXPECT_TRUE(DiffRegisters(*a, *b).empty());
}

}  // namespace
}  // namespace sovereign
