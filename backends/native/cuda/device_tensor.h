// A typed array on the GPU whose element type (bf16, fp16 or fp32) is chosen at run time:
// weights uploaded from host fp32, and activations that feed GEMMs in the weights' type.
#pragma once

#include <cuda_runtime.h>
#include <library_types.h>

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "backends/native/cuda/device_buffer.h"
#include "backends/native/cuda/weight_dtype.h"

namespace llive::backends::cuda {

// The cuBLAS name of `dtype` (CUDA_R_16BF, CUDA_R_16F, CUDA_R_32F).
cudaDataType_t CudaDataType(WeightDtype dtype);

// Move-only owner of `count` elements of `dtype` on the current device. Not thread-safe.
class DeviceTensor {
 public:
  DeviceTensor() = default;

  // Uninitialised storage.
  static absl::StatusOr<DeviceTensor> Allocate(WeightDtype dtype, size_t count);

  // host[0, count) rounded to `dtype` (round to nearest even) on the device. Synchronises
  // `stream` before returning, so `host` may be freed afterwards. ResourceExhausted when the
  // GPU is out of memory; Unavailable for other CUDA errors.
  static absl::StatusOr<DeviceTensor> Upload(const float* host, size_t count, WeightDtype dtype,
                                             cudaStream_t stream = nullptr);

  // The values as fp32 on the host (checks, state snapshots). Synchronises `stream`.
  absl::StatusOr<std::vector<float>> Download(cudaStream_t stream = nullptr) const;

  WeightDtype dtype() const { return dtype_; }
  size_t size() const { return count_; }
  size_t bytes() const { return storage_.size(); }
  void* data() { return storage_.data(); }
  const void* data() const { return storage_.data(); }

 private:
  WeightDtype dtype_ = WeightDtype::kFp32;
  size_t count_ = 0;
  DeviceBuffer<uint8_t> storage_;
};

// Converts `count` fp32 values on the device to `dtype` (round to nearest even) on `stream`;
// asynchronous, and usable inside CUDA graph capture. `out` holds count elements of dtype.
absl::Status ConvertFromFloat(const float* in, size_t count, WeightDtype dtype, void* out,
                              cudaStream_t stream);

}  // namespace llive::backends::cuda
