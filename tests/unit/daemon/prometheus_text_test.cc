#include "power/prometheus_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace sovereign::power {
namespace {

// What NVIDIA's DCGM exporter serves, cut down to one metric.
constexpr char kDcgm[] =
    "# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).\n"
    "# TYPE DCGM_FI_DEV_POWER_USAGE gauge\n"
    "DCGM_FI_DEV_POWER_USAGE{gpu=\"0\",UUID=\"GPU-1\",device=\"nvidia0\","
    "modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node1\"} 312.5\n"
    "DCGM_FI_DEV_POWER_USAGE{gpu=\"1\",UUID=\"GPU-2\",device=\"nvidia1\","
    "modelName=\"NVIDIA H100 80GB HBM3\",Hostname=\"node1\"} 95\n";

TEST(PrometheusTextTest, ReadsDcgmExporterPage) {
  absl::StatusOr<std::vector<PromSample>> s = ParsePrometheusText(kDcgm, "dcgm");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].name, "DCGM_FI_DEV_POWER_USAGE");
  EXPECT_EQ((*s)[0].labels.size(), 5u);
  ASSERT_NE((*s)[0].Label("Hostname"), nullptr);
  EXPECT_EQ(*(*s)[0].Label("Hostname"), "node1");
  EXPECT_EQ(*(*s)[1].Label("gpu"), "1");
  EXPECT_EQ((*s)[0].Label("hostname"), nullptr);  // names are case-sensitive
  EXPECT_DOUBLE_EQ((*s)[0].value, 312.5);
  EXPECT_DOUBLE_EQ((*s)[1].value, 95);
  EXPECT_FALSE((*s)[0].timestamp_ms.has_value());
}

TEST(PrometheusTextTest, CommentsBlankLinesTimestampsAndSpecialValues) {
  absl::StatusOr<std::vector<PromSample>> s = ParsePrometheusText(
      "# a comment\n"
      "\n"
      "   \t\n"
      "  # indented comment\n"
      "up 1 1700000000123\r\n"
      "a_b:c{} NaN\n"
      "x{l=\"v\",} +Inf\n"
      "y -Inf 5\n"
      "z  1.5e3   \n"
      "no_newline_at_end -2",
      "t");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 6u);
  EXPECT_EQ((*s)[0].name, "up");
  EXPECT_EQ((*s)[0].timestamp_ms, 1700000000123);
  EXPECT_TRUE(std::isnan((*s)[1].value));
  EXPECT_TRUE((*s)[1].labels.empty());
  EXPECT_EQ(*(*s)[2].Label("l"), "v");
  EXPECT_TRUE(std::isinf((*s)[2].value) && (*s)[2].value > 0);
  EXPECT_TRUE(std::isinf((*s)[3].value) && (*s)[3].value < 0);
  EXPECT_EQ((*s)[3].timestamp_ms, 5);
  EXPECT_DOUBLE_EQ((*s)[4].value, 1500);
  EXPECT_DOUBLE_EQ((*s)[5].value, -2);
}

TEST(PrometheusTextTest, LabelEscapes) {
  absl::StatusOr<std::vector<PromSample>> s = ParsePrometheusText(
      "m{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\",d=\"}, =\"} 1\n", "t");
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_EQ(s->size(), 1u);
  EXPECT_EQ(*(*s)[0].Label("a"), "q\"uote");
  EXPECT_EQ(*(*s)[0].Label("b"), "back\\slash");
  EXPECT_EQ(*(*s)[0].Label("c"), "new\nline");
  EXPECT_EQ(*(*s)[0].Label("d"), "}, =");
}

TEST(PrometheusTextTest, EmptyPageHasNoSamples) {
  absl::StatusOr<std::vector<PromSample>> s = ParsePrometheusText("", "t");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->empty());
}

// Every error names the source, the line number, what is wrong and the line.
TEST(PrometheusTextTest, BadLinesAreNamed) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"ok 1\n<html>\n", "t:2: a sample must start with a metric name: \"<html>\""},
      {"m\n", "t:1: no value: \"m\""},
      {"m{a=\"1\"}\n", "t:1: no value: \"m{a=\"1\"}\""},
      {"m{a=\"1\"}2\n", "t:1: expected a space before the value: \"m{a=\"1\"}2\""},
      {"m one\n", "t:1: value \"one\" is not a number: \"m one\""},
      {"m nan\n", "t:1: value \"nan\" is not a number: \"m nan\""},
      {"m 1 later\n",
       "t:1: timestamp \"later\" is not a whole number of milliseconds: "
       "\"m 1 later\""},
      {"m 1 2 3\n", "t:1: unexpected text after the timestamp: \"m 1 2 3\""},
      {"m{1a=\"x\"} 1\n",
       "t:1: a label name must start with a letter or _: "
       "\"m{1a=\"x\"} 1\""},
      {"m{a} 1\n", "t:1: label a has no =: \"m{a} 1\""},
      {"m{a=x} 1\n", "t:1: the value of label a is not in double quotes: \"m{a=x} 1\""},
      {"m{a=\"x} 1\n", "t:1: the value of label a has no closing quote: \"m{a=\"x} 1\""},
      {"m{a=\"\\t\"} 1\n",
       "t:1: label a holds an escape other than \\\\, \\\" or \\n: "
       "\"m{a=\"\\t\"} 1\""},
      {"m{a=\"x\" b=\"y\"} 1\n",
       "t:1: expected , or } after a label: "
       "\"m{a=\"x\" b=\"y\"} 1\""},
      {"m{a=\"x\"", "t:1: the labels are not closed with }: \"m{a=\"x\"\""},
  };
  for (const auto& [text, message] : cases) {
    absl::StatusOr<std::vector<PromSample>> s = ParsePrometheusText(text, "t");
    ASSERT_FALSE(s.ok()) << text;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(std::string(s.status().message()), message) << text;
  }
}

}  // namespace
}  // namespace sovereign::power
