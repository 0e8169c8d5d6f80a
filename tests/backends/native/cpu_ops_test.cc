// CPU ops against plain loops in double precision.
#include "backends/native/cpu_ops.h"

#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace llive::backends::native::cpu {
namespace {

std::vector<float> RandomVector(size_t n, std::mt19937& random) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> values(n);
  for (float& v : values) v = normal(random);
  return values;
}

TEST(CpuOpsTest, LinearMatchesAPlainLoopForOneAndSeveralRowsWithStrideAndBias) {
  std::mt19937 random(1);
  const int64_t in = 37, out = 19, stride = 45;
  for (int64_t rows : {1, 5}) {
    const auto x = RandomVector(rows * stride, random);
    const auto weight = RandomVector(out * in, random);
    const auto bias = RandomVector(out, random);
    std::vector<float> y(rows * out);
    Linear(x.data(), rows, in, stride, weight.data(), out, bias.data(), y.data());
    double worst = 0;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t o = 0; o < out; ++o) {
        double expected = bias[o];
        for (int64_t i = 0; i < in; ++i) expected += double(x[r * stride + i]) * weight[o * in + i];
        worst = std::max(worst, std::abs(expected - y[r * out + o]));
      }
    }
    EXPECT_LT(worst, 1e-4) << "rows " << rows;
  }
}

TEST(CpuOpsTest, RmsNormScalesToUnitRootMeanSquare) {
  const std::vector<float> x = {3.0f, 4.0f};
  const std::vector<float> weight = {1.0f, 2.0f};
  std::vector<float> y(2);
  RmsNorm(x.data(), weight.data(), 2, 0.0f, y.data());
  const float rms = std::sqrt(12.5f);
  EXPECT_NEAR(y[0], 3.0f / rms, 1e-6);
  EXPECT_NEAR(y[1], 8.0f / rms, 1e-6);
}

TEST(CpuOpsTest, SoftplusAndSiluFollowTheirDefinitions) {
  EXPECT_NEAR(Softplus(0.0f), std::log(2.0f), 1e-7);
  EXPECT_FLOAT_EQ(Softplus(30.0f), 30.0f);
  EXPECT_NEAR(Softplus(-30.0f), std::exp(-30.0), 1e-15);
  EXPECT_NEAR(Silu(1.0f), 1.0f / (1.0f + std::exp(-1.0f)), 1e-7);
}

TEST(CpuOpsTest, VectorExpIsAccurateOverTheFloatRange) {
  std::vector<float> x;
  for (float v = -100.0f; v <= 88.0f; v += 0.0137f) x.push_back(v);
  std::vector<float> y = x;
  ExpInPlace(y.data(), static_cast<int64_t>(y.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double expected = x[i] < -87.0f ? 0.0 : std::exp(double(x[i]));
    if (expected == 0.0) {
      EXPECT_EQ(y[i], 0.0f) << x[i];
    } else {
      worst = std::max(worst, std::abs(y[i] - expected) / expected);
    }
  }
  EXPECT_LT(worst, 3e-7);
}

}  // namespace
}  // namespace llive::backends::native::cpu
