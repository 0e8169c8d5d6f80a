// Sampling: greedy, temperature, top-k, top-p, repetition penalty and seeds.
#include "backends/native/sampling.h"

#include <map>

#include "gtest/gtest.h"

namespace llive::backends::native {
namespace {

TEST(SamplingTest, GreedyPicksTheLargestLogitAndTheLowestIdOnTies) {
  Sampler sampler(SamplingOptions{});
  EXPECT_EQ(sampler.Sample(std::vector<float>{0.1f, 2.0f, -1.0f}, {}), 1);
  EXPECT_EQ(sampler.Sample(std::vector<float>{3.0f, 1.0f, 3.0f}, {}), 0);
}

TEST(SamplingTest, RepetitionPenaltyDividesPositiveAndMultipliesNegativeLogits) {
  SamplingOptions options;
  options.repetition_penalty = 2.0f;
  Sampler sampler(options);
  // Token 0 (3.0) halves to 1.5 and loses to token 1 (2.0).
  EXPECT_EQ(sampler.Sample(std::vector<float>{3.0f, 2.0f}, std::vector<int32_t>{0, 0}), 1);
  // Token 1 (-0.5) doubles to -1.0 and loses to token 0 (-0.8).
  EXPECT_EQ(sampler.Sample(std::vector<float>{-0.8f, -0.5f}, std::vector<int32_t>{1}), 0);
}

TEST(SamplingTest, TopKOneIsGreedyWhateverTheTemperature) {
  SamplingOptions options;
  options.temperature = 5.0f;
  options.top_k = 1;
  Sampler sampler(options);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(sampler.Sample(std::vector<float>{0.0f, 0.3f, 0.2f}, {}), 1);
  }
}

TEST(SamplingTest, TopPKeepsOnlyTheNucleus) {
  SamplingOptions options;
  options.temperature = 1.0f;
  options.top_p = 0.5f;
  Sampler sampler(options);
  // Probabilities about 0.67, 0.24, 0.09: the nucleus for 0.5 is token 0 alone.
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(sampler.Sample(std::vector<float>{2.0f, 1.0f, 0.0f}, {}), 0);
  }
}

TEST(SamplingTest, TemperatureSamplesFollowTheSoftmax) {
  SamplingOptions options;
  options.temperature = 1.0f;
  options.seed = 7;
  Sampler sampler(options);
  std::map<int32_t, int> counts;
  const std::vector<float> logits = {0.0f, std::log(3.0f)};  // probabilities 1/4, 3/4
  for (int i = 0; i < 4000; ++i) ++counts[sampler.Sample(logits, {})];
  EXPECT_NEAR(counts[1] / 4000.0, 0.75, 0.03);
}

TEST(SamplingTest, TheSameSeedGivesTheSameTokens) {
  SamplingOptions options;
  options.temperature = 1.0f;
  options.seed = 42;
  Sampler first(options), second(options);
  options.seed = 43;
  Sampler other(options);
  std::vector<float> logits(100);
  for (size_t i = 0; i < logits.size(); ++i) logits[i] = static_cast<float>(i % 7) * 0.1f;
  std::vector<int32_t> a, b, c;
  for (int i = 0; i < 30; ++i) {
    a.push_back(first.Sample(logits, {}));
    b.push_back(second.Sample(logits, {}));
    c.push_back(other.Sample(logits, {}));
  }
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
}

TEST(SamplingTest, InvalidOptionsAreRejectedNamingTheField) {
  SamplingOptions options;
  options.temperature = -1.0f;
  EXPECT_NE(ValidateSamplingOptions(options).message().find("temperature"), std::string::npos);
  options = {};
  options.top_p = 0.0f;
  EXPECT_NE(ValidateSamplingOptions(options).message().find("top_p"), std::string::npos);
  options = {};
  options.top_k = -2;
  EXPECT_NE(ValidateSamplingOptions(options).message().find("top_k"), std::string::npos);
  options = {};
  options.repetition_penalty = 0.0f;
  EXPECT_EQ(ValidateSamplingOptions(options).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(ValidateSamplingOptions(SamplingOptions{}).ok());
}

}  // namespace
}  // namespace llive::backends::native
