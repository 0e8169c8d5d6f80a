// The CUDA runtime probe and the first kernel: proves the CUDA build path end to end.
#include <cuda_runtime.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/native/cuda/cuda_runtime_check.h"
#include "backends/native/cuda/cuda_status.h"

namespace llive::backends::cuda {
namespace {

__global__ void AxpyKernel(int n, float a, const float* x, float* y) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + y[i];
}

// Frees device memory when it goes out of scope.
struct DeviceBuffer {
  float* data = nullptr;
  ~DeviceBuffer() { cudaFree(data); }
};

}  // namespace

bool BuiltWithCuda() { return true; }

absl::StatusOr<std::vector<GpuInfo>> ListGpus() {
  int count = 0;
  if (cudaError_t e = cudaGetDeviceCount(&count); e != cudaSuccess) {
    return CudaStatus(e, "no usable CUDA device");
  }
  std::vector<GpuInfo> gpus;
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop;
    if (cudaError_t e = cudaGetDeviceProperties(&prop, i); e != cudaSuccess) {
      return CudaStatus(e, "cannot read CUDA device properties");
    }
    gpus.push_back(GpuInfo{i, prop.name, prop.major, prop.minor, prop.totalGlobalMem,
                           prop.multiProcessorCount});
  }
  if (gpus.empty()) return absl::UnavailableError("the CUDA runtime reports no GPU");
  return gpus;
}

absl::StatusOr<std::vector<float>> AxpyOnGpu(int ordinal, float a, const std::vector<float>& x,
                                             const std::vector<float>& y) {
  if (x.size() != y.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("x has ", x.size(), " elements but y has ", y.size()));
  }
  absl::StatusOr<std::vector<GpuInfo>> gpus = ListGpus();
  if (!gpus.ok()) return gpus.status();
  if (ordinal < 0 || ordinal >= static_cast<int>(gpus->size())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cuda:", ordinal, " does not exist; this machine has ", gpus->size(), " GPU(s)"));
  }
  if (cudaError_t e = cudaSetDevice(ordinal); e != cudaSuccess) {
    return CudaStatus(e, "cannot select the GPU");
  }
  const int n = static_cast<int>(x.size());
  const size_t bytes = x.size() * sizeof(float);
  DeviceBuffer dx, dy;
  if (cudaError_t e = cudaMalloc(&dx.data, bytes); e != cudaSuccess)
    return CudaStatus(e, "cudaMalloc");
  if (cudaError_t e = cudaMalloc(&dy.data, bytes); e != cudaSuccess)
    return CudaStatus(e, "cudaMalloc");
  for (auto [to, from] : {std::pair{dx.data, x.data()}, std::pair{dy.data, y.data()}}) {
    if (cudaError_t e = cudaMemcpy(to, from, bytes, cudaMemcpyHostToDevice); e != cudaSuccess) {
      return CudaStatus(e, "copying the inputs to the GPU");
    }
  }
  constexpr int kThreads = 256;
  AxpyKernel<<<(n + kThreads - 1) / kThreads, kThreads>>>(n, a, dx.data, dy.data);
  if (cudaError_t e = cudaGetLastError(); e != cudaSuccess) return CudaStatus(e, "kernel launch");
  std::vector<float> result(x.size());
  if (cudaError_t e = cudaMemcpy(result.data(), dy.data, bytes, cudaMemcpyDeviceToHost);
      e != cudaSuccess) {
    return CudaStatus(e, "copying the result back");
  }
  return result;
}

}  // namespace llive::backends::cuda
