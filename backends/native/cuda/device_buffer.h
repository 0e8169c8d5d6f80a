// Owned device memory: one typed allocation freed with the object.
#pragma once

#include <cuda_runtime.h>

#include <cstddef>
#include <utility>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "backends/native/cuda/cuda_status.h"

namespace llive::backends::cuda {

// Move-only. Not thread-safe; the copies use the stream given (default: the legacy stream).
template <typename T>
class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  DeviceBuffer(DeviceBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  DeviceBuffer& operator=(DeviceBuffer&& other) noexcept {
    if (this != &other) {
      Reset();
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;
  ~DeviceBuffer() { Reset(); }

  // `count` elements of uninitialised device memory on the current device.
  static absl::StatusOr<DeviceBuffer> Allocate(size_t count) {
    DeviceBuffer buffer;
    if (count == 0) return buffer;
    LLIVE_CUDA_RETURN_IF_ERROR(cudaMalloc(&buffer.data_, count * sizeof(T)),
                               absl::StrCat("cudaMalloc of ", count * sizeof(T), " bytes"));
    buffer.size_ = count;
    return buffer;
  }

  // A buffer holding a copy of `host[0, count)`.
  static absl::StatusOr<DeviceBuffer> FromHost(const T* host, size_t count,
                                               cudaStream_t stream = nullptr) {
    absl::StatusOr<DeviceBuffer> buffer = Allocate(count);
    if (!buffer.ok()) return buffer.status();
    if (absl::Status s = buffer->CopyFromHost(host, count, stream); !s.ok()) return s;
    return buffer;
  }

  absl::Status CopyFromHost(const T* host, size_t count, cudaStream_t stream = nullptr) {
    if (count > size_) {
      return absl::InvalidArgumentError(
          absl::StrCat("copy of ", count, " elements into a device buffer of ", size_));
    }
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(data_, host, count * sizeof(T), cudaMemcpyHostToDevice, stream),
        "copy to the GPU");
    return CudaStatus(cudaStreamSynchronize(stream), "copy to the GPU");
  }

  absl::Status CopyToHost(T* host, size_t count, cudaStream_t stream = nullptr) const {
    if (count > size_) {
      return absl::InvalidArgumentError(
          absl::StrCat("copy of ", count, " elements out of a device buffer of ", size_));
    }
    LLIVE_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(host, data_, count * sizeof(T), cudaMemcpyDeviceToHost, stream),
        "copy from the GPU");
    return CudaStatus(cudaStreamSynchronize(stream), "copy from the GPU");
  }

  T* data() { return data_; }
  const T* data() const { return data_; }
  size_t size() const { return size_; }
  size_t bytes() const { return size_ * sizeof(T); }

 private:
  void Reset() {
    if (data_ != nullptr) cudaFree(data_);
    data_ = nullptr;
    size_ = 0;
  }

  T* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace llive::backends::cuda
