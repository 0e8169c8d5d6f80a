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
#include "tests/testing/subprocess.h"
#include "tests/testing/temp_dir.h"

namespace llive::backends::native {
namespace {

constexpr int kSteps = 64;
// The logits are scaled up so that greedy choices are clear: a top-2 gap below this would
// let float rounding differences between the two implementations pick different tokens.
constexpr float kMinMargin = 1e-2f;
constexpr float kHeadScale = 8.0f;

std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "", ':')) {
    const std::filesystem::path candidate = std::filesystem::path(std::string(dir)) / program;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

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
  nlohmann::json request = {{"model", gguf}, {"steps", kSteps}, {"threads", 1}};
  std::vector<std::vector<int32_t>> expected;
  float smallest_margin = 1e30f;
  for (const std::string& text : texts) {
    auto prompt = (*backend)->Tokenize(text);
    ASSERT_TRUE(prompt.ok()) << prompt.status();
    request["prompts"].push_back(*prompt);
    request["texts"].push_back(text);
    auto state = *(*backend)->NewState();
    std::vector<float> logits = *(*backend)->Feed(*state, *prompt);
    std::vector<int32_t> continuation;
    for (int step = 0; step < kSteps; ++step) {
      std::vector<float> sorted = logits;
      std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
      smallest_margin = std::min(smallest_margin, sorted[0] - sorted[1]);
      const int32_t next = static_cast<int32_t>(
          std::max_element(logits.begin(), logits.end()) - logits.begin());
      continuation.push_back(next);
      logits = *(*backend)->Feed(*state, {next});
    }
    expected.push_back(continuation);
  }
  EXPECT_GT(smallest_margin, kMinMargin) << "choose another kHeadScale";

  const std::string request_path = dir.File("request.json");
  std::ofstream(request_path) << request.dump();
  testing::ProcessResult run = testing::RunProcess({node, peers + "/llama_greedy.mjs", request_path});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json answer = nlohmann::json::parse(run.out);
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(answer["tokenized"][i].get<std::vector<int32_t>>(),
              request["prompts"][i].get<std::vector<int32_t>>())
        << "tokenization of prompt " << i;
    EXPECT_EQ(answer["continuations"][i].get<std::vector<int32_t>>(), expected[i])
        << "greedy continuation of prompt " << i;
  }
}

}  // namespace
}  // namespace llive::backends::native
