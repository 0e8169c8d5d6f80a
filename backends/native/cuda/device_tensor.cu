// Uploading fp32 host values into bf16/fp16/fp32 device arrays and reading them back.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>

#include "backends/native/cuda/device_tensor.h"

namespace llive::backends::cuda {
namespace {

// Elements converted per staging copy during an upload (64 MiB of fp32).
constexpr size_t kStagingElements = size_t{16} << 20;

template <typename T>
__device__ T FromFloat(float value);
template <>
__device__ __nv_bfloat16 FromFloat(float value) {
  return __float2bfloat16_rn(value);
}
template <>
__device__ __half FromFloat(float value) {
  return __float2half_rn(value);
}

template <typename T>
__global__ void FromFloatKernel(const float* in, size_t count, T* out) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count;
       i += size_t{gridDim.x} * blockDim.x) {
    out[i] = FromFloat<T>(in[i]);
  }
}

template <typename T>
__global__ void ToFloatKernel(const T* in, size_t count, float* out) {
  for (size_t i = blockIdx.x * size_t{blockDim.x} + threadIdx.x; i < count;
       i += size_t{gridDim.x} * blockDim.x) {
    out[i] = static_cast<float>(in[i]);
  }
}

unsigned int Blocks(size_t count) {
  return static_cast<unsigned int>(std::min<size_t>((count + 255) / 256, 4096));
}

}  // namespace

cudaDataType_t CudaDataType(WeightDtype dtype) {
  switch (dtype) {
    case WeightDtype::kBf16:
      return CUDA_R_16BF;
    case WeightDtype::kFp16:
      return CUDA_R_16F;
    case WeightDtype::kFp32:
      return CUDA_R_32F;
  }
  return CUDA_R_32F;
}

absl::Status ConvertFromFloat(const float* in, size_t count, WeightDtype dtype, void* out,
                              cudaStream_t stream) {
  if (count == 0) return absl::OkStatus();
  switch (dtype) {
    case WeightDtype::kBf16:
      FromFloatKernel<<<Blocks(count), 256, 0, stream>>>(in, count,
                                                         static_cast<__nv_bfloat16*>(out));
      break;
    case WeightDtype::kFp16:
      FromFloatKernel<<<Blocks(count), 256, 0, stream>>>(in, count, static_cast<__half*>(out));
      break;
    case WeightDtype::kFp32:
      LLIVE_CUDA_RETURN_IF_ERROR(
          cudaMemcpyAsync(out, in, count * sizeof(float), cudaMemcpyDeviceToDevice, stream),
          "fp32 device copy");
      break;
  }
  return CudaStatus(cudaGetLastError(), "fp32 to weight type conversion kernel");
}

absl::StatusOr<DeviceTensor> DeviceTensor::Allocate(WeightDtype dtype, size_t count) {
  DeviceTensor tensor;
  tensor.dtype_ = dtype;
  tensor.count_ = count;
  absl::StatusOr<DeviceBuffer<uint8_t>> storage =
      DeviceBuffer<uint8_t>::Allocate(count * WeightDtypeBytes(dtype));
  if (!storage.ok()) return storage.status();
  tensor.storage_ = *std::move(storage);
  return tensor;
}

absl::StatusOr<DeviceTensor> DeviceTensor::Upload(const float* host, size_t count,
                                                  WeightDtype dtype, cudaStream_t stream) {
  absl::StatusOr<DeviceTensor> tensor = Allocate(dtype, count);
  if (!tensor.ok()) return tensor.status();
  if (count == 0) return tensor;
  if (dtype == WeightDtype::kFp32) {
    LLIVE_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(tensor->data(), host, count * sizeof(float),
                                               cudaMemcpyHostToDevice, stream),
                               "weight upload");
    LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream), "weight upload");
    return tensor;
  }
  absl::StatusOr<DeviceBuffer<float>> staging =
      DeviceBuffer<float>::Allocate(std::min(count, kStagingElements));
  if (!staging.ok()) return staging.status();
  const size_t element_bytes = WeightDtypeBytes(dtype);
  for (size_t start = 0; start < count; start += kStagingElements) {
    const size_t n = std::min(kStagingElements, count - start);
    LLIVE_CUDA_RETURN_IF_ERROR(cudaMemcpyAsync(staging->data(), host + start, n * sizeof(float),
                                               cudaMemcpyHostToDevice, stream),
                               "weight upload");
    if (absl::Status s =
            ConvertFromFloat(staging->data(), n, dtype,
                             static_cast<uint8_t*>(tensor->data()) + start * element_bytes, stream);
        !s.ok()) {
      return s;
    }
    // The next chunk overwrites the staging buffer.
    LLIVE_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream), "weight upload");
  }
  return tensor;
}

absl::StatusOr<std::vector<float>> DeviceTensor::Download(cudaStream_t stream) const {
  std::vector<float> host(count_);
  if (count_ == 0) return host;
  absl::StatusOr<DeviceBuffer<float>> staging = DeviceBuffer<float>::Allocate(count_);
  if (!staging.ok()) return staging.status();
  switch (dtype_) {
    case WeightDtype::kBf16:
      ToFloatKernel<<<Blocks(count_), 256, 0, stream>>>(static_cast<const __nv_bfloat16*>(data()),
                                                        count_, staging->data());
      break;
    case WeightDtype::kFp16:
      ToFloatKernel<<<Blocks(count_), 256, 0, stream>>>(static_cast<const __half*>(data()), count_,
                                                        staging->data());
      break;
    case WeightDtype::kFp32:
      LLIVE_CUDA_RETURN_IF_ERROR(
          cudaMemcpyAsync(staging->data(), data(), bytes(), cudaMemcpyDeviceToDevice, stream),
          "device copy");
      break;
  }
  LLIVE_CUDA_RETURN_IF_ERROR(cudaGetLastError(), "weight type to fp32 conversion kernel");
  if (absl::Status s = staging->CopyToHost(host.data(), count_, stream); !s.ok()) return s;
  return host;
}

}  // namespace llive::backends::cuda
