#include "sovereign/job_tag.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace sovereign {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

TEST(JobTag, RoundTrips) {
  JobTag tag{"d-42", {"patients-eu", "imagenet-public"}, "eu", "0123456789ab"};
  std::string text = FormatJobTag(tag);
  EXPECT_EQ(text, "sovereign:v1;id=d-42;ds=patients-eu,imagenet-public;region=eu;reg=0123456789ab");
  auto back = ParseJobTag(text.c_str());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->decision_id, "d-42");
  EXPECT_THAT(back->datasets, ElementsAre("patients-eu", "imagenet-public"));
  EXPECT_EQ(back->region, "eu");
  EXPECT_EQ(back->register_version, "0123456789ab");
}

TEST(JobTag, UnlabelledJobHasEmptyDatasets) {
  auto back = ParseJobTag("sovereign:v1;id=d-1;ds=;region=us;reg=abc");
  ASSERT_TRUE(back.ok());
  EXPECT_THAT(back->datasets, IsEmpty());
}

TEST(JobTag, TextAroundTheTagIsTheAdmins) {
  auto back = ParseJobTag("moved by ops; sovereign:v1;id=d-7;ds=a;region=eu;reg=abc; held: why");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->decision_id, "d-7");
  EXPECT_THAT(back->datasets, ElementsAre("a"));
  EXPECT_EQ(back->register_version, "abc");
}

TEST(JobTag, MissingAndMalformed) {
  EXPECT_EQ(ParseJobTag(nullptr).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ParseJobTag("set by admin").status().message(), "job carries no sovereign tag");
  auto bad = ParseJobTag("sovereign:v1;ds=x;region=eu");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "malformed sovereign tag \"sovereign:v1;ds=x;region=eu\": no decision id");
}

}  // namespace
}  // namespace sovereign
