// Linear layers over a handful of rows (decoding), where a GEMM library's tiles leave most of
// the GPU idle: one warp per output streams its weight row once with 16-byte loads and serves
// every input row from it, so the time is the weights' bytes over the memory bandwidth.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"
#include "backends/native/cuda/weight_dtype.h"

namespace llive::backends::cuda {

// The most rows SkinnyLinear takes. (Rows in groups of 8 re-reading the weights from L2 were
// measured against cuBLAS at 64 rows on the H200 and lost: 55 us against 9 us for Mamba's
// in_proj; see docs/benchmarks.md.)
inline constexpr int64_t kSkinnyMaxRows = 8;

// True when SkinnyLinear supports the operands: 1..kSkinnyMaxRows rows (see SetSkinnyRowLimit),
// `in`, `ldx` and the pointers 16-byte aligned for the element type.
bool SkinnyLinearApplies(const void* x, int64_t rows, int64_t in, int64_t ldx, const void* weight);

// Rows up to which SkinnyLinearApplies says yes: kSkinnySuitedRows by default, 0 (never) to
// kSkinnyMaxRows when set, for benchmarks that compare with cuBLAS. Measured on the H200 at the
// mamba-130m shape (docs/benchmarks.md, 2026-12-02): a decode step took 587 us at batch 1 with
// the skinny kernels and 761 us through cuBLAS, but 1,489 us at batch 8 with them and 765 us
// through cuBLAS. Process-wide, read at each call (so when a decode graph is captured).
inline constexpr int64_t kSkinnySuitedRows = 1;
void SetSkinnyRowLimit(int64_t rows);

// y[r * ldy + o] = alpha * sum_i x[r * ldx + i] * weight[o * in + i] + beta * y[r * ldy + o],
// x and weight in `dtype`, y in `y_dtype` (fp32 or dtype), fp32 accumulation; asynchronous on
// `stream` and graph-capturable. Callers check SkinnyLinearApplies first.
absl::Status SkinnyLinear(const void* x, int64_t rows, int64_t in, int64_t ldx, const void* weight,
                          WeightDtype dtype, int64_t out, void* y, WeightDtype y_dtype, int64_t ldy,
                          float alpha, float beta, cudaStream_t stream);

// RMSNorm fused in front of SkinnyLinear, so a decode step spends one launch on both:
//   xn[r, :] = round_to_dtype(x[r, :] / sqrt(mean(x[r, :]^2) + eps) * norm_weight)
//   y[r * ldy + o] = sum_i xn[r, i] * weight[o * in + i]
// with x fp32 rows of stride ldx (the residual stream), the same rounding of xn as an
// unfused RMSNorm writing `dtype` followed by SkinnyLinear. Conditions as SkinnyLinear with
// x's alignment that of fp32.
absl::Status SkinnyNormLinear(const float* x, int64_t rows, int64_t in, int64_t ldx,
                              const float* norm_weight, float eps, const void* weight,
                              WeightDtype dtype, int64_t out, void* y, WeightDtype y_dtype,
                              int64_t ldy, cudaStream_t stream);

}  // namespace llive::backends::cuda
