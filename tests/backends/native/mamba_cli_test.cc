// The Mamba backend through the `llive` program: `model convert` to GGUF, `model run` on the
// GGUF, and `generate --backend mamba:PATH` on the Hugging Face folder, as a user runs them.
#include <filesystem>
#include <fstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/backends/native/mamba_test_models.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive::backends::native {
namespace {

class MambaCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The GPT-NeoX vocabulary needs an embedding of at least its 50,277 rows.
    MambaConfig config = llive::testing::SmallMambaConfig();
    config.vocab_size = 50280;
    config.d_model = 16;
    config.d_inner = 32;
    std::filesystem::create_directory(model_dir());
    llive::testing::WriteHuggingFaceFolder(model_dir(), config,
                                           RandomMambaWeights(config, {.seed = 3}));
    std::filesystem::copy_file(LLIVE_SOURCE_DIR
                               "/tests/fixtures/tokenizers/gpt-neox-20b-tokenizer.json",
                               model_dir() + "/tokenizer.json");
    std::ofstream(dir_.File("prompt.txt")) << "The state of the art";
  }
  std::string model_dir() const { return dir_.File("model"); }

  llive::testing::TempDir dir_;
};

TEST_F(MambaCliTest, ConvertThenRunTheGgufAndGenerateFromTheFolder) {
  const std::string gguf = dir_.File("model.gguf");
  auto convert = llive::testing::RunProcess(
      {LLIVE_BINARY, "model", "convert", model_dir(), "--to", "gguf", gguf});
  ASSERT_EQ(convert.exit_code, 0) << convert.err;
  EXPECT_NE(convert.out.find("wrote"), std::string::npos) << convert.out;

  auto run = llive::testing::RunProcess({LLIVE_BINARY, "--json", "model", "run", "--backend",
                                         "mamba:" + gguf, "--prompt-file", dir_.File("prompt.txt"),
                                         "--max-tokens", "8"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json answer = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(answer.is_discarded()) << run.out;
  EXPECT_EQ(answer["prompt_tokens"], 5);  // "The| state| of| the| art"
  EXPECT_GT(answer["completion_tokens"].get<int>(), 0);
  EXPECT_GT(answer["decode_tokens_per_second"].get<double>(), 0.0);

  // The folder and the GGUF are the same model: greedy text is the same.
  auto generate = llive::testing::RunProcess(
      {LLIVE_BINARY, "--json", "generate", "--backend", "mamba:" + model_dir(), "--prompt",
       "The state of the art", "--max-tokens", "8", "--temperature", "0"});
  ASSERT_EQ(generate.exit_code, 0) << generate.err;
  nlohmann::json generated = nlohmann::json::parse(generate.out, nullptr, false);
  ASSERT_FALSE(generated.is_discarded()) << generate.out;
  EXPECT_EQ(generated["text"], answer["text"]);
}

TEST_F(MambaCliTest, BadInputsFailWithClearMessages) {
  auto missing = llive::testing::RunProcess({LLIVE_BINARY, "model", "run", "--backend",
                                             "mamba:" + dir_.File("nothing-here"), "--prompt-file",
                                             dir_.File("prompt.txt")});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("nothing-here"), std::string::npos) << missing.err;

  std::filesystem::remove(model_dir() + "/tokenizer.json");
  auto no_vocab = llive::testing::RunProcess(
      {LLIVE_BINARY, "model", "convert", model_dir(), "--to", "gguf", dir_.File("x.gguf")});
  EXPECT_EQ(no_vocab.exit_code, 1);
  EXPECT_NE(no_vocab.err.find("tokenizer.json"), std::string::npos) << no_vocab.err;

  auto bad_type = llive::testing::RunProcess({LLIVE_BINARY, "model", "convert", model_dir(), "--to",
                                              "gguf", dir_.File("x.gguf"), "--type", "q3"});
  EXPECT_EQ(bad_type.exit_code, 2);
  EXPECT_NE(bad_type.err.find("q3"), std::string::npos) << bad_type.err;
}

}  // namespace
}  // namespace llive::backends::native
