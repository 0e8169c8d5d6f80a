// The skinny linear launches over skinny_gemm_kernels.cuh.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "backends/native/cuda/cuda_status.h"
#include "backends/native/cuda/skinny_gemm.h"
#include "backends/native/cuda/skinny_gemm_kernels.cuh"
#include "backends/native/cuda/weight_dtype_visit.cuh"

namespace llive::backends::cuda {
namespace {

template <typename T, typename Y>
cudaError_t Launch(const void* x, int64_t rows, int64_t in, int64_t ldx, const void* weight,
                   int64_t out, void* y, int64_t ldy, float alpha, float beta,
                   cudaStream_t stream) {
  const skinny::StoreOutput<Y> output{static_cast<Y*>(y), ldy, alpha, beta};
  auto make_input = [&](auto input) {
    input.x = static_cast<const T*>(x);
    input.ldx = ldx;
    return input;
  };
  return skinny::LaunchSkinny<T, skinny::InputsOf<T>::template Plain>(
      make_input, rows, in, static_cast<const T*>(weight), out, output, stream);
}

template <typename T, typename Y>
cudaError_t LaunchNorm(const float* x, int64_t rows, int64_t in, int64_t ldx,
                       const float* norm_weight, float eps, const void* weight, int64_t out,
                       void* y, int64_t ldy, cudaStream_t stream) {
  const skinny::StoreOutput<Y> output{static_cast<Y*>(y), ldy, 1.0f, 0.0f};
  return skinny::LaunchSkinny<T, skinny::InputsOf<T>::template Norm>(
      skinny::NormRows(x, ldx, norm_weight, eps), rows, in, static_cast<const T*>(weight), out,
      output, stream);
}

template <typename Body>
cudaError_t ForType(WeightDtype dtype, Body body) {
  return VisitWeightDtype(dtype, body, [] { return cudaErrorInvalidValue; });
}

}  // namespace

namespace {
std::atomic<int64_t> skinny_row_limit{kSkinnySuitedRows};
}  // namespace

void SetSkinnyRowLimit(int64_t rows) {
  skinny_row_limit.store(std::clamp<int64_t>(rows, 0, kSkinnyMaxRows));
}

bool SkinnyLinearApplies(const void* x, int64_t rows, int64_t in, int64_t ldx, const void* weight) {
  // 16 bytes hold 8 two-byte or 4 four-byte elements; multiples of 8 suit both.
  return rows >= 1 && rows <= skinny_row_limit.load(std::memory_order_relaxed) && in % 8 == 0 &&
         ldx % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
         reinterpret_cast<uintptr_t>(weight) % 16 == 0;
}

absl::Status SkinnyLinear(const void* x, int64_t rows, int64_t in, int64_t ldx, const void* weight,
                          WeightDtype dtype, int64_t out, void* y, WeightDtype y_dtype, int64_t ldy,
                          float alpha, float beta, cudaStream_t stream) {
  const cudaError_t launched = ForType(dtype, [&](auto zero) {
    using T = decltype(zero);
    return y_dtype == WeightDtype::kFp32
               ? Launch<T, float>(x, rows, in, ldx, weight, out, y, ldy, alpha, beta, stream)
               : Launch<T, T>(x, rows, in, ldx, weight, out, y, ldy, alpha, beta, stream);
  });
  return CudaStatus(launched, "launch of the skinny linear kernel");
}

absl::Status SkinnyNormLinear(const float* x, int64_t rows, int64_t in, int64_t ldx,
                              const float* norm_weight, float eps, const void* weight,
                              WeightDtype dtype, int64_t out, void* y, WeightDtype y_dtype,
                              int64_t ldy, cudaStream_t stream) {
  const cudaError_t launched = ForType(dtype, [&](auto zero) {
    using T = decltype(zero);
    return y_dtype == WeightDtype::kFp32
               ? LaunchNorm<T, float>(x, rows, in, ldx, norm_weight, eps, weight, out, y, ldy,
                                      stream)
               : LaunchNorm<T, T>(x, rows, in, ldx, norm_weight, eps, weight, out, y, ldy, stream);
  });
  return CudaStatus(launched, "launch of the skinny RMSNorm + linear kernel");
}

}  // namespace llive::backends::cuda
