// End-to-end tests of `llive memory ...` against a real home directory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive {
namespace {

using ::llive::testing::ProcessResult;
using ::testing::HasSubstr;

class MemoryCliTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(Llive({"init", dir_.path().string()}).exit_code, 0); }
  ProcessResult Llive(std::vector<std::string> args) {
    args.insert(args.begin(), LLIVE_BINARY);
    return testing::RunProcess(args, {"LLIVE_LOG_LEVEL=warn", "LLIVE_HOME=" + home()});
  }
  std::string home() const { return dir_.path().string(); }
  testing::TempDir dir_;
};

TEST_F(MemoryCliTest, AddSearchStatsAsJson) {
  ProcessResult added =
      Llive({"memory", "add", "My sister Hana lives in Osaka", "--agent", "alice", "--json"});
  ASSERT_EQ(added.exit_code, 0) << added.err;
  EXPECT_EQ(nlohmann::json::parse(added.out)["agent"], "alice");
  ASSERT_EQ(Llive({"memory", "add", "京都で友達と会う", "--agent", "alice"}).exit_code, 0);
  ASSERT_EQ(Llive({"memory", "add", "bob's own note about Osaka", "--agent", "bob"}).exit_code, 0);
  ProcessResult found = Llive(
      {"memory", "search", "where does Hana live?", "--agent", "alice", "--k", "1", "--json"});
  ASSERT_EQ(found.exit_code, 0) << found.err;
  nlohmann::json hits = nlohmann::json::parse(found.out);
  ASSERT_EQ(hits.size(), 1u);
  EXPECT_EQ(hits[0]["content"], "My sister Hana lives in Osaka");
  EXPECT_GT(hits[0]["score"].get<double>(), 0);
  ProcessResult japanese = Llive({"memory", "search", "京都", "--agent", "alice"});
  EXPECT_THAT(japanese.out, HasSubstr("京都で友達と会う"));
  EXPECT_THAT(japanese.out, ::testing::Not(HasSubstr("bob")));
  ProcessResult stats = Llive({"memory", "stats", "--json"});
  ASSERT_EQ(stats.exit_code, 0) << stats.err;
  nlohmann::json parsed = nlohmann::json::parse(stats.out);
  ASSERT_EQ(parsed["agents"].size(), 2u);
  EXPECT_EQ(parsed["agents"][0]["events"], 2);
}

TEST_F(MemoryCliTest, ExportImportForgetBackup) {
  ASSERT_EQ(Llive({"memory", "add", "a note to carry over", "--agent", "alice"}).exit_code, 0);
  const std::string file = dir_.File("alice.jsonl");
  ASSERT_EQ(Llive({"memory", "export", "--agent", "alice", "--out", file}).exit_code, 0);
  ProcessResult imported = Llive({"memory", "import", file, "--agent", "copy", "--json"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_EQ(nlohmann::json::parse(imported.out)["events"], 1);
  ProcessResult forgotten = Llive({"memory", "forget", "--agent", "copy", "--all", "--json"});
  ASSERT_EQ(forgotten.exit_code, 0) << forgotten.err;
  EXPECT_GE(nlohmann::json::parse(forgotten.out)["erased"].get<int>(), 1);
  EXPECT_THAT(Llive({"memory", "search", "note", "--agent", "copy"}).out,
              HasSubstr("no memories match"));
  ASSERT_EQ(Llive({"memory", "backup", dir_.File("backup.db")}).exit_code, 0);
}

TEST_F(MemoryCliTest, BadInputExitsTwoWithAMessage) {
  ProcessResult empty = Llive({"memory", "add", "", "--agent", "alice"});
  EXPECT_EQ(empty.exit_code, 2);
  EXPECT_THAT(empty.err, HasSubstr("empty"));
  ProcessResult bad_agent = Llive({"memory", "add", "x", "--agent", "has space"});
  EXPECT_EQ(bad_agent.exit_code, 2);
  EXPECT_THAT(bad_agent.err, HasSubstr("agent id"));
  EXPECT_EQ(Llive({"memory", "forget", "--agent", "alice"}).exit_code, 2);
  EXPECT_EQ(Llive({"memory", "forget", "--agent", "alice", "--id", "999"}).exit_code, 1);
}

}  // namespace
}  // namespace llive
