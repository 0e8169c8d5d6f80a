// GemmContext against a double-precision product on the host, where a GPU is present.
#include "backends/native/cuda/cublas_gemm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "backends/native/cuda/cuda_runtime_check.h"

namespace llive::backends::cuda {
namespace {

// y = x W^T + residual, checked per weight type; ldx > in and beta = 1 exercise the strides
// and the residual add that the models use. 37 rows go to cuBLAS, 3 to the skinny kernel.
class CublasGemmTest : public ::testing::TestWithParam<int64_t> {};

TEST_P(CublasGemmTest, LinearMatchesHostForEachWeightType) {
  absl::StatusOr<std::vector<GpuInfo>> gpus = ListGpus();
  if (!gpus.ok()) GTEST_SKIP() << "no GPU to test on: " << gpus.status().message();
  const int64_t rows = GetParam(), in = 200, ldx = 208, out = 75;
  std::mt19937 rng(3);
  std::normal_distribution<float> normal(0, 1);
  std::vector<float> x(rows * ldx), w(out * in), residual(rows * out);
  for (float& v : x) v = normal(rng);
  for (float& v : w) v = normal(rng);
  for (float& v : residual) v = normal(rng);
  for (WeightDtype dtype : {WeightDtype::kFp32, WeightDtype::kBf16, WeightDtype::kFp16}) {
    absl::StatusOr<std::unique_ptr<GemmContext>> gemm = GemmContext::Create(nullptr);
    ASSERT_TRUE(gemm.ok()) << gemm.status();
    absl::StatusOr<DeviceTensor> dw = DeviceTensor::Upload(w.data(), w.size(), dtype);
    absl::StatusOr<DeviceTensor> dx = DeviceTensor::Upload(x.data(), x.size(), dtype);
    absl::StatusOr<DeviceBuffer<float>> dy =
        DeviceBuffer<float>::FromHost(residual.data(), residual.size());
    ASSERT_TRUE(dw.ok() && dx.ok() && dy.ok());
    // The reference uses the rounded operands, so only accumulation error remains.
    absl::StatusOr<std::vector<float>> wr = dw->Download(), xr = dx->Download();
    ASSERT_TRUE(wr.ok() && xr.ok());
    ASSERT_TRUE((*gemm)
                    ->Linear(dx->data(), rows, in, ldx, *dw, out, dy->data(), WeightDtype::kFp32,
                             out, 1.0f, 1.0f)
                    .ok());
    std::vector<float> y(rows * out);
    ASSERT_TRUE(dy->CopyToHost(y.data(), y.size()).ok());
    double max_error = 0, max_value = 0;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t o = 0; o < out; ++o) {
        double sum = residual[r * out + o];
        for (int64_t i = 0; i < in; ++i) sum += double{(*xr)[r * ldx + i]} * (*wr)[o * in + i];
        max_error = std::max(max_error, std::fabs(sum - y[r * out + o]));
        max_value = std::max(max_value, std::fabs(sum));
      }
    }
    EXPECT_LE(max_error / max_value, 1e-5) << WeightDtypeName(dtype);
  }
}

INSTANTIATE_TEST_SUITE_P(Rows, CublasGemmTest, ::testing::Values(37, 3));

TEST(CublasGemmErrorsTest, RejectsInconsistentSizes) {
  absl::StatusOr<std::vector<GpuInfo>> gpus = ListGpus();
  if (!gpus.ok()) GTEST_SKIP() << "no GPU to test on: " << gpus.status().message();
  absl::StatusOr<std::unique_ptr<GemmContext>> gemm = GemmContext::Create(nullptr);
  ASSERT_TRUE(gemm.ok()) << gemm.status();
  std::vector<float> w(12, 1.0f);
  absl::StatusOr<DeviceTensor> dw = DeviceTensor::Upload(w.data(), w.size(), WeightDtype::kBf16);
  ASSERT_TRUE(dw.ok());
  EXPECT_EQ((*gemm)->Linear(nullptr, 1, 5, 5, *dw, 3, nullptr, WeightDtype::kFp32, 3).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*gemm)->Linear(nullptr, 1, 4, 4, *dw, 3, nullptr, WeightDtype::kFp16, 3).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llive::backends::cuda
