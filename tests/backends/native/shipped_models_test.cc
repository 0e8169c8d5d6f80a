// The models the project ships (backends/models/): they load, llive's converter turns them
// into GGUF files that give the same logits in llive, and llama.cpp (npm node-llama-cpp,
// tests/peers) loads those files, tokenizes the same way and continues greedily the same way.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "backends/native/mamba_backend.h"
#include "backends/native/rwkv7_backend.h"
#include "gtest/gtest.h"
#include "tests/backends/native/llama_cpp_greedy.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive::backends::native {
namespace {

const std::vector<std::string>& Prompts() {
  static const auto* prompts =
      new std::vector<std::string>{"The package manager", "To configure the network,",
                                   "Debian is",           "The kernel",
                                   "パッケージを",        "このコマンドは",
                                   "ファイルを",          "設定ファイルは"};
  return *prompts;
}

absl::StatusOr<std::unique_ptr<StatefulBackend>> Open(const std::string& architecture,
                                                      const std::string& path) {
  if (architecture == "mamba") {
    auto backend = MambaBackend::Open(path);
    if (!backend.ok()) return backend.status();
    return std::unique_ptr<StatefulBackend>(*std::move(backend));
  }
  auto backend = Rwkv7Backend::Open(path);
  if (!backend.ok()) return backend.status();
  return std::unique_ptr<StatefulBackend>(*std::move(backend));
}

class ShippedModelTest : public ::testing::TestWithParam<const char*> {};

TEST_P(ShippedModelTest, ConvertedGgufMatchesInLliveAndInLlamaCpp) {
  const std::string architecture = GetParam();
  const std::string folder =
      std::string(LLIVE_SOURCE_DIR) + "/backends/models/llive-" + architecture + "-small";
  auto shipped = Open(architecture, folder);
  ASSERT_TRUE(shipped.ok()) << shipped.status();
  testing::TempDir dir;
  const std::string gguf = dir.File(architecture + ".gguf");
  testing::ProcessResult convert = testing::RunProcess(
      {LLIVE_BINARY, "model", "convert", folder, gguf, "--type", "f32"}, {"LLIVE_LOG_LEVEL=warn"});
  ASSERT_EQ(convert.exit_code, 0) << convert.err;
  auto converted = Open(architecture, gguf);
  ASSERT_TRUE(converted.ok()) << converted.status();

  // The fp16 weights widen exactly to f32, so both files give the same logits.
  for (const std::string& text : Prompts()) {
    auto tokens = (*shipped)->Tokenize(text);
    ASSERT_TRUE(tokens.ok()) << tokens.status();
    EXPECT_EQ(*(*converted)->Tokenize(text), *tokens) << text;
    auto a = (*shipped)->NewState();
    auto b = (*converted)->NewState();
    std::vector<float> from_folder = *(*shipped)->Feed(**a, *tokens);
    std::vector<float> from_gguf = *(*converted)->Feed(**b, *tokens);
    ASSERT_EQ(from_folder.size(), from_gguf.size());
    float worst = 0;
    for (size_t i = 0; i < from_folder.size(); ++i) {
      worst = std::max(worst, std::abs(from_folder[i] - from_gguf[i]));
    }
    EXPECT_LE(worst, 1e-4f) << text;
  }

  const std::string node = FindOnPath("node");
  if (node.empty() ||
      !std::filesystem::exists(LLIVE_SOURCE_DIR "/tests/peers/node_modules/node-llama-cpp")) {
    GTEST_SKIP() << "the llama.cpp half needs Node.js and tests/peers/node_modules (run "
                    "scripts/setup)";
  }
  // Token 0 is <|endoftext|>, where llama.cpp stops generating.
  ExpectSameDecisiveGreedyAsLlamaCpp(**converted, gguf, Prompts(), 24, 0.05f, 0, 24, node,
                                     dir.path().string());
}

INSTANTIATE_TEST_SUITE_P(Models, ShippedModelTest, ::testing::Values("mamba", "rwkv7"));

}  // namespace
}  // namespace llive::backends::native
