// The check both native models share with llama.cpp (tests/peers/llama_greedy.mjs): greedy
// continuations of the same prompts from the same GGUF file must be identical token for token.
#pragma once

#include <algorithm>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "backends/stateful_backend.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"

namespace llive::backends::native {

// Runs `steps` greedy tokens after each of `texts` in `backend` (loaded from `gguf`), checks
// that every step's top-2 logit margin exceeds `min_margin` (so a difference is real, not a
// near-tie), asks llama.cpp through `node` for the same, and expects identical tokenization and
// continuations. `work_dir` receives the request file.
inline void ExpectSameGreedyAsLlamaCpp(StatefulBackend& backend, const std::string& gguf,
                                       const std::vector<std::string>& texts, int steps,
                                       float min_margin, const std::string& node,
                                       const std::string& work_dir) {
  nlohmann::json request = {{"model", gguf}, {"steps", steps}, {"threads", 1}};
  std::vector<std::vector<int32_t>> expected;
  float smallest_margin = 1e30f;
  for (const std::string& text : texts) {
    auto prompt = backend.Tokenize(text);
    ASSERT_TRUE(prompt.ok()) << prompt.status();
    request["prompts"].push_back(*prompt);
    request["texts"].push_back(text);
    auto state = *backend.NewState();
    std::vector<float> logits = *backend.Feed(*state, *prompt);
    std::vector<int32_t> continuation;
    for (int step = 0; step < steps; ++step) {
      std::vector<float> sorted = logits;
      std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
      smallest_margin = std::min(smallest_margin, sorted[0] - sorted[1]);
      const int32_t next =
          static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      continuation.push_back(next);
      logits = *backend.Feed(*state, {next});
    }
    expected.push_back(continuation);
  }
  EXPECT_GT(smallest_margin, min_margin) << "scale the test weights for clearer greedy choices";
  ::testing::Test::RecordProperty("smallest_top2_margin", std::to_string(smallest_margin));

  const std::string request_path = work_dir + "/request.json";
  std::ofstream(request_path) << request.dump();
  testing::ProcessResult run =
      testing::RunProcess({node, LLIVE_SOURCE_DIR "/tests/peers/llama_greedy.mjs", request_path});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json answer = nlohmann::json::parse(run.out, nullptr, false);
  ASSERT_FALSE(answer.is_discarded()) << run.out;
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(answer["tokenized"][i].get<std::vector<int32_t>>(),
              request["prompts"][i].get<std::vector<int32_t>>())
        << "tokenization of prompt " << i;
    const std::vector<int32_t> theirs = answer["continuations"][i].get<std::vector<int32_t>>();
    ASSERT_EQ(theirs.size(), expected[i].size()) << "prompt " << i;
    const auto [mine, other] =
        std::mismatch(expected[i].begin(), expected[i].end(), theirs.begin());
    EXPECT_TRUE(mine == expected[i].end())
        << "prompt " << i << ": greedy continuations differ first at step "
        << (mine - expected[i].begin()) << " (llive " << *mine << ", llama.cpp " << *other << ")";
  }
}

}  // namespace llive::backends::native
