// CUDA runtime and cuBLAS errors as absl::Status, with the advice a user needs.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace llive::backends::cuda {

// OK for cudaSuccess. A missing kernel image (the GPU's architecture was not compiled in) is
// FailedPrecondition naming the rebuild flag; out of memory is ResourceExhausted; anything
// else is Unavailable. `what` says what was being done ("cudaMalloc of the Mamba weights").
absl::Status CudaStatus(cudaError_t error, absl::string_view what);

// OK for CUBLAS_STATUS_SUCCESS; otherwise Unavailable (ResourceExhausted for allocation).
absl::Status CublasStatus(cublasStatus_t status, absl::string_view what);

// An attribute of the current device, or `fallback` where the query fails (its error consumed
// here, not left for the next launch's check).
int CurrentDeviceAttribute(cudaDeviceAttr attribute, int fallback);

}  // namespace llive::backends::cuda

// Returns from the enclosing function (absl::Status or StatusOr) when a CUDA call fails.
#define LLIVE_CUDA_RETURN_IF_ERROR(expr, what)                                            \
  do {                                                                                    \
    if (const cudaError_t llive_cuda_error_ = (expr); llive_cuda_error_ != cudaSuccess) { \
      return ::llive::backends::cuda::CudaStatus(llive_cuda_error_, what);                \
    }                                                                                     \
  } while (false)

#define LLIVE_CUBLAS_RETURN_IF_ERROR(expr, what)                                \
  do {                                                                          \
    if (const cublasStatus_t llive_cublas_status_ = (expr);                     \
        llive_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                        \
      return ::llive::backends::cuda::CublasStatus(llive_cublas_status_, what); \
    }                                                                           \
  } while (false)
