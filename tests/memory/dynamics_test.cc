// Tests of the surprise gates, phase decisions and edge dynamics constants.
#include <gtest/gtest.h>

#include <cmath>

#include "memory/edge_dynamics.h"
#include "memory/phases.h"
#include "memory/surprise_gate.h"

namespace llive::memory {
namespace {

constexpr int64_t kDay = 86400000;

TEST(SurpriseWindowTest, SurpriseIsOneMinusMaxCosineOverTheWindow) {
  SurpriseWindow window(2);
  std::vector<float> x = {1, 0}, y = {0, 1}, xy = {std::sqrt(0.5f), std::sqrt(0.5f)};
  EXPECT_DOUBLE_EQ(window.Surprise(x), 1.0);
  window.Remember(x);
  EXPECT_NEAR(window.Surprise(x), 0.0, 1e-6);
  EXPECT_NEAR(window.Surprise(xy), 1 - std::sqrt(0.5), 1e-6);
  window.Remember(y);
  window.Remember(y);  // x falls out of the window of two
  EXPECT_NEAR(window.Surprise(x), 1.0, 1e-6);
}

TEST(SurpriseWindowTest, BatchSurpriseEqualsSurpriseThenRememberInTurn) {
  // 150 vectors (over the two-thread threshold) of 16 dimensions, normalised, some repeated.
  std::vector<std::vector<float>> batch;
  for (int i = 0; i < 150; ++i) {
    std::vector<float> v(16);
    for (int d = 0; d < 16; ++d) v[d] = static_cast<float>(std::sin(0.7 * (i % 37) + 1.3 * d));
    float norm = 0;
    for (float x : v) norm += x * x;
    for (float& x : v) x /= std::sqrt(norm);
    batch.push_back(v);
  }
  SurpriseWindow sequential(8), batched(8);
  for (int i = 0; i < 5; ++i) {  // a window already part full
    sequential.Remember(batch[100 + i]);
    batched.Remember(batch[100 + i]);
  }
  const SurpriseWindow before = batched;
  const std::vector<double> surprises = batched.BatchSurprise(batch);
  ASSERT_EQ(surprises.size(), batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    EXPECT_DOUBLE_EQ(surprises[i], sequential.Surprise(batch[i])) << "vector " << i;
    sequential.Remember(batch[i]);
  }
  // The window is unchanged until RememberBatch, which leaves what Remember in turn left.
  for (size_t i = 0; i < batch.size(); i += 7) {
    EXPECT_DOUBLE_EQ(batched.Surprise(batch[i]), before.Surprise(batch[i]));
  }
  batched.RememberBatch(batch);
  for (size_t i = 0; i < batch.size(); i += 7) {
    EXPECT_DOUBLE_EQ(batched.Surprise(batch[i]), sequential.Surprise(batch[i]));
  }
}

TEST(BayesianSurpriseGateTest, ColdStartThenMeanPlusDeviation) {
  BayesianSurpriseGate gate({.min_samples = 4, .z = 1.0, .cold_start_theta = 0.3});
  EXPECT_FALSE(gate.Observe(0.2));
  EXPECT_TRUE(gate.Observe(0.4));
  EXPECT_FALSE(gate.Observe(0.2));
  EXPECT_TRUE(gate.Observe(0.4));
  EXPECT_NEAR(gate.mean(), 0.3, 1e-12);
  EXPECT_NEAR(gate.deviation(), std::sqrt(0.04 / 3), 1e-12);
  // Now the threshold is 0.3 + 0.1155: 0.4 no longer passes, 0.5 does.
  EXPECT_FALSE(gate.Observe(0.4));
  EXPECT_TRUE(gate.Observe(0.9));
}

TEST(PhasesTest, AgeMovesThroughThePhases) {
  PhaseDays days;
  auto phase = [&](int64_t age_days, double surprise = 0,
                   PrivacyClass privacy = PrivacyClass::kPrivate) {
    return DecidePhase(days, 0, age_days * kDay, surprise, privacy);
  };
  EXPECT_EQ(phase(0), Phase::kHot);
  EXPECT_EQ(phase(7), Phase::kWarm);
  EXPECT_EQ(phase(30), Phase::kCold);
  EXPECT_EQ(phase(90), Phase::kArchived);
  EXPECT_EQ(phase(180), Phase::kErased);
  EXPECT_EQ(phase(200, kHighSurprise), Phase::kCold);                 // surprising: never archived
  EXPECT_EQ(phase(400, 0, PrivacyClass::kPublic), Phase::kArchived);  // public: never erased
}

TEST(EdgeDynamicsTest, ConstantsOfTheDesign) {
  EXPECT_DOUBLE_EQ(AfterReadHit(EdgeType::kLinkedConcept, 0.5), 0.52);
  EXPECT_DOUBLE_EQ(AfterReadHit(EdgeType::kCoOccursWith, 0.5), 0.5);
  EXPECT_DOUBLE_EQ(AfterContradiction(0.05), 0.0);
  EXPECT_DOUBLE_EQ(AfterSurprise(0.95, 1.0), 1.0);
  EXPECT_NEAR(AfterSurprise(0.5, 0.4), 0.56, 1e-12);
  EXPECT_NEAR(AfterDecay(EdgeType::kLinkedConcept, 1.0, 30 * kDay), std::exp(-1.0), 1e-12);
  EXPECT_NEAR(AfterDecay(EdgeType::kCoOccursWith, 1.0, 7 * kDay), std::exp(-1.0), 1e-12);
  EXPECT_NEAR(AfterDecay(EdgeType::kTemporalAfter, 1.0, 14 * kDay), std::exp(-1.0), 1e-12);
  EXPECT_DOUBLE_EQ(AfterDecay(EdgeType::kGeneralizes, 0.7, 300 * kDay), 0.7);
}

}  // namespace
}  // namespace llive::memory
