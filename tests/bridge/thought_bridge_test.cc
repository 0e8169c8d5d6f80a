// Tests of readout and write-back on synthetic states: targets reached, other factors held,
// minimal norm against a direct solve, strength scaling, errors.
#include "bridge/thought_bridge.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "tests/bridge/synthetic_state.h"

namespace llive::bridge {
namespace {

double Logit(double p) { return std::log(p / (1 - p)); }

// Bridge parameters over every ssm value of a 3-layer synthetic state (3 * 24 * 8 = 576
// features), with random probes of the size a ridge fit produces.
ThoughtBridge MakeBridge(testing::SyntheticState& state, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(0.5, 2.0);
  BridgeParams params;
  params.architecture = "synthetic";
  params.layout = *ResolveFeatureLayout(params.spec, state.View());
  const int64_t d = params.layout.size();
  for (int64_t j = 0; j < d; ++j) {
    params.standardizer.mean.push_back(0.1 * normal(random));
    params.standardizer.scale.push_back(uniform(random));
  }
  for (int f = 0; f < kFactorCount; ++f) {
    FactorProbe probe;
    for (int64_t j = 0; j < d; ++j) probe.weights.push_back(0.05 * normal(random));
    probe.bias = 0.5 * normal(random);
    params.probes.push_back(probe);
  }
  return *ThoughtBridge::Create(params);
}

class ThoughtBridgeTest : public ::testing::Test {
 protected:
  testing::SyntheticState state_{3, 24, 8, 11};
  ThoughtBridge bridge_ = MakeBridge(state_, 12);
};

TEST_F(ThoughtBridgeTest, ReadIsTheSigmoidOfTheLogits) {
  FactorLogits logits = *bridge_.ReadLogits(state_.View());
  ThoughtVector vector = *bridge_.Read(state_.View());
  for (int f = 0; f < kFactorCount; ++f) {
    EXPECT_NEAR(vector[f], 1.0 / (1.0 + std::exp(-logits[f])), 1e-6);
    EXPECT_GE(vector[f], 0.0f);
    EXPECT_LE(vector[f], 1.0f);
  }
}

TEST_F(ThoughtBridgeTest, WriteReachesTargetsAndHoldsTheOthers) {
  const FactorLogits before = *bridge_.ReadLogits(state_.View());
  WriteRequest request;
  request.factors = {0, 3, 7};
  request.target[0] = 0.9f;
  request.target[3] = 0.2f;
  request.target[7] = 0.6f;
  absl::StatusOr<WriteResult> result = bridge_.Write(state_.View(), request);
  ASSERT_TRUE(result.ok()) << result.status();
  // Read back from the float state tensors, not from the planned values.
  const FactorLogits after = *bridge_.ReadLogits(state_.View());
  for (int f = 0; f < kFactorCount; ++f) {
    const bool chosen = f == 0 || f == 3 || f == 7;
    if (chosen) {
      EXPECT_NEAR(after[f], Logit(request.target[f]), 1e-4) << Factors()[f].id;
    } else {
      EXPECT_NEAR(after[f], before[f], 1e-4) << Factors()[f].id;
    }
    EXPECT_NEAR(result->before[f], before[f], 1e-9);
  }
  EXPECT_GT(result->standardized_change_norm, 0.0);
}

TEST_F(ThoughtBridgeTest, WriteAllTen) {
  WriteRequest request;
  for (int f = 0; f < kFactorCount; ++f) request.target[f] = 0.05f + 0.09f * f;
  ASSERT_TRUE(bridge_.Write(state_.View(), request).ok());
  const ThoughtVector after = *bridge_.Read(state_.View());
  const FactorLogits logits = *bridge_.ReadLogits(state_.View());
  for (int f = 0; f < kFactorCount; ++f) {
    EXPECT_NEAR(logits[f], Logit(request.target[f]), 1e-4) << Factors()[f].id;
    EXPECT_NEAR(after[f], request.target[f], 1e-4);
  }
}

TEST_F(ThoughtBridgeTest, ChangeIsTheMinimalNormSolution) {
  const std::vector<double> z = *bridge_.Standardized(state_.View());
  WriteRequest request;
  request.factors = {1, 5};
  request.target[1] = 0.85f;
  request.target[5] = 0.1f;
  const std::vector<double> change = *bridge_.PlanChange(z, request);
  const size_t d = z.size();

  // Direct solve: Gram-Schmidt QR of Wᵀ = Q R, then the minimal-norm solution of W x = r is
  // x = Q R⁻ᵀ r.
  const FactorLogits current = bridge_.LogitsOf(z);
  std::vector<double> r(kFactorCount, 0.0);
  r[1] = Logit(double{0.85f}) - current[1];
  r[5] = Logit(double{0.1f}) - current[5];
  std::vector<std::vector<double>> q;
  std::vector<std::vector<double>> upper(kFactorCount, std::vector<double>(kFactorCount, 0.0));
  for (int f = 0; f < kFactorCount; ++f) {
    std::vector<double> v = bridge_.params().probes[f].weights;
    for (int k = 0; k < f; ++k) {
      double dot = 0;
      for (size_t j = 0; j < d; ++j) dot += q[k][j] * v[j];
      upper[k][f] = dot;
      for (size_t j = 0; j < d; ++j) v[j] -= dot * q[k][j];
    }
    double norm = 0;
    for (double value : v) norm += value * value;
    norm = std::sqrt(norm);
    upper[f][f] = norm;
    for (double& value : v) value /= norm;
    q.push_back(v);
  }
  std::vector<double> y(kFactorCount, 0.0);  // Rᵀ y = r (forward substitution)
  for (int f = 0; f < kFactorCount; ++f) {
    double sum = r[f];
    for (int k = 0; k < f; ++k) sum -= upper[k][f] * y[k];
    y[f] = sum / upper[f][f];
  }
  double direct_norm = 0, change_norm = 0, difference = 0;
  for (size_t j = 0; j < d; ++j) {
    double direct = 0;
    for (int f = 0; f < kFactorCount; ++f) direct += q[f][j] * y[f];
    direct_norm += direct * direct;
    change_norm += change[j] * change[j];
    difference += (direct - change[j]) * (direct - change[j]);
  }
  EXPECT_LT(std::sqrt(difference), 1e-6 * std::sqrt(direct_norm));
  {
    std::vector<double> reached = z;
    for (size_t j = 0; j < d; ++j) reached[j] += change[j];
    EXPECT_NEAR(bridge_.LogitsOf(reached)[1], Logit(double{0.85f}), 1e-8);
  }
  EXPECT_NEAR(std::sqrt(change_norm), std::sqrt(direct_norm), 1e-6 * std::sqrt(direct_norm));

  // Any other solution (the minimal one plus a null-space vector of W) is longer.
  std::vector<double> other = change;
  std::mt19937_64 random(5);
  std::normal_distribution<double> normal(0.0, 1.0);
  std::vector<double> n(d);
  for (double& value : n) value = normal(random);
  for (int f = 0; f < kFactorCount; ++f) {  // project out the row space
    double dot = 0;
    for (size_t j = 0; j < d; ++j) dot += q[f][j] * n[j];
    for (size_t j = 0; j < d; ++j) n[j] -= dot * q[f][j];
  }
  double other_norm = 0;
  for (size_t j = 0; j < d; ++j) {
    other[j] += 0.1 * n[j];
    other_norm += other[j] * other[j];
  }
  std::vector<double> moved = z;
  for (size_t j = 0; j < d; ++j) moved[j] += other[j];
  EXPECT_NEAR(bridge_.LogitsOf(moved)[1], Logit(double{0.85f}), 1e-8);  // still a solution
  EXPECT_GT(other_norm, change_norm);
}

TEST_F(ThoughtBridgeTest, StrengthZeroChangesNothingAndHalfMovesHalfway) {
  const auto before = state_.storage;
  WriteRequest request;
  request.target.fill(0.9f);
  request.strength = 0.0;
  ASSERT_TRUE(bridge_.Write(state_.View(), request).ok());
  EXPECT_EQ(state_.storage, before);  // bit for bit

  const FactorLogits start = *bridge_.ReadLogits(state_.View());
  request.strength = 0.5;
  ASSERT_TRUE(bridge_.Write(state_.View(), request).ok());
  const FactorLogits half = *bridge_.ReadLogits(state_.View());
  for (int f = 0; f < kFactorCount; ++f) {
    EXPECT_NEAR(half[f] - start[f], 0.5 * (Logit(0.9) - start[f]), 1e-4) << Factors()[f].id;
  }
}

TEST_F(ThoughtBridgeTest, BadRequestsAreRefusedAndLeaveTheStateAlone) {
  const auto before = state_.storage;
  WriteRequest request;
  request.target.fill(0.5f);
  request.strength = 1.5;
  EXPECT_EQ(bridge_.Write(state_.View(), request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.strength = 1.0;
  request.target[2] = -0.1f;
  EXPECT_EQ(bridge_.Write(state_.View(), request).status().code(),
            absl::StatusCode::kInvalidArgument);
  request.target[2] = 0.5f;
  request.factors = {12};
  EXPECT_EQ(bridge_.Write(state_.View(), request).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(state_.storage, before);

  testing::SyntheticState other_model(2, 24, 8, 1);
  EXPECT_EQ(bridge_.Read(other_model.View()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace llive::bridge
