// Parsed registers by version: kept for reuse, but only the most recently used few, so that a
// long history of applied versions does not stay in sovereignd's memory.
#include "register_lifecycle/register_versions.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace sovereign::service {
namespace {

std::shared_ptr<const Register> Example() {
  static const std::shared_ptr<const Register> reg = [] {
    auto r = Register::Load(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : nullptr;
  }();
  return reg;
}

TEST(RegisterVersionsTest, KeepsTheMostRecentlyUsedVersionsOnly) {
  RegisterVersions versions(3);
  int loads = 0;
  auto get = [&](const std::string& v) {
    return versions.Get(v, [&] {
      ++loads;
      return Example();
    });
  };
  for (int i = 0; i < 3; ++i) {
    ASSERT_NE(get(absl::StrCat("v", i)), nullptr);
  }
  EXPECT_EQ(loads, 3);
  get("v0");  // v0 used again: v1 is now the least recently used
  EXPECT_EQ(loads, 3) << "a kept version is not parsed again";
  for (int i = 3; i < 100; ++i) {
    get(absl::StrCat("v", i));
    get("v0");
    EXPECT_LE(versions.size(), 3u);
  }
  EXPECT_EQ(loads, 3 + 97) << "v0, used all along, stayed";
  get("v1");
  EXPECT_EQ(loads, 101) << "v1 was dropped and is parsed again";
}

TEST(RegisterVersionsTest, AVersionThatCannotBeLoadedIsNotKept) {
  RegisterVersions versions(3);
  EXPECT_EQ(versions.Get("gone", [] { return std::shared_ptr<const Register>(); }), nullptr);
  EXPECT_EQ(versions.size(), 0u);
}

}  // namespace
}  // namespace sovereign::service
