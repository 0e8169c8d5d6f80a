// Tests of `llive bridge` end to end: fit on the RWKV-7 fixture with a small corpus, read,
// write, persona, and the errors users meet.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive::bridge {
namespace {

using llive::testing::ProcessResult;

// One OpenBLAS thread: ctest runs cases in parallel, and spinning BLAS threads on top of that
// slow a run many times over.
ProcessResult RunLlive(const std::vector<std::string>& argv) {
  return llive::testing::RunProcess(argv, {"OMP_NUM_THREADS=1"});
}

constexpr const char* kModel = "rwkv7:" LLIVE_SOURCE_DIR "/tests/fixtures/rwkv7/small";

TEST(BridgeCliTest, FitReadWritePersona) {
  llive::testing::TempDir dir;
  // Every 10th pair of the shipped corpus: 120 texts keep the fit to seconds.
  std::ifstream full(LLIVE_SOURCE_DIR "/bridge/data/exemplars.jsonl");
  std::ofstream small(dir.File("small.jsonl"));
  std::string first, second;
  for (int pair = 0; std::getline(full, first) && std::getline(full, second); ++pair) {
    if (pair % 10 == 0) small << first << "\n" << second << "\n";
  }
  small.close();
  const std::string params = dir.File("p.llbridge");
  ProcessResult fit = RunLlive({LLIVE_BINARY, "bridge", "fit", "--backend", kModel, "--corpus",
                                dir.File("small.jsonl"), "--params", params, "--permutations", "5",
                                "--no-random-baseline"});
  ASSERT_EQ(fit.exit_code, 0) << fit.err;
  EXPECT_THAT(fit.out, ::testing::HasSubstr("| multi_perspective |"));
  EXPECT_THAT(fit.out, ::testing::HasSubstr("AUC bag of words"));

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

  ProcessResult persona = RunLlive({LLIVE_BINARY, "bridge", "persona", "--params", params, "--name",
                                    "careful", "--target", "closed_loop=0.9"});
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
