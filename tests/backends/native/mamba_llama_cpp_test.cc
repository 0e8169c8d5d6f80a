// Interoperability with llama.cpp (npm node-llama-cpp 3.21.1, tests/peers): the F32 mamba GGUF
// llive writes loads there, tokenizes five prompts the same way, and continues each greedily
// with the same 64 tokens as llive.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "backends/native/mamba_backend.h"
#include "backends/native/mamba_gguf_export.h"
#include "backends/native/mamba_random.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/backends/native/llama_cpp_greedy.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive::backends::native {
namespace {

constexpr int kSteps = 64;
// Greedy choices must be clear: a top-2 gap below this could let float rounding differences
// between two correct implementations pick different tokens.
constexpr float kMinMargin = 1e-2f;

TEST(MambaLlamaCppTest, GreedyContinuationsMatchLlamaCpp) {
  const std::string peers = LLIVE_SOURCE_DIR "/tests/peers";
  const std::string node = FindOnPath("node");
  if (node.empty() || !std::filesystem::exists(peers + "/node_modules/node-llama-cpp")) {
    GTEST_SKIP() << "needs Node.js and tests/peers/node_modules (run scripts/setup)";
  }
  // A small model with the real GPT-NeoX vocabulary (llama.cpp needs one to load the file);
  // d_inner = 2 d_model as llama.cpp's mamba requires.
  MambaConfig config;
  config.d_model = 64;
  config.n_layer = 2;
  config.d_state = 16;
  config.d_inner = 128;
  config.d_conv = 4;
  config.dt_rank = 4;
  config.vocab_size = 50280;
  RandomMambaOptions options;
  options.seed = 5;
  options.logit_scale = 6.0f;
  auto model = MambaModel::FromWeights(config, RandomMambaWeights(config, options));
  ASSERT_TRUE(model.ok()) << model.status();
  testing::TempDir dir;
  const std::string gguf = dir.File("mamba-small-f32.gguf");
  ASSERT_TRUE(WriteMambaGguf(**model,
                             LLIVE_SOURCE_DIR
                             "/tests/fixtures/tokenizers/gpt-neox-20b-tokenizer.json",
                             gguf, DType::kF32, "mamba-small")
                  .ok());
  // llive runs the very file llama.cpp gets.
  auto backend = MambaBackend::Open(gguf);
  ASSERT_TRUE(backend.ok()) << backend.status();

  const std::vector<std::string> texts = {"The quick brown fox", "Hello, World!\n",
                                          "def main():\n    return 0", "Mamba 130m in 2026",
                                          "State space models"};
  ExpectSameGreedyAsLlamaCpp(**backend, gguf, texts, kSteps, kMinMargin, node, dir.path().string());
}

}  // namespace
}  // namespace llive::backends::native
