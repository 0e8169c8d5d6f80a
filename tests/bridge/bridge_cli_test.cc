// Tests of `llive bridge` end to end: fit on the RWKV-7 fixture with a small corpus into an
// agent's memory or a file, read, write, personas, and the errors users meet.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "memory/database.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive::bridge {
namespace {

using llive::testing::ProcessResult;

// One OpenBLAS thread: ctest runs cases in parallel, and spinning BLAS threads on top of that
// slow a run many times over.
ProcessResult RunLlive(const std::vector<std::string>& argv, std::vector<std::string> env = {}) {
  env.push_back("OMP_NUM_THREADS=1");
  return llive::testing::RunProcess(argv, env);
}

constexpr const char* kModel = "rwkv7:" LLIVE_SOURCE_DIR "/tests/fixtures/rwkv7/small";

// Every 10th pair of the shipped corpus: 120 texts keep a fit to about a second.
std::string SmallCorpus(const llive::testing::TempDir& dir) {
  std::ifstream full(LLIVE_SOURCE_DIR "/bridge/data/exemplars.jsonl");
  const std::string path = dir.File("small.jsonl");
  std::ofstream small(path);
  std::string first, second;
  for (int pair = 0; std::getline(full, first) && std::getline(full, second); ++pair) {
    if (pair % 10 == 0) small << first << "\n" << second << "\n";
  }
  return path;
}

TEST(BridgeCliTest, FitStoresTheParametersInTheAgentsMemory) {
  llive::testing::TempDir dir;
  const std::string corpus = SmallCorpus(dir);
  const std::string home = dir.File("home");
  const std::vector<std::string> llive = {LLIVE_BINARY, "--home", home};
  auto with = [&llive](std::vector<std::string> args) {
    std::vector<std::string> argv = llive;
    argv.insert(argv.end(), args.begin(), args.end());
    return RunLlive(argv);
  };
  ProcessResult no_home = with({"bridge", "fit", "--backend", kModel, "--corpus", corpus});
  EXPECT_NE(no_home.exit_code, 0);
  EXPECT_THAT(no_home.err, ::testing::HasSubstr("llive init"));
  ASSERT_EQ(with({"init"}).exit_code, 0);

  ProcessResult read_before = with({"bridge", "read", "--backend", kModel, "--prompt", "hi"});
  EXPECT_EQ(read_before.exit_code, 1);
  EXPECT_THAT(read_before.err, ::testing::HasSubstr("run `llive bridge fit --backend"));

  ProcessResult fit = with({"--json", "bridge", "fit", "--backend", kModel, "--corpus", corpus,
                            "--agent", "ana", "--permutations", "5", "--no-random-baseline"});
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  nlohmann::json report = nlohmann::json::parse(fit.out);
  EXPECT_EQ(report["params"]["artifact"]["agent"], "ana");
  EXPECT_EQ(report["params"]["artifact"]["kind"], "bridge_params");
  EXPECT_FALSE(report["params"].contains("file"));
  const int64_t artifact = report["params"]["artifact"]["id"].get<int64_t>();

  ProcessResult read =
      with({"bridge", "read", "--backend", kModel, "--agent", "ana", "--prompt", "hi"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_THAT(read.out, ::testing::HasSubstr("現実接続"));
  ProcessResult other_agent =
      with({"bridge", "read", "--backend", kModel, "--agent", "bo", "--prompt", "hi"});
  EXPECT_EQ(other_agent.exit_code, 1);
  EXPECT_THAT(other_agent.err, ::testing::HasSubstr("agent \"bo\" has no bridge parameters"));
  ProcessResult not_utf8 =
      with({"bridge", "read", "--backend", kModel, "--agent", "ana", "--prompt", "caf\xE9"});
  EXPECT_EQ(not_utf8.exit_code, 2);
  EXPECT_THAT(not_utf8.err,
              ::testing::HasSubstr("--prompt is not valid UTF-8: byte 0xe9 at offset 3"));

  ASSERT_EQ(with({"bridge", "persona", "set", "careful", "--agent", "ana", "--target",
                  "closed_loop=0.9,alignment=0.8"})
                .exit_code,
            0);
  ASSERT_EQ(
      with({"bridge", "persona", "set", "careful", "--agent", "ana", "--target", "grounding=0.7"})
          .exit_code,
      0);
  ProcessResult list = with({"--json", "bridge", "persona", "list", "--agent", "ana"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  nlohmann::json personas = nlohmann::json::parse(list.out)["personas"];
  ASSERT_EQ(personas.size(), 1u);
  EXPECT_NEAR(personas["careful"]["closed_loop"].get<double>(), 0.9, 1e-6);  // kept
  EXPECT_NEAR(personas["careful"]["grounding"].get<double>(), 0.7, 1e-6);    // changed
  EXPECT_NEAR(personas["careful"]["structure"].get<double>(), 0.5, 1e-6);    // never named
  ProcessResult show = with({"bridge", "persona", "show", "careful", "--agent", "ana"});
  ASSERT_EQ(show.exit_code, 0) << show.err;
  EXPECT_THAT(show.out, ::testing::HasSubstr("閉ループ"));
  EXPECT_EQ(with({"bridge", "persona", "show", "careful", "--agent", "bo"}).exit_code, 2);
  EXPECT_EQ(with({"bridge", "persona", "set", "two words", "--target", "grounding=0.7"}).exit_code,
            2);

  ProcessResult write = with({"--json", "bridge", "write", "--backend", kModel, "--agent", "ana",
                              "--prompt", "hi", "--persona", "careful", "--max-tokens", "1"});
  ASSERT_EQ(write.exit_code, 0) << write.err;
  nlohmann::json written = nlohmann::json::parse(write.out);
  EXPECT_NEAR(written["after"]["closed_loop"].get<double>(), 0.9, 1e-3);
  EXPECT_NEAR(written["after"]["grounding"].get<double>(), 0.7, 1e-3);
  ProcessResult no_persona = with({"bridge", "write", "--backend", kModel, "--agent", "ana",
                                   "--prompt", "hi", "--persona", "bold"});
  EXPECT_EQ(no_persona.exit_code, 2);
  EXPECT_THAT(no_persona.err, ::testing::HasSubstr("llive bridge persona set bold"));

  // The parameters and personas are part of the agent's memory: they travel with an export.
  const std::string exported = dir.File("ana.jsonl");
  ProcessResult exporting = with({"memory", "export", "--agent", "ana"});
  ASSERT_EQ(exporting.exit_code, 0) << exporting.err;
  std::ofstream(exported) << exporting.out;
  ASSERT_EQ(with({"memory", "import", "--agent", "cy", exported}).exit_code, 0);
  ProcessResult imported = with({"--json", "bridge", "write", "--backend", kModel, "--agent", "cy",
                                 "--prompt", "hi", "--persona", "careful", "--max-tokens", "1"});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NEAR(nlohmann::json::parse(imported.out)["after"]["closed_loop"].get<double>(), 0.9, 1e-3);

  {  // One byte of the stored parameters changed behind the store's back.
    absl::StatusOr<std::unique_ptr<memory::Database>> db =
        memory::Database::Open(home + "/memory.db");
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)
                    ->Exec("UPDATE artifacts SET bytes = substr(bytes, 1, 200) || X'7F' || "
                           "substr(bytes, 202) WHERE id = " +
                           std::to_string(artifact))
                    .ok());
  }
  ProcessResult tampered =
      with({"bridge", "read", "--backend", kModel, "--agent", "ana", "--prompt", "hi"});
  EXPECT_EQ(tampered.exit_code, 1);
  EXPECT_THAT(tampered.err, ::testing::HasSubstr("sha256"));
}

TEST(BridgeCliTest, ParametersFileWithOutAndParams) {
  llive::testing::TempDir dir;
  const std::string corpus = SmallCorpus(dir);
  const std::string params = dir.File("p.llbridge");
  // No home at all: --out is where the parameters go.
  ProcessResult fit =
      RunLlive({LLIVE_BINARY, "bridge", "fit", "--backend", kModel, "--corpus", corpus, "--out",
                params, "--permutations", "5", "--no-random-baseline"},
               {"LLIVE_HOME=" + dir.File("none")});
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  EXPECT_THAT(fit.out, ::testing::HasSubstr("| multi_perspective |"));
  EXPECT_THAT(fit.out, ::testing::HasSubstr("AUC bag of words"));
  EXPECT_THAT(fit.out, ::testing::HasSubstr("parameters file: " + params));
  EXPECT_THAT(fit.err, ::testing::HasSubstr("not to an agent's memory"));

  ProcessResult read = RunLlive(
      {LLIVE_BINARY, "bridge", "read", "--backend", kModel, "--params", params, "--prompt", "hi"});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  EXPECT_THAT(read.out, ::testing::HasSubstr("現実接続"));

  ProcessResult write =
      RunLlive({LLIVE_BINARY, "--json", "bridge", "write", "--backend", kModel, "--params", params,
                "--prompt", "hi", "--target", "uncertainty=0.8", "--max-tokens", "3"});
  ASSERT_EQ(write.exit_code, 0) << write.err;
  nlohmann::json out = nlohmann::json::parse(write.out);
  EXPECT_NEAR(out["after"]["uncertainty"].get<double>(), 0.8, 1e-3);
  EXPECT_NEAR(out["after"]["grounding"].get<double>(), out["before"]["grounding"].get<double>(),
              1e-3);
  // The continuations read as texts of their own: ten scores each.
  ASSERT_TRUE(out.contains("continuation_after_factors")) << write.out;
  EXPECT_EQ(out["continuation_before_factors"].size(), 10u);
  const double read_after = out["continuation_after_factors"]["uncertainty"].get<double>();
  EXPECT_TRUE(read_after >= 0.0 && read_after <= 1.0);

  ProcessResult persona = RunLlive({LLIVE_BINARY, "bridge", "persona", "set", "careful", "--params",
                                    params, "--target", "closed_loop=0.9"});
  ASSERT_EQ(persona.exit_code, 0) << persona.err;
  ProcessResult with_persona =
      RunLlive({LLIVE_BINARY, "--json", "bridge", "write", "--backend", kModel, "--params", params,
                "--prompt", "hi", "--persona", "careful", "--max-tokens", "1"});
  ASSERT_EQ(with_persona.exit_code, 0) << with_persona.err;
  EXPECT_NEAR(nlohmann::json::parse(with_persona.out)["after"]["closed_loop"].get<double>(), 0.9,
              1e-3);

  ProcessResult bad_factor =
      RunLlive({LLIVE_BINARY, "bridge", "write", "--backend", kModel, "--params", params,
                "--prompt", "hi", "--target", "creativity=0.5"});
  EXPECT_EQ(bad_factor.exit_code, 2);
  EXPECT_THAT(bad_factor.err, ::testing::HasSubstr("unknown factor"));
  std::ofstream(params, std::ios::app) << "x";  // corrupt the parameters
  ProcessResult corrupt = RunLlive(
      {LLIVE_BINARY, "bridge", "read", "--backend", kModel, "--params", params, "--prompt", "hi"});
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_THAT(corrupt.err, ::testing::HasSubstr("p.llbridge"));
}

}  // namespace
}  // namespace llive::bridge
