#include "register_lifecycle/register_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "support/temp_dir.h"

namespace sovereign::service {
namespace {

class RegisterStoreTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    auto s = RegisterStore::Open(dir_ + "/registers.db");
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }

  StoredRegister Entry(const std::string& version, const std::string& action) {
    StoredRegister e;
    e.version = version;
    e.yaml = "yaml of " + version;
    e.source = "r.yaml";
    e.applied_by = "uid=0(root)";
    e.action = action;
    e.applied_at = absl::FromUnixSeconds(1700000000);
    return e;
  }

  std::unique_ptr<RegisterStore> store_;
};

TEST_F(RegisterStoreTest, RevisionsAreNumberedAndListedNewestFirst) {
  EXPECT_FALSE(store_->Latest()->has_value());
  ASSERT_EQ(store_->Append(Entry(std::string(64, 'a'), "startup"))->revision, 1);
  ASSERT_EQ(store_->Append(Entry(std::string(64, 'b'), "apply"))->revision, 2);
  ASSERT_EQ(store_->Append(Entry(std::string(64, 'a'), "rollback"))->revision, 3);
  auto latest = store_->Latest();
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->action, "rollback");
  EXPECT_EQ((*latest)->yaml, "yaml of " + std::string(64, 'a'));
  EXPECT_EQ((*latest)->applied_at, absl::FromUnixSeconds(1700000000));
  auto history = store_->History(2, 0);
  ASSERT_TRUE(history.ok());
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].revision, 3);
  EXPECT_EQ((*history)[1].revision, 2);
  EXPECT_TRUE((*history)[0].yaml.empty());
  auto older = store_->History(10, 2);
  ASSERT_EQ(older->size(), 1u);
  EXPECT_EQ((*older)[0].action, "startup");
}

TEST_F(RegisterStoreTest, FindVersionByPrefix) {
  store_->Append(Entry("abcdef" + std::string(58, '1'), "startup")).IgnoreError();
  store_->Append(Entry("abcde0" + std::string(58, '2'), "apply")).IgnoreError();
  auto found = store_->FindVersion("abcdef");
  ASSERT_TRUE(found.ok()) << found.status();
  EXPECT_EQ(found->revision, 1);
  EXPECT_EQ(store_->FindVersion("abcde").status().message(),
            "register version \"abcde\" must be 6 to 64 lowercase hex digits (a version or its "
            "prefix)");
  EXPECT_EQ(store_->FindVersion("ABCDEF").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->FindVersion("abcd%_").status().code(), absl::StatusCode::kInvalidArgument);
  auto none = store_->FindVersion("123456");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(none.status().message(), "register version \"123456\" was never applied here");
}

TEST_F(RegisterStoreTest, AmbiguousPrefixIsRefused) {
  store_->Append(Entry("abcdef" + std::string(58, '1'), "startup")).IgnoreError();
  store_->Append(Entry("abcdef" + std::string(58, '2'), "apply")).IgnoreError();
  auto r = store_->FindVersion("abcdef");
  EXPECT_EQ(r.status().message(),
            "register version prefix \"abcdef\" is ambiguous: abcdef222222, abcdef111111");
}

TEST_F(RegisterStoreTest, SurvivesReopening) {
  store_->Append(Entry(std::string(64, 'c'), "startup")).IgnoreError();
  store_.reset();
  auto again = RegisterStore::Open(dir_ + "/registers.db");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*(*again)->Latest())->version, std::string(64, 'c'));
}

TEST_F(RegisterStoreTest, OpenErrorNamesThePath) {
  auto r = RegisterStore::Open("/nonexistent-dir/registers.db");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "cannot open register store /nonexistent-dir/registers.db: unable to open database "
            "file");
}

}  // namespace
}  // namespace sovereign::service
