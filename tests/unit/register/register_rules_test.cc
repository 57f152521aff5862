// The lexical rules behind the register's diagnostics.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "register_internal.h"
#include "sovereign/digest.h"

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

TEST(RegisterRulesTest, Durations) {
  EXPECT_EQ(ParseDuration("45s"), absl::Seconds(45));
  EXPECT_EQ(ParseDuration("1d12h"), absl::Hours(36));
  EXPECT_EQ(ParseDuration("0s"), absl::ZeroDuration());
  EXPECT_EQ(ParseDuration("3650d"), absl::Hours(3650 * 24));
  EXPECT_EQ(ParseDuration("3651d"), std::nullopt);
  EXPECT_EQ(ParseDuration("9999999999s"), std::nullopt);
  EXPECT_EQ(ParseDuration(""), std::nullopt);
  EXPECT_EQ(ParseDuration("1h 30m"), std::nullopt);
  EXPECT_EQ(ParseDuration("+1h"), std::nullopt);
  EXPECT_EQ(ParseDuration("1H"), std::nullopt);
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
