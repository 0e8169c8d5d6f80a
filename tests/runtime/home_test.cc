// Tests of creating, reopening and resolving home directories.
#include "runtime/home.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "memory/database.h"
#include "tests/testing/temp_dir.h"

namespace llive::runtime {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

TEST(HomeTest, InitCreatesEveryPart) {
  testing::TempDir dir;
  std::string root = dir.File("nested/home");
  absl::StatusOr<Home> home = InitHome(root);
  ASSERT_TRUE(home.ok()) << home.status();
  EXPECT_TRUE(fs::is_regular_file(home->config_file));
  EXPECT_TRUE(fs::is_regular_file(home->database_file));
  EXPECT_TRUE(fs::is_directory(home->index_dir));
  EXPECT_TRUE(fs::is_directory(home->models_dir));
  EXPECT_EQ(home->database_file, (fs::path(root) / "memory.db").string());
  // The database is a real SQLite file in WAL mode.
  absl::StatusOr<std::unique_ptr<memory::Database>> db =
      memory::Database::Open(home->database_file, {.create_if_missing = false});
  ASSERT_TRUE(db.ok()) << db.status();
}

TEST(HomeTest, InitKeepsAnExistingConfiguration) {
  testing::TempDir dir;
  ASSERT_TRUE(InitHome(dir.path()).ok());
  absl::StatusOr<Home> home = OpenHome(dir.path());
  ASSERT_TRUE(home->config.Set("memory.surprise_theta", "0.7").ok());
  ASSERT_TRUE(home->config.Save(home->config_file).ok());
  absl::StatusOr<Home> again = InitHome(dir.path());
  ASSERT_TRUE(again.ok());
  EXPECT_DOUBLE_EQ(again->config.GetNumber("memory.surprise_theta"), 0.7);
}

TEST(HomeTest, OpenWithoutInitSaysToRunInit) {
  testing::TempDir dir;
  absl::StatusOr<Home> home = OpenHome(dir.File("nothing"));
  ASSERT_FALSE(home.ok());
  EXPECT_EQ(home.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(home.status().message(), HasSubstr("llive init"));
}

TEST(HomeTest, MalformedConfigNamesTheKey) {
  testing::TempDir dir;
  ASSERT_TRUE(InitHome(dir.path()).ok());
  std::ofstream(dir.File("llive.json")) << R"({"memory": {"surprise_theta": "x"}})";
  absl::StatusOr<Home> home = OpenHome(dir.path());
  ASSERT_FALSE(home.ok());
  EXPECT_THAT(home.status().message(), HasSubstr("memory.surprise_theta"));
  EXPECT_THAT(home.status().message(), HasSubstr(dir.File("llive.json")));
}

TEST(HomeTest, RelativeAndAbsolutePathsInConfig) {
  testing::TempDir dir;
  ASSERT_TRUE(InitHome(dir.File("h")).ok());
  absl::StatusOr<Home> home = OpenHome(dir.File("h"));
  ASSERT_TRUE(home->config.Set("memory.database", "data/agents.db").ok());
  ASSERT_TRUE(home->config.Set("models.dir", dir.File("shared-models")).ok());
  ASSERT_TRUE(home->config.Save(home->config_file).ok());
  absl::StatusOr<Home> again = InitHome(dir.File("h"));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->database_file, dir.File("h/data/agents.db"));
  EXPECT_EQ(again->models_dir, dir.File("shared-models"));
  EXPECT_TRUE(fs::is_regular_file(again->database_file));
  EXPECT_TRUE(fs::is_directory(again->models_dir));
}

TEST(HomeTest, HomeThatIsAFileIsRefused) {
  testing::TempDir dir;
  std::ofstream(dir.File("file")) << "x";
  absl::StatusOr<Home> home = InitHome(dir.File("file"));
  ASSERT_FALSE(home.ok());
  EXPECT_THAT(home.status().message(), HasSubstr("not a folder"));
}

TEST(HomeTest, ResolutionOrder) {
  std::string saved_home = getenv("HOME") ? getenv("HOME") : "";
  const char* saved_llive = getenv("LLIVE_HOME");
  std::string saved_llive_value = saved_llive ? saved_llive : "";

  setenv("LLIVE_HOME", "/from/env", 1);
  EXPECT_EQ(*ResolveHomeDir(std::string("/from/flag")), "/from/flag");
  EXPECT_EQ(*ResolveHomeDir(std::nullopt), "/from/env");
  unsetenv("LLIVE_HOME");
  setenv("HOME", "/users/a", 1);
  EXPECT_EQ(*ResolveHomeDir(std::nullopt), "/users/a/.llive");
  unsetenv("HOME");
  EXPECT_EQ(ResolveHomeDir(std::nullopt).status().code(), absl::StatusCode::kFailedPrecondition);

  setenv("HOME", saved_home.c_str(), 1);
  if (saved_llive) setenv("LLIVE_HOME", saved_llive_value.c_str(), 1);
}

}  // namespace
}  // namespace llive::runtime
