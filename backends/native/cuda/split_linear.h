// Linear layers over a decode batch of up to 64 rows, as partial products over slices of the
// inner dimension, for the kernels of a decode step captured with programmatic dependent
// launch (programmatic_launch.h).
//
// cuBLAS's products of 64 rows take 6-9 us a layer on the H200 for 0.3-5 MB of weights (under
// 1.2 us of memory time): a launch that starts when the kernel before it has finished, then
// waits on DRAM for its weights. Here every block copies its weight tile into shared memory
// before it waits for the kernel before it (the weights are constant), so under programmatic
// launch the weights arrive while that kernel still runs; after the wait the block reads only
// its slice of the input rows (from L2) and multiplies on the tensor cores (mma.sync
// m16n8k16). Each block covers a tile of outputs for one slice of the inner dimension and
// writes fp32 partial sums; the consumer adds the slices in order (deterministic, unlike
// atomics), fused into what it does anyway (the residual add, the convolution step, the
// scan's row staging: mamba_cuda_kernels.h).
//
// (Adding the slices inside the product instead, through the distributed shared memory of a
// cluster of the slices' blocks, with the norm, convolution and residual add fused in: four
// launches a layer instead of six, but 986 us a batch-64 Mamba step against 791 here, H200,
// 2026-12-02: docs/benchmarks.md.)
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "backends/native/cuda/weight_dtype.h"

namespace llive::backends::cuda {

inline constexpr int64_t kSplitLinearMaxRows = 64;

// The tiling of one product: outputs in tiles of `block_out`, the inner dimension in `splits`
// slices of `block_in`.
struct SplitLinearShape {
  int64_t block_out = 0;
  int64_t block_in = 0;
  int64_t splits = 0;
};

// The tiling for a product of `in` inputs and `out` outputs with the slice count whose blocks
// come nearest `target_blocks` (ties to fewer slices), or InvalidArgument when the shape does
// not suit the kernel: `out` and `in` multiples of 16, a slice's tiles within the shared
// memory a block may use on the current device (110 KB, or the device's limit where lower:
// 99 KB on sm_86 and sm_89).
absl::StatusOr<SplitLinearShape> ChooseSplitLinear(int64_t in, int64_t out, int64_t target_blocks);

// Whether `shape` tiles a product of `in` inputs and `out` outputs.
bool SplitLinearShapeValid(const SplitLinearShape& shape, int64_t in, int64_t out);

// parts[s * rows * out + r * out + o] = sum over i in slice s of x[r * ldx + i] * weight[o * in +
// i] for r < rows (1..kSplitLinearMaxRows), fp32 accumulation; x and weight bf16 or fp16
// (`dtype`, InvalidArgument for fp32), x, weight 16-byte aligned, ldx a multiple of 8,
// parts 8-byte aligned. Asynchronous on `stream`, graph-capturable; `programmatic` launches it
// with programmatic dependent launch while the stream is captured (its weight tiles load
// before it waits).
//
// With `residual` (out_proj of a Mamba decode step whose next layer normalises its output), the
// product also finishes the residual add: the last block of each output tile to write its
// slice (a per-tile counter) adds the tile's slices, in slice order, into residual->x and
// writes what the next layer's in_proj multiplies (SplitResidual); so no launch of its own adds
// the slices and normalises the rows. block_out 16, 32, 64 or 128 (InvalidArgument otherwise).
struct SplitResidual;
absl::Status SplitLinear(const void* x, int64_t rows, int64_t ldx, const void* weight,
                         WeightDtype dtype, int64_t in, int64_t out, const SplitLinearShape& shape,
                         float* parts, bool programmatic, cudaStream_t stream,
                         const SplitResidual* residual = nullptr);

// What a split product with a residual finishes, for rows r < rows and outputs o < out:
//   x[r * out + o] += the product (fp32, its slices added in order: DecodeResidualNorm's sums),
//   scaled[r * out + o] = x[r * out + o] * norm_weight[o] in the weights' dtype,
//   row_sumsq[t * rows + r] = the sum of x[r * out + o]^2 over output tile t's outputs.
// The next product then multiplies `scaled` and scales each output of row r by 1 / sqrt(mean
// square + eps), the mean square from the row's tiles (mamba::RowScale): RMSNorm with its
// weight applied before the product and the row's scale after, which a linear map allows (the
// rounding to bf16 or fp16 falls on x * weight instead of x * weight / rms: the same relative
// error). tile_counters: out / block_out ints, zero before the first launch; the last block of a
// tile sets its counter back to zero, so they are zero again after every launch.
struct SplitResidual {
  float* x = nullptr;
  const float* norm_weight = nullptr;
  void* scaled = nullptr;
  float* row_sumsq = nullptr;
  int* tile_counters = nullptr;
};

// Whether `shape` can finish a residual (block_out 16, 32, 64 or 128).
bool SplitResidualApplies(const SplitLinearShape& shape);

}  // namespace llive::backends::cuda
