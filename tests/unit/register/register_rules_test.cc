// The lexical rules behind the register's diagnostics.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "register_internal.h"
#include "sovereign/digest.h"
#include "sovereign/duration.h"
#include "sovereign/did_you_mean.h"

namespace sovereign::register_internal {
namespace {

TEST(RegisterRulesTest, Names) {
  EXPECT_TRUE(IsValidName("gpu-fr_a100.v2"));
  EXPECT_TRUE(IsValidName(std::string(64, 'x')));
  EXPECT_FALSE(IsValidName(std::string(65, 'x')));
  EXPECT_FALSE(IsValidName(""));
  EXPECT_FALSE(IsValidName("eu west"));
  EXPECT_FALSE(IsValidName("eu/west"));
  EXPECT_FALSE(IsValidName("caf\xc3\xa9"));
}

TEST(RegisterRulesTest, UnixNames) {
  EXPECT_TRUE(IsValidUnixName("oncology"));
  EXPECT_TRUE(IsValidUnixName("alice@ad.example.org"));
  EXPECT_FALSE(IsValidUnixName(""));
  EXPECT_FALSE(IsValidUnixName("a b"));
  EXPECT_FALSE(IsValidUnixName("a,b"));
  EXPECT_FALSE(IsValidUnixName("a:b"));
  EXPECT_FALSE(IsValidUnixName("a\tb"));
}

TEST(RegisterRulesTest, CountryCodes) {
  int assigned = 0;
  for (char a = 'A'; a <= 'Z'; ++a) {
    for (char b = 'A'; b <= 'Z'; ++b) {
      assigned += IsCountryCode(std::string{a, b}) ? 1 : 0;
    }
  }
  EXPECT_EQ(assigned, 249);  // ISO 3166-1 assigns 249 alpha-2 codes
  EXPECT_TRUE(IsCountryCode("ZW"));
  EXPECT_FALSE(IsCountryCode("UK"));
  EXPECT_FALSE(IsCountryCode("EU"));
  EXPECT_FALSE(IsCountryCode("fr"));
  EXPECT_FALSE(IsCountryCode("F"));
}

// The one duration syntax (sovereign/text.h): the register's groups, and everything
// absl::ParseDuration takes (the plugin's settings used it), with days.
TEST(RegisterRulesTest, Durations) {
  EXPECT_EQ(ParseDuration("45s"), absl::Seconds(45));
  EXPECT_EQ(ParseDuration("1d12h"), absl::Hours(36));
  EXPECT_EQ(ParseDuration("1d2h3m4s"), absl::Seconds(93784));
  EXPECT_EQ(ParseDuration("0s"), absl::ZeroDuration());
  EXPECT_EQ(ParseDuration("3650d"), absl::Hours(3650 * 24));
  EXPECT_EQ(ParseDuration("3651d"), absl::Hours(3651 * 24));  // the register's range is its own
  EXPECT_EQ(ParseDuration("9999999999s"), absl::Seconds(9999999999));
  EXPECT_EQ(ParseDuration("1.5h"), absl::Minutes(90));
  EXPECT_EQ(ParseDuration("30m1h"), absl::Minutes(90));
  EXPECT_EQ(ParseDuration("250ms"), absl::Milliseconds(250));
  EXPECT_EQ(ParseDuration("1d1.5h"), absl::Minutes(25 * 60 + 30));
  EXPECT_EQ(ParseDuration("0.5d"), absl::Hours(12));
  EXPECT_EQ(ParseDuration("0"), absl::ZeroDuration());
  EXPECT_EQ(ParseDuration("inf"), absl::InfiniteDuration());
  EXPECT_EQ(ParseDuration("+1h"), absl::Hours(1));
  EXPECT_EQ(ParseDuration("-1h"), -absl::Hours(1));
  EXPECT_EQ(ParseDuration(""), std::nullopt);
  EXPECT_EQ(ParseDuration("+"), std::nullopt);
  EXPECT_EQ(ParseDuration("90"), std::nullopt);
  EXPECT_EQ(ParseDuration("1h30"), std::nullopt);
  EXPECT_EQ(ParseDuration("1h 30m"), std::nullopt);
  EXPECT_EQ(ParseDuration("1H"), std::nullopt);
  EXPECT_EQ(ParseDuration("1x"), std::nullopt);
  EXPECT_EQ(ParseDuration("1dd"), std::nullopt);
  EXPECT_EQ(ParseDuration("h"), std::nullopt);
  EXPECT_EQ(ParseDuration("."), std::nullopt);
  EXPECT_EQ(ParseDuration("1h-30m"), std::nullopt);
  EXPECT_EQ(ParseDuration("--1h"), std::nullopt);
}

// Whatever absl::ParseDuration accepts, ParseDuration accepts with the same value.
TEST(RegisterRulesTest, DurationsAcceptEverythingAbslDoes) {
  for (const char* text : {"0", "-0", "+0", "inf", "-inf", "+inf", "1ns", "1us", "1ms", "1s", "1m",
                           "1h", "1.5s", ".5s", "5.s", "2h45m", "45m2h", "1h1h", "300ms",
                           "-1.5h", "+90s", "9999999999s", "1h0.25m", "0s", "00001m"}) {
    absl::Duration expected;
    ASSERT_TRUE(absl::ParseDuration(text, &expected)) << text;
    EXPECT_EQ(ParseDuration(text), expected) << text;
  }
}

TEST(RegisterRulesTest, ClosestMatch) {
  const std::vector<std::string> keys = {"name", "region", "regions", "pue", "groups", "users"};
  EXPECT_EQ(ClosestMatch("regoin", keys), "region");
  EXPECT_EQ(ClosestMatch("Regions", keys), "regions");
  EXPECT_EQ(ClosestMatch("peu", keys), "pue");
  EXPECT_EQ(ClosestMatch("group", keys), "groups");
  EXPECT_EQ(ClosestMatch("cooling", keys), std::nullopt);
  EXPECT_EQ(ClosestMatch("x", keys), std::nullopt);
  // Equally close to two keys: no guess.
  EXPECT_EQ(ClosestMatch("regionx", {"regions", "regiony"}), std::nullopt);
}

TEST(RegisterRulesTest, KnownList) {
  EXPECT_EQ(KnownList({}), "none declared");
  EXPECT_EQ(KnownList({"us", "eu", "in", "eu"}), "eu, in, us");
  EXPECT_EQ(KnownList({"d", "c", "b", "a"}, 2), "a, b, ... (2 more)");
}

TEST(RegisterRulesTest, Utf8) {
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("caf\xe9"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
}

TEST(RegisterRulesTest, Sha256) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex("a", "bc"), Sha256Hex("abc"));  // the two parts are hashed as one
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(RegisterRulesTest, Labels) {
  EXPECT_EQ(ObjectLabel(Kind::kSite, 0, "paris-1"), "site \"paris-1\"");
  EXPECT_EQ(ObjectLabel(Kind::kDataset, 2, ""), "dataset #3");
  EXPECT_EQ(ObjectLabel(Kind::kPolicy, 0, ""), "policy");
  EXPECT_EQ(Quote("a\"b\n"), "\"a\\\"b\\n\"");
}

}  // namespace
}  // namespace sovereign::register_internal
