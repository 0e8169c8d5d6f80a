// The tensor-core linear launches over tensor_core_gemm_kernels.cuh.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <atomic>
#include <cstdint>

#include "backends/native/cuda/cuda_status.h"
#include "backends/native/cuda/programmatic_launch.h"
#include "backends/native/cuda/skinny_gemm_kernels.cuh"
#include "backends/native/cuda/tensor_core_gemm.h"
#include "backends/native/cuda/tensor_core_gemm_kernels.cuh"

namespace llive::backends::cuda {
namespace {

std::atomic<int64_t> tensor_core_row_limit{kTensorCoreMaxRows};

// Calls body(T{}) for the two-byte weight types; cudaErrorInvalidValue for others.
template <typename Body>
cudaError_t ForHalfType(WeightDtype dtype, Body body) {
  if (dtype == WeightDtype::kBf16) return body(__nv_bfloat16{});
  if (dtype == WeightDtype::kFp16) return body(__half{});
  return cudaErrorInvalidValue;
}

bool DeviceHasMma() {
  int device = 0, major = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) {
    cudaGetLastError();  // consumed here, not by the next launch check
    return false;
  }
  return major >= 8;
}

}  // namespace

void SetTensorCoreRowLimit(int64_t rows) {
  tensor_core_row_limit.store(std::clamp<int64_t>(rows, 0, kTensorCoreMaxRows));
}

bool TensorCoreLinearApplies(const void* x, int64_t rows, int64_t in, int64_t ldx, int64_t out,
                             const void* weight, WeightDtype dtype) {
  return rows >= 1 && rows <= tensor_core_row_limit.load(std::memory_order_relaxed) &&
         out >= kTensorCoreMinOutputs &&
         tensor_core::SharedBytes(static_cast<int>((rows + 15) / 16), in) <=
             tensor_core::kMaxSharedBytes &&
         (dtype == WeightDtype::kBf16 || dtype == WeightDtype::kFp16) && in % 8 == 0 &&
         ldx % 8 == 0 && reinterpret_cast<uintptr_t>(x) % 16 == 0 &&
         reinterpret_cast<uintptr_t>(weight) % 16 == 0 && DeviceHasMma();
}

absl::Status TensorCoreLinear(const void* x, int64_t rows, int64_t in, int64_t ldx,
                              const void* weight, WeightDtype dtype, int64_t out, void* y,
                              WeightDtype y_dtype, int64_t ldy, float alpha, float beta,
                              cudaStream_t stream) {
  const cudaError_t launched = ForHalfType(dtype, [&](auto zero) {
    using T = decltype(zero);
    const tensor_core::PlainRows<T> input{static_cast<const T*>(x), ldx};
    auto launch = [&](auto output) {
      return tensor_core::LaunchTensorCore<T>(MambaProgrammaticLaunch(), input, rows, in,
                                              static_cast<const T*>(weight), out, output, stream);
    };
    return y_dtype == WeightDtype::kFp32
               ? launch(skinny::StoreOutput<float>{static_cast<float*>(y), ldy, alpha, beta})
               : launch(skinny::StoreOutput<T>{static_cast<T*>(y), ldy, alpha, beta});
  });
  return CudaStatus(launched, "launch of the tensor-core linear kernel");
}

absl::Status TensorCoreNormLinear(const float* x, int64_t rows, int64_t in, int64_t ldx,
                                  const float* norm_weight, float eps, const void* weight,
                                  WeightDtype dtype, int64_t out, void* y, WeightDtype y_dtype,
                                  int64_t ldy, cudaStream_t stream) {
  const cudaError_t launched = ForHalfType(dtype, [&](auto zero) {
    using T = decltype(zero);
    const tensor_core::NormRows<T> input{x, ldx, norm_weight, eps};
    auto launch = [&](auto output) {
      return tensor_core::LaunchTensorCore<T>(MambaProgrammaticLaunch(), input, rows, in,
                                              static_cast<const T*>(weight), out, output, stream);
    };
    return y_dtype == WeightDtype::kFp32
               ? launch(skinny::StoreOutput<float>{static_cast<float*>(y), ldy, 1.0f, 0.0f})
               : launch(skinny::StoreOutput<T>{static_cast<T*>(y), ldy, 1.0f, 0.0f});
  });
  return CudaStatus(launched, "launch of the tensor-core RMSNorm + linear kernel");
}

}  // namespace llive::backends::cuda
