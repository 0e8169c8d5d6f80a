// The check both native models share with llama.cpp (tests/peers/llama_greedy.mjs): greedy
// continuations of the same prompts from the same GGUF file must be identical token for token.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "backends/stateful_backend.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/testing/subprocess.h"

namespace llive::backends::native {

// The executable `program` found on $PATH, or empty.
inline std::string FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path != nullptr ? path : "", ':')) {
    const std::filesystem::path candidate = std::filesystem::path(std::string(dir)) / program;
    if (!dir.empty() && ::access(candidate.c_str(), X_OK) == 0) return candidate.string();
  }
  return "";
}

// llive's greedy continuation of one prompt, with the top-2 logit margin of every step.
struct GreedyRun {
  std::vector<int32_t> prompt;
  std::vector<int32_t> tokens;
  std::vector<float> margins;
};

inline GreedyRun LliveGreedy(StatefulBackend& backend, const std::string& text, int steps) {
  GreedyRun run;
  auto prompt = backend.Tokenize(text);
  EXPECT_TRUE(prompt.ok()) << prompt.status();
  if (!prompt.ok()) return run;
  run.prompt = *prompt;
  auto state = *backend.NewState();
  std::vector<float> logits = *backend.Feed(*state, run.prompt);
  for (int step = 0; step < steps; ++step) {
    std::vector<float> sorted = logits;
    std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
    run.margins.push_back(sorted[0] - sorted[1]);
    const int32_t next =
        static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    run.tokens.push_back(next);
    logits = *backend.Feed(*state, {next});
  }
  return run;
}

// Asks llama.cpp (through `node`) for `steps` greedy tokens after each prompt of `runs` and
// for its tokenization of `texts`; expects the tokenizations to equal llive's. Returns the
// continuations (empty on failure, which is recorded).
inline std::vector<std::vector<int32_t>> LlamaCppGreedy(const std::string& node,
                                                        const std::string& gguf,
                                                        const std::vector<std::string>& texts,
                                                        const std::vector<GreedyRun>& runs,
                                                        int steps, const std::string& work_dir) {
  nlohmann::json request = {{"model", gguf}, {"steps", steps}, {"threads", 1}};
  for (size_t i = 0; i < texts.size(); ++i) {
    request["prompts"].push_back(runs[i].prompt);
    request["texts"].push_back(texts[i]);
  }
  const std::string request_path = work_dir + "/request.json";
  std::ofstream(request_path) << request.dump();
  testing::ProcessResult run =
      testing::RunProcess({node, LLIVE_SOURCE_DIR "/tests/peers/llama_greedy.mjs", request_path});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  nlohmann::json answer = nlohmann::json::parse(run.out, nullptr, false);
  EXPECT_FALSE(answer.is_discarded()) << run.out;
  if (run.exit_code != 0 || answer.is_discarded()) return {};
  std::vector<std::vector<int32_t>> continuations;
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(answer["tokenized"][i].get<std::vector<int32_t>>(), runs[i].prompt)
        << "tokenization of prompt " << i;
    continuations.push_back(answer["continuations"][i].get<std::vector<int32_t>>());
  }
  return continuations;
}

// Runs `steps` greedy tokens after each of `texts` in `backend` (loaded from `gguf`), checks
// that every step's top-2 logit margin exceeds `min_margin` (so a difference is real, not a
// near-tie), asks llama.cpp for the same, and expects identical tokenization and
// continuations. `work_dir` receives the request file.
inline void ExpectSameGreedyAsLlamaCpp(StatefulBackend& backend, const std::string& gguf,
                                       const std::vector<std::string>& texts, int steps,
                                       float min_margin, const std::string& node,
                                       const std::string& work_dir) {
  std::vector<GreedyRun> runs;
  float smallest_margin = 1e30f;
  for (const std::string& text : texts) {
    runs.push_back(LliveGreedy(backend, text, steps));
    for (float margin : runs.back().margins) smallest_margin = std::min(smallest_margin, margin);
  }
  EXPECT_GT(smallest_margin, min_margin) << "scale the test weights for clearer greedy choices";
  ::testing::Test::RecordProperty("smallest_top2_margin", std::to_string(smallest_margin));
  const std::vector<std::vector<int32_t>> theirs =
      LlamaCppGreedy(node, gguf, texts, runs, steps, work_dir);
  ASSERT_EQ(theirs.size(), texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    ASSERT_EQ(theirs[i].size(), runs[i].tokens.size()) << "prompt " << i;
    const auto [mine, other] =
        std::mismatch(runs[i].tokens.begin(), runs[i].tokens.end(), theirs[i].begin());
    EXPECT_TRUE(mine == runs[i].tokens.end())
        << "prompt " << i << ": greedy continuations differ first at step "
        << (mine - runs[i].tokens.begin()) << " (llive " << *mine << ", llama.cpp " << *other
        << ")";
  }
}

// For trained weights, where a near-tie or the end-of-text token can come anywhere: compares
// each continuation up to its first step whose margin is below `min_margin` or that produces
// `end_token` (where llama.cpp stops), and expects at least `min_compared` tokens compared in
// all. Returns nothing; records the count compared.
inline void ExpectSameDecisiveGreedyAsLlamaCpp(StatefulBackend& backend, const std::string& gguf,
                                               const std::vector<std::string>& texts, int steps,
                                               float min_margin, int32_t end_token,
                                               int min_compared, const std::string& node,
                                               const std::string& work_dir) {
  std::vector<GreedyRun> runs;
  for (const std::string& text : texts) runs.push_back(LliveGreedy(backend, text, steps));
  const std::vector<std::vector<int32_t>> theirs =
      LlamaCppGreedy(node, gguf, texts, runs, steps, work_dir);
  ASSERT_EQ(theirs.size(), texts.size());
  int compared = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    size_t decisive = 0;
    while (decisive < runs[i].tokens.size() && runs[i].margins[decisive] >= min_margin &&
           runs[i].tokens[decisive] != end_token) {
      ++decisive;
    }
    ASSERT_GE(theirs[i].size(), decisive) << "prompt " << i << ": llama.cpp stopped early";
    for (size_t t = 0; t < decisive; ++t) {
      ASSERT_EQ(runs[i].tokens[t], theirs[i][t])
          << "prompt " << i << ": greedy continuations differ at step " << t;
    }
    compared += static_cast<int>(decisive);
  }
  ::testing::Test::RecordProperty("tokens_compared", std::to_string(compared));
  EXPECT_GE(compared, min_compared) << "too few decisive steps to compare";
}

}  // namespace llive::backends::native
