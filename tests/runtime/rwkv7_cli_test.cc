// End-to-end: `llive model convert` writes an rwkv7 GGUF, and `llive generate --backend
// rwkv7:PATH` runs the Hugging Face folder and that GGUF alike.
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
using ::testing::HasSubstr;

const std::string kFixture = LLIVE_SOURCE_DIR "/tests/fixtures/rwkv7/small";

ProcessResult Llive(std::vector<std::string> args) {
  args.insert(args.begin(), LLIVE_BINARY);
  return testing::RunProcess(args, {"LLIVE_LOG_LEVEL=warn", "LLIVE_HOME=/nonexistent-llive-home"});
}

TEST(Rwkv7CliTest, ConvertThenGenerateFromBothFiles) {
  testing::TempDir dir;
  const std::string gguf = dir.File("small.gguf");
  ProcessResult convert = Llive({"--json", "model", "convert", kFixture, "--to", "gguf", gguf});
  ASSERT_EQ(convert.exit_code, 0) << convert.err;
  EXPECT_EQ(nlohmann::json::parse(convert.out)["architecture"], "rwkv7");
  ASSERT_TRUE(std::filesystem::exists(gguf));
  std::string texts[2];
  int i = 0;
  for (const std::string& path : {kFixture, gguf}) {
    ProcessResult run = Llive({"--json", "generate", "--backend", "rwkv7:" + path, "--prompt",
                               "The cat", "--max-tokens", "8", "--temperature", "0"});
    ASSERT_EQ(run.exit_code, 0) << run.err;
    nlohmann::json answer = nlohmann::json::parse(run.out);
    EXPECT_EQ(answer["backend"], "rwkv7");
    EXPECT_GT(answer["usage"]["completion_tokens"].get<int>(), 0);
    texts[i++] = answer["text"].get<std::string>();
  }
  EXPECT_EQ(texts[0], texts[1]);
}

TEST(Rwkv7CliTest, ConvertRefusesBadTypeAndOtherArchitectures) {
  testing::TempDir dir;
  ProcessResult bad_type =
      Llive({"model", "convert", kFixture, "--to", "gguf", dir.File("x.gguf"), "--type", "Q4_K"});
  EXPECT_EQ(bad_type.exit_code, 2);
  EXPECT_THAT(bad_type.err, HasSubstr("Q4_K"));
  // The same weights declared as another architecture.
  const std::string other = dir.File("other");
  std::filesystem::create_directories(other);
  std::filesystem::copy_file(kFixture + "/model.safetensors", other + "/model.safetensors");
  std::ifstream in(kFixture + "/config.json");
  nlohmann::json config = nlohmann::json::parse(in);
  config["model_type"] = "llama";
  std::ofstream(other + "/config.json") << config.dump();
  ProcessResult wrong = Llive({"model", "convert", other, "--to", "gguf", dir.File("y.gguf")});
  EXPECT_NE(wrong.exit_code, 0);
  EXPECT_THAT(wrong.err, HasSubstr("\"llama\""));
  ProcessResult missing =
      Llive({"generate", "--backend", "rwkv7:" + dir.File("none"), "--prompt", "x"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_THAT(missing.err, HasSubstr("none"));
}

}  // namespace
}  // namespace llive
