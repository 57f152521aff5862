#include "register_lifecycle/register_manager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_replace.h"
#include "sovereign/file_io.h"
#include "support/temp_dir.h"

namespace sovereign::service {
namespace {

using ::testing::HasSubstr;

class RegisterManagerTest : public testing::TempDirTest {
 protected:
  void SetUp() override {
    example_ = *ReadFileToString(SOVEREIGN_SOURCE_DIR "/config/register.example.yaml");
    ASSERT_TRUE(WriteFileAtomically(dir_ + "/register.yaml", example_).ok());
    store_ = *RegisterStore::Open(dir_ + "/registers.db");
    RegisterManagerOptions o;
    o.register_path = dir_ + "/register.yaml";
    auto m = RegisterManager::Start(o, store_.get());
    ASSERT_TRUE(m.ok()) << m.status();
    manager_ = *std::move(m);
  }

  std::string Changed() const {
    return absl::StrReplaceAll(example_, {{"pue: 1.3 ", "pue: 1.25"}});
  }

  std::string example_;
  std::unique_ptr<RegisterStore> store_;
  std::unique_ptr<RegisterManager> manager_;
};

TEST_F(RegisterManagerTest, ApplySwapsRecordsAndWritesTheFile) {
  std::shared_ptr<const ActiveRegister> before = manager_->Current();
  auto r = manager_->Apply(Changed(), "new.yaml", "uid=0(root)", "apply", "why", "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->previous_version, before->reg->version());
  EXPECT_EQ(r->revision.revision, 2);
  EXPECT_NE(manager_->Current()->reg->version(), before->reg->version());
  EXPECT_EQ(manager_->Current()->revision, 2);
  EXPECT_EQ(*ReadFileToString(dir_ + "/register.yaml"), Changed());
  // A reader holding the old register keeps a valid one.
  EXPECT_EQ(before->reg->FindSite("paris-1")->pue, 1.3);
}

TEST_F(RegisterManagerTest, InvalidRegisterIsRefusedAndTheOldStays) {
  std::string version = manager_->Current()->reg->version();
  auto r = manager_->Apply(absl::StrReplaceAll(example_, {{"regions: [in]", "regions: [mars]"}}),
                           "bad.yaml", "uid=0(root)", "apply", "", "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(r.status().message(), HasSubstr("bad.yaml:"));
  EXPECT_THAT(r.status().message(), HasSubstr("mars"));
  EXPECT_EQ(manager_->Current()->reg->version(), version);
  EXPECT_EQ(*ReadFileToString(dir_ + "/register.yaml"), example_);
  EXPECT_EQ((*store_->Latest())->revision, 1);
}

TEST_F(RegisterManagerTest, ExpectedVersionGuardsAgainstConcurrentApplies) {
  auto r = manager_->Apply(Changed(), "new.yaml", "uid=0(root)", "apply", "", "123456");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "the register in force is " +
                                      manager_->Current()->reg->version().substr(0, 12) +
                                      ", not 123456: someone applied another register meanwhile");
  EXPECT_TRUE(manager_
                  ->Apply(Changed(), "new.yaml", "uid=0(root)", "apply", "",
                          manager_->Current()->reg->version().substr(0, 8))
                  .ok());
}

TEST_F(RegisterManagerTest, RollbackIsANewRevision) {
  std::string original = manager_->Current()->reg->version();
  ASSERT_TRUE(manager_->Apply(Changed(), "new.yaml", "uid=0(root)", "apply", "", "").ok());
  auto r = manager_->Rollback(original.substr(0, 10), "uid=0(root)", "undo");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revision.revision, 3);
  EXPECT_EQ(r->revision.action, "rollback");
  EXPECT_EQ(manager_->Current()->reg->version(), original);
  EXPECT_EQ(*ReadFileToString(dir_ + "/register.yaml"), example_);
}

TEST_F(RegisterManagerTest, ReloadCountsFailuresAndSkipsUnchangedFiles) {
  auto same = manager_->Reload();
  ASSERT_TRUE(same.ok());
  EXPECT_FALSE(same->changed);
  EXPECT_EQ((*store_->Latest())->revision, 1);

  ASSERT_TRUE(WriteFileAtomically(dir_ + "/register.yaml", "regions: [\n").ok());
  EXPECT_FALSE(manager_->Reload().ok());
  EXPECT_EQ(manager_->reload_failures(), 1);

  ASSERT_TRUE(WriteFileAtomically(dir_ + "/register.yaml", Changed()).ok());
  auto r = manager_->Reload();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->revision.action, "reload");
  EXPECT_EQ(r->revision.applied_by, "sovereignd (SIGHUP)");
}

TEST_F(RegisterManagerTest, RestartRecordsTheFileOnlyWhenItChanged) {
  RegisterManagerOptions o;
  o.register_path = dir_ + "/register.yaml";
  ASSERT_TRUE(RegisterManager::Start(o, store_.get()).ok());
  EXPECT_EQ((*store_->Latest())->revision, 1);
  ASSERT_TRUE(WriteFileAtomically(dir_ + "/register.yaml", Changed()).ok());
  auto m = RegisterManager::Start(o, store_.get());
  ASSERT_TRUE(m.ok());
  EXPECT_EQ((*store_->Latest())->revision, 2);
  EXPECT_EQ((*store_->Latest())->action, "startup");
}

}  // namespace
}  // namespace sovereign::service
