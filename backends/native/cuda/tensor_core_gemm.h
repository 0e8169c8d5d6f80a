// Linear layers over a few dozen rows (a batched decode step) on the tensor cores
// (tensor_core_gemm_kernels.cuh): the weights are streamed once with 16-byte loads and
// multiplied against up to 64 rows at once, where a GEMM library's tiles, made for hundreds of
// rows, read them at a fraction of the memory bandwidth.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"
#include "backends/native/cuda/weight_dtype.h"

namespace llive::backends::cuda {

// The most rows TensorCoreLinear takes.
inline constexpr int64_t kTensorCoreMaxRows = 64;

// The fewest outputs TensorCoreLinear takes: 16 tiles of 64, so that at least 16 blocks stream
// the weights (fewer outputs, like Mamba's x_proj and out_proj, stay with cuBLAS).
inline constexpr int64_t kTensorCoreMinOutputs = 1024;

// True when TensorCoreLinear supports the operands: 1..the row limit (SetTensorCoreRowLimit)
// rows, at least kTensorCoreMinOutputs outputs, bf16 or fp16 weights (fp32 weights stay with
// cuBLAS: the tensor cores would round them), `in` and `ldx` multiples of 8 with the rows
// fitting in shared memory (`in` up to about 1,600 at 64 rows), 16-byte aligned pointers, and a
// GPU of compute capability 8.0 or newer.
bool TensorCoreLinearApplies(const void* x, int64_t rows, int64_t in, int64_t ldx, int64_t out,
                             const void* weight, WeightDtype dtype);

// Rows up to which TensorCoreLinearApplies says yes: kTensorCoreMaxRows by default, 0 (never)
// for benchmarks and checks that compare with cuBLAS. Process-wide, read at each call (so when
// a decode graph is captured). Rows the skinny kernels take (skinny_gemm.h) go there first.
void SetTensorCoreRowLimit(int64_t rows);

// y[r * ldy + o] = alpha * sum_i x[r * ldx + i] * weight[o * in + i] + beta * y[r * ldy + o],
// x and weight in `dtype`, y in `y_dtype` (fp32 or dtype), fp32 accumulation; asynchronous on
// `stream` and graph-capturable. Callers check TensorCoreLinearApplies first.
absl::Status TensorCoreLinear(const void* x, int64_t rows, int64_t in, int64_t ldx,
                              const void* weight, WeightDtype dtype, int64_t out, void* y,
                              WeightDtype y_dtype, int64_t ldy, float alpha, float beta,
                              cudaStream_t stream);

// RMSNorm fused in front of TensorCoreLinear, with the rounding of an unfused RMSNorm writing
// `dtype` (as SkinnyNormLinear): x fp32 rows of stride ldx.
absl::Status TensorCoreNormLinear(const float* x, int64_t rows, int64_t in, int64_t ldx,
                                  const float* norm_weight, float eps, const void* weight,
                                  WeightDtype dtype, int64_t out, void* y, WeightDtype y_dtype,
                                  int64_t ldy, cudaStream_t stream);

}  // namespace llive::backends::cuda
