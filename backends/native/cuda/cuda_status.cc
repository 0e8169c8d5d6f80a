// Mapping of CUDA and cuBLAS error codes to absl::Status.
#include "backends/native/cuda/cuda_status.h"

#include "absl/strings/str_cat.h"

namespace llive::backends::cuda {

absl::Status CudaStatus(cudaError_t error, absl::string_view what) {
  if (error == cudaSuccess) return absl::OkStatus();
  const std::string message = absl::StrCat(what, ": ", cudaGetErrorString(error));
  switch (error) {
    case cudaErrorNoKernelImageForDevice:
    case cudaErrorInvalidDeviceFunction:
      return absl::FailedPreconditionError(
          absl::StrCat(message,
                       " (this build has no code for the GPU's architecture; rebuild with "
                       "-DCMAKE_CUDA_ARCHITECTURES=<its compute capability>, see "
                       "docs/building.md)"));
    case cudaErrorMemoryAllocation:
      return absl::ResourceExhaustedError(absl::StrCat(message, " (the GPU is out of memory)"));
    default:
      return absl::UnavailableError(message);
  }
}

absl::Status CublasStatus(cublasStatus_t status, absl::string_view what) {
  if (status == CUBLAS_STATUS_SUCCESS) return absl::OkStatus();
  const std::string message = absl::StrCat(what, ": ", cublasGetStatusName(status), " (",
                                           cublasGetStatusString(status), ")");
  if (status == CUBLAS_STATUS_ALLOC_FAILED) return absl::ResourceExhaustedError(message);
  return absl::UnavailableError(message);
}

int CurrentDeviceAttribute(cudaDeviceAttr attribute, int fallback) {
  int device = 0, value = 0;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&value, attribute, device) != cudaSuccess) {
    cudaGetLastError();
    return fallback;
  }
  return value;
}

}  // namespace llive::backends::cuda
