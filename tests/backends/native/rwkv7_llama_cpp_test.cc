// Interoperability with llama.cpp (npm node-llama-cpp 3.21.1, tests/peers): the F32 rwkv7 GGUF
// llive writes loads there and continues five prompts greedily with the same 64 tokens as llive.
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "backends/native/rwkv7_backend.h"
#include "backends/native/rwkv7_gguf_export.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/backends/native/llama_cpp_greedy.h"
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive::backends::native {
namespace {

constexpr int kSteps = 64;
// The logits are scaled up so that greedy choices are clear: a top-2 gap below this would
// let float rounding differences between the two implementations pick different tokens.
constexpr float kMinMargin = 1e-2f;
constexpr float kHeadScale = 8.0f;

TEST(Rwkv7LlamaCppTest, GreedyContinuationsMatchLlamaCpp) {
  const std::string peers = LLIVE_SOURCE_DIR "/tests/peers";
  const std::string node = FindOnPath("node");
  if (node.empty() || !std::filesystem::exists(peers + "/node_modules/node-llama-cpp")) {
    GTEST_SKIP() << "needs Node.js and tests/peers/node_modules (run scripts/setup)";
  }
  auto source = Rwkv7Backend::Open(LLIVE_SOURCE_DIR "/tests/fixtures/rwkv7/small");
  ASSERT_TRUE(source.ok()) << source.status();
  ASSERT_NE((*source)->tokenizer(), nullptr);
  Rwkv7Weights weights = (*source)->weights();
  for (float& w : weights.head) w *= kHeadScale;
  // Token 0 ends llama.cpp's generation (it is the vocabulary's end-of-sequence token); a zero
  // row keeps its logit at 0, far below the best of the others, so all 64 steps are compared.
  std::fill_n(weights.head.begin(), weights.config.d_model, 0.0f);
  testing::TempDir dir;
  const std::string gguf = dir.File("rwkv7-small-f32.gguf");
  ASSERT_TRUE(
      WriteRwkv7Gguf(weights, (*source)->tokenizer(), gguf, DType::kF32, "rwkv7-small").ok());
  // llive runs the very file llama.cpp gets.
  auto backend = Rwkv7Backend::Open(gguf);
  ASSERT_TRUE(backend.ok()) << backend.status();

  const std::vector<std::string> texts = {"The quick brown fox", "Hello, World!\n",
                                          "\tTabs and  spaces", "RWKV-7 Goose 2025",
                                          "\xe6\x97\xa5\xe6\x9c\xac"};
  ExpectSameGreedyAsLlamaCpp(**backend, gguf, texts, kSteps, kMinMargin, node, dir.path().string());
}

}  // namespace
}  // namespace llive::backends::native
