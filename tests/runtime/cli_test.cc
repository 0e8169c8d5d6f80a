// End-to-end tests of the `llive` binary: exit codes, init, config show/get/set.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive {
namespace {

using ::llive::testing::ProcessResult;
using ::llive::testing::RunProcess;
using ::testing::HasSubstr;

ProcessResult Llive(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), LLIVE_BINARY);
  env.push_back("LLIVE_LOG_LEVEL=warn");
  return RunProcess(args, env);
}

// The tests' process runner: an extra environment entry replaces an inherited one of the same
// name (a child reads the first entry of a name, so appending it would not be enough).
TEST(RunProcessTest, ExtraEnvironmentReplacesTheInheritedEntry) {
  ASSERT_EQ(setenv("LLIVE_RUN_PROCESS_TEST", "inherited", 1), 0);
  ProcessResult env = RunProcess({"/usr/bin/env"}, {"LLIVE_RUN_PROCESS_TEST=given"});
  unsetenv("LLIVE_RUN_PROCESS_TEST");
  ASSERT_EQ(env.exit_code, 0) << env.err;
  EXPECT_THAT(env.out, HasSubstr("LLIVE_RUN_PROCESS_TEST=given\n"));
  EXPECT_THAT(env.out, ::testing::Not(HasSubstr("LLIVE_RUN_PROCESS_TEST=inherited")));
}

TEST(CliTest, HelpAndVersionExitZero) {
  ProcessResult help = Llive({"--help"});
  EXPECT_EQ(help.exit_code, 0) << help.err;
  EXPECT_THAT(help.out, HasSubstr("init"));
  EXPECT_THAT(help.out, HasSubstr("config"));
  EXPECT_THAT(help.out, HasSubstr("Exit codes"));
  ProcessResult version = Llive({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_THAT(version.out, HasSubstr("llive 0."));
  ProcessResult sub_help = Llive({"config", "--help"});
  EXPECT_EQ(sub_help.exit_code, 0);
  EXPECT_THAT(sub_help.out, HasSubstr("show"));
}

TEST(CliTest, UsageErrorsExitTwo) {
  EXPECT_EQ(Llive({}).exit_code, 2);
  EXPECT_EQ(Llive({"no-such-command"}).exit_code, 2);
  EXPECT_EQ(Llive({"config", "get"}).exit_code, 2);
  EXPECT_EQ(Llive({"init", "--no-such-flag"}).exit_code, 2);
}

TEST(CliTest, InitThenConfigShow) {
  testing::TempDir dir;
  std::string home = dir.File("x");
  ProcessResult init = Llive({"init", home});
  ASSERT_EQ(init.exit_code, 0) << init.err;
  EXPECT_THAT(init.out, HasSubstr(home));
  EXPECT_TRUE(std::filesystem::exists(home + "/llive.json"));
  EXPECT_TRUE(std::filesystem::exists(home + "/memory.db"));

  ProcessResult show = Llive({"config", "show"}, {"LLIVE_HOME=" + home});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  nlohmann::json shown = nlohmann::json::parse(show.out);
  EXPECT_EQ(shown["memory"]["surprise_theta"], 0.3);
  EXPECT_EQ(shown["backend"]["llm"], "mamba:llive-mamba-small");

  ProcessResult with_flag = Llive({"--home", home, "config", "show"});
  EXPECT_EQ(with_flag.exit_code, 0) << with_flag.err;
  ProcessResult flag_after = Llive({"config", "show", "--home", home});
  EXPECT_EQ(flag_after.exit_code, 0) << flag_after.err;
}

TEST(CliTest, ConfigSetGetPersists) {
  testing::TempDir dir;
  std::string home = dir.File("h");
  ASSERT_EQ(Llive({"init", home}).exit_code, 0);
  ProcessResult set = Llive({"--home", home, "config", "set", "scheduler.schedule", "every:2h"});
  ASSERT_EQ(set.exit_code, 0) << set.err;
  ProcessResult get = Llive({"--home", home, "config", "get", "scheduler.schedule"});
  EXPECT_EQ(get.exit_code, 0);
  EXPECT_EQ(get.out, "every:2h\n");

  ProcessResult bad = Llive({"--home", home, "config", "set", "memory.surprise_theta", "7"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_THAT(bad.err, HasSubstr("memory.surprise_theta"));
  EXPECT_THAT(bad.err, HasSubstr("from 0 to 1"));
  ProcessResult unknown = Llive({"--home", home, "config", "get", "memory.nope"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_THAT(unknown.err, HasSubstr("unknown configuration key"));
}

TEST(CliTest, MalformedConfigFailsWithTheKeyAndExitOne) {
  testing::TempDir dir;
  std::string home = dir.File("h");
  ASSERT_EQ(Llive({"init", home}).exit_code, 0);
  std::ofstream(home + "/llive.json") << R"({"memory": {"surprise_theta": "high"}})";
  ProcessResult show = Llive({"--home", home, "config", "show"});
  EXPECT_EQ(show.exit_code, 1);
  EXPECT_THAT(show.err, HasSubstr("memory.surprise_theta: expected number, got string"));

  std::ofstream(home + "/llive.json") << "{\"memory\": {";
  ProcessResult broken = Llive({"--home", home, "config", "show"});
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_THAT(broken.err, HasSubstr("malformed JSON"));
}

TEST(CliTest, MissingHomeSaysToInit) {
  testing::TempDir dir;
  ProcessResult show = Llive({"--home", dir.File("none"), "config", "show"});
  EXPECT_EQ(show.exit_code, 1);
  EXPECT_THAT(show.err, HasSubstr("llive init"));
}

TEST(CliTest, DevicesListsTheCpu) {
  ProcessResult devices = Llive({"--json", "devices"});
  ASSERT_EQ(devices.exit_code, 0) << devices.err;
  nlohmann::json out = nlohmann::json::parse(devices.out);
  EXPECT_GE(out["cpu"]["threads"].get<int>(), 1);
  EXPECT_TRUE(out.contains("cuda_built"));
}

}  // namespace
}  // namespace llive
