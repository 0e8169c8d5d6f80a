// Runs llive's first CUDA kernel against the CPU, where a GPU is present.
#include "backends/native/cuda/cuda_runtime_check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace llive::backends::cuda {
namespace {

TEST(CudaRuntimeCheckTest, AxpyMatchesCpu) {
  absl::StatusOr<std::vector<GpuInfo>> gpus = ListGpus();
  if (!gpus.ok()) {
    GTEST_SKIP() << "no GPU to test on: " << gpus.status().message();
  }
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1, 1);
  const size_t n = 100003;  // not a multiple of the block size
  std::vector<float> x(n), y(n);
  for (size_t i = 0; i < n; ++i) {
    x[i] = dist(rng);
    y[i] = dist(rng);
  }
  absl::StatusOr<std::vector<float>> result = AxpyOnGpu(0, 1.5f, x, y);
  ASSERT_TRUE(result.ok()) << result.status();
  double max_error = 0;
  for (size_t i = 0; i < n; ++i) {
    max_error =
        std::max(max_error, static_cast<double>(std::fabs((*result)[i] - (1.5f * x[i] + y[i]))));
  }
  std::printf("axpy on %s: max abs error %.3g over %zu elements\n", (*gpus)[0].name.c_str(),
              max_error, n);
  EXPECT_LE(max_error, 1e-6);
}

TEST(CudaRuntimeCheckTest, ErrorsAreClear) {
  absl::StatusOr<std::vector<float>> mismatched = AxpyOnGpu(0, 1, {1, 2}, {1});
  EXPECT_FALSE(mismatched.ok());
  if (!BuiltWithCuda()) {
    EXPECT_EQ(mismatched.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(mismatched.status().message().find("without CUDA"), std::string::npos);
  }
  if (ListGpus().ok()) {
    EXPECT_EQ(AxpyOnGpu(999, 1, {1}, {1}).status().code(), absl::StatusCode::kInvalidArgument);
  }
}

}  // namespace
}  // namespace llive::backends::cuda
