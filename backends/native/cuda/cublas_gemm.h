// Matrix products of activations with weights on the GPU through cuBLAS, one context per stream.
#pragma once

#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "backends/native/cuda/device_buffer.h"
#include "backends/native/cuda/device_tensor.h"
#include "backends/native/cuda/weight_dtype.h"

namespace llive::backends::cuda {

// A cuBLAS handle bound to one stream with its own workspace. Because cuBLAS then never
// allocates, every call may be recorded into a CUDA graph captured on that stream. Not
// thread-safe: one context per stream, used by one thread at a time. Uses the device that
// was current when it was created; keep that device current while calling it.
class GemmContext {
 public:
  static constexpr size_t kDefaultWorkspaceBytes = size_t{32} << 20;

  // Unavailable (or ResourceExhausted) when cuBLAS cannot start or the workspace does not fit.
  static absl::StatusOr<std::unique_ptr<GemmContext>> Create(
      cudaStream_t stream, size_t workspace_bytes = kDefaultWorkspaceBytes);
  ~GemmContext();
  GemmContext(const GemmContext&) = delete;
  GemmContext& operator=(const GemmContext&) = delete;

  cudaStream_t stream() const { return stream_; }

  // A PyTorch-layout linear layer, asynchronous on the context's stream:
  //   y[r * ldy + o] = alpha * sum_i x[r * ldx + i] * weight[o * in + i] + beta * y[r * ldy + o]
  // for r < rows, o < out, where weight is [out, in] row-major (weight.size() == out * in).
  // x holds elements of weight.dtype() (cuBLAS takes both operands in one type), y elements of
  // `y_dtype`, which is fp32 or weight.dtype(). Products accumulate in fp32 (no TF32: fp32
  // weights give fp32 results). beta = 1 adds into y (a residual). Up to kSkinnyMaxRows rows
  // (decoding) run on skinny_gemm.h's kernel, which reads the weights at memory speed where
  // cuBLAS's tiles would leave most of the GPU idle. InvalidArgument for
  // inconsistent sizes or an unsupported y_dtype; Unavailable for a cuBLAS failure.
  absl::Status Linear(const void* x, int64_t rows, int64_t in, int64_t ldx,
                      const DeviceTensor& weight, int64_t out, void* y, WeightDtype y_dtype,
                      int64_t ldy, float alpha = 1.0f, float beta = 0.0f);

 private:
  GemmContext() = default;

  cudaStream_t stream_ = nullptr;
  cublasHandle_t handle_ = nullptr;
  DeviceBuffer<uint8_t> workspace_;
};

}  // namespace llive::backends::cuda
