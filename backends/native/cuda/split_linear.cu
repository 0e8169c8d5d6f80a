// SplitLinear: the tensor-core kernel and its tiling (split_linear.h).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <cstdlib>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "backends/native/cuda/async_copy.cuh"
#include "backends/native/cuda/cuda_status.h"
#include "backends/native/cuda/mma_tile.cuh"
#include "backends/native/cuda/programmatic_launch.cuh"
#include "backends/native/cuda/skinny_gemm_kernels.cuh"
#include "backends/native/cuda/slices.cuh"
#include "backends/native/cuda/split_linear.h"

namespace llive::backends::cuda {
namespace {

// 8 warps: warp w multiplies rows [16 (w % 4), + 16) by the block's even (w < 4) or odd
// output tiles of 16, so that each warp's chain of dependent products is half its row tile's
// (2026-12-02: batch-64 decode steps 801 us against 810 with a warp a row tile).
constexpr int kRowWarps = 4;  // row tiles of 16
constexpr int kHalves = 2;
constexpr int kThreads = kHalves * kRowWarps * 32;
static_assert(16 * kRowWarps == kSplitLinearMaxRows);
constexpr int kMaxTiles = 8;                     // block_out up to 16 * kMaxTiles in one block
constexpr int64_t kMaxSharedBytes = 110 * 1024;  // below the H200's 227 KB: room for others

// The shared memory a split block may use on the current device: kMaxSharedBytes, or the
// device's opt-in limit where lower (99 KB on sm_86 and sm_89).
int64_t MaxSharedBytes() {
  return std::min<int64_t>(
      kMaxSharedBytes, CurrentDeviceAttribute(cudaDevAttrMaxSharedMemoryPerBlockOptin, 48 * 1024));
}
// A shared row holds a slice plus 16 bytes: an odd number of 16-byte words a row (slices are
// multiples of 16 elements), so the 8 row addresses of an ldmatrix fall in 8 distinct groups
// of banks.
constexpr int kRowPad = 8;

int64_t SharedBytes(int64_t block_out, int64_t block_in, int64_t rows) {
  const int64_t row_tiles = (rows + 15) / 16;
  return (block_out + 16 * row_tiles) * (block_in + kRowPad) * 2;
}

// The residual a tile's last block finishes (SplitResidual), for the rows x 16 kTiles outputs of
// output tile `tile` at o0: a float4 of a row a thread, the row's 4 kTiles threads adjacent in
// one warp (so kTiles 1, 2, 4 or 8), their squares summed by shuffles.
template <typename T, int kTiles>
__device__ __forceinline__ void FinishResidual(const SplitResidual& residual, const float* parts,
                                               int slices, int rows, int64_t out, int tile,
                                               int64_t o0) {
  constexpr int kRowThreads = 4 * kTiles;
  static_assert(kRowThreads <= 32 && (kRowThreads & (kRowThreads - 1)) == 0);
  const int total = rows * kRowThreads;
  const int64_t slice_stride = int64_t{rows} * out;
  // Every thread of the block takes every pass, so that a warp's lanes shuffle together.
  for (int base = 0; base < total; base += kThreads) {
    const int p = base + static_cast<int>(threadIdx.x);
    const bool active = p < total;
    const int r = active ? p / kRowThreads : 0;
    const int64_t o = o0 + (p % kRowThreads) * 4;
    float4 v{};
    if (active) {
      float* target = residual.x + r * out + o;
      // From L2 (.cg): the other blocks' slices are not in this multiprocessor's L1.
      v = AddSlices<float4, true>(__ldcg(reinterpret_cast<const float4*>(target)),
                                  parts + r * out + o, slices, slice_stride);
      *reinterpret_cast<float4*>(target) = v;
      const float4 w = __ldg(reinterpret_cast<const float4*>(residual.norm_weight + o));
      T* scaled = static_cast<T*>(residual.scaled) + r * out + o;
      skinny::Store(scaled, v.x * w.x);
      skinny::Store(scaled + 1, v.y * w.y);
      skinny::Store(scaled + 2, v.z * w.z);
      skinny::Store(scaled + 3, v.w * w.w);
    }
    float squares = v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
#pragma unroll
    for (int offset = kRowThreads / 2; offset > 0; offset /= 2) {
      squares += __shfl_xor_sync(0xffffffffu, squares, offset);
    }
    if (active && p % kRowThreads == 0) residual.row_sumsq[int64_t{tile} * rows + r] = squares;
  }
}

// Block (output tile, slice): outputs [blockIdx.x * 16 kTiles, + 16 kTiles), inputs
// [blockIdx.y * block_in, + block_in). Shared memory: the weight tile [16 kTiles][block_in +
// kRowPad], then the input rows [16 row_tiles][block_in + kRowPad]. kResidual: the tile's last
// block to finish its slice finishes `residual` (SplitResidual).
template <typename T, int kTiles, bool kResidual>
__global__ void __launch_bounds__(kThreads)
    SplitLinearKernel(const T* x, int rows, int64_t ldx, const T* weight, int64_t in, int64_t out,
                      int block_in, float* parts, SplitResidual residual) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* s_weight = reinterpret_cast<T*>(shared_bytes);
  constexpr int kBlockOut = 16 * kTiles;
  const int stride = block_in + kRowPad;
  T* s_x = s_weight + kBlockOut * stride;
  const int64_t o0 = int64_t{blockIdx.x} * kBlockOut;
  const int64_t i0 = int64_t{blockIdx.y} * block_in;
  const int pieces = block_in / 8;  // 16-byte pieces a row
  // The weight tile first: constant, so it may load while the kernel before still runs.
  for (int p = threadIdx.x; p < kBlockOut * pieces; p += kThreads) {
    const int row = p / pieces, piece = p % pieces;
    CopyAsync16(s_weight + row * stride + piece * 8, weight + (o0 + row) * in + i0 + piece * 8);
  }
  CopyAsyncCommit();
  WaitThenRelease();
  const int row_tiles = (rows + 15) / 16;
  for (int p = threadIdx.x; p < 16 * row_tiles * pieces; p += kThreads) {
    const int row = p / pieces, piece = p % pieces;
    // Rows past `rows` are zeros (the address of row 0, which exists, but nothing copied).
    const int64_t source_row = row < rows ? row : 0;
    CopyAsync16OrZero(s_x + row * stride + piece * 8, x + source_row * ldx + i0 + piece * 8,
                      row < rows);
  }
  CopyAsyncCommit();
  CopyAsyncWait();
  __syncthreads();

  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int row_tile = warp % kRowWarps, half = warp / kRowWarps;
  // The warp's output tiles of 16: half, half + kHalves, ...
  constexpr int kWarpTiles = (kTiles + kHalves - 1) / kHalves;
  // A warp without a row tile or an output tile has no product to do (but a residual's count
  // waits for all the block's warps).
  const bool multiplies = row_tile < row_tiles && half < kTiles;
  if (!kResidual && !multiplies) return;
  float acc[2 * kWarpTiles][4] = {};
  // ldmatrix addresses: for the input rows, lane l gives row l % 16 at column 8 (l / 16) (the
  // four 8 x 8 quarters of the 16 x 16 fragment in the order mma reads them); for the weights,
  // output l % 8 + 8 (l / 16) at column 8 ((l / 8) % 2): two output tiles of 8, each its
  // columns 0-7 and 8-15.
  const T* a_row = s_x + (row_tile * 16 + lane % 16) * stride + (lane / 16) * 8;
  const T* b_row = s_weight + (lane % 8 + (lane / 16) * 8) * stride + ((lane / 8) % 2) * 8;
  for (int k = 0; multiplies && k < block_in; k += 16) {
    uint32_t a[4];
    LoadMatrices(a, a_row + k);
#pragma unroll
    for (int w = 0; w < kWarpTiles; ++w) {
      const int t = kHalves * w + half;
      if (t >= kTiles) break;
      uint32_t b[4];
      LoadMatrices(b, b_row + t * 16 * stride + k);
      Mma<T>(acc[2 * w], a, b[0], b[1]);
      Mma<T>(acc[2 * w + 1], a, b[2], b[3]);
    }
  }
  // Accumulator n of tile t: rows lane / 4 and lane / 4 + 8, outputs 16 t + 8 n + 2 (lane % 4)
  // and the next.
  float* slice = parts + int64_t{blockIdx.y} * rows * out;
  const int r0 = row_tile * 16 + lane / 4;
#pragma unroll
  for (int n = 0; n < 2 * kWarpTiles; ++n) {
    const int t = kHalves * (n / 2) + half;
    if (t >= kTiles || !multiplies) break;
    const int64_t o = o0 + t * 16 + (n % 2) * 8 + (lane % 4) * 2;
    if (r0 < rows) {
      *reinterpret_cast<float2*>(slice + r0 * out + o) = make_float2(acc[n][0], acc[n][1]);
    }
    if (r0 + 8 < rows) {
      *reinterpret_cast<float2*>(slice + (r0 + 8) * out + o) = make_float2(acc[n][2], acc[n][3]);
    }
  }
  if constexpr (kResidual) {
    // The tile's last block to finish its slice adds them all (LastBlockToFinish).
    if (!LastBlockToFinish(residual.tile_counters + blockIdx.x, static_cast<int>(gridDim.y))) {
      return;
    }
    FinishResidual<T, kTiles>(residual, parts, static_cast<int>(gridDim.y), rows, out,
                              static_cast<int>(blockIdx.x), o0);
  }
}

template <typename T, int kTiles, bool kResidual>
cudaError_t Launch(const void* x, int64_t rows, int64_t ldx, const void* weight, int64_t in,
                   int64_t out, const SplitLinearShape& shape, float* parts, bool programmatic,
                   cudaStream_t stream, const SplitResidual& residual) {
  const int64_t bytes = SharedBytes(shape.block_out, shape.block_in, rows);
  auto* kernel = SplitLinearKernel<T, kTiles, kResidual>;
  if (bytes > 48 * 1024) {
    const cudaError_t raised = cudaFuncSetAttribute(
        kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    if (raised != cudaSuccess) return raised;
  }
  const dim3 grid(static_cast<unsigned int>(out / shape.block_out),
                  static_cast<unsigned int>(shape.splits));
  return LaunchKernel(programmatic, kernel, grid, dim3(kThreads), static_cast<size_t>(bytes),
                      stream, static_cast<const T*>(x), static_cast<int>(rows), ldx,
                      static_cast<const T*>(weight), in, out, static_cast<int>(shape.block_in),
                      parts, residual);
}

template <typename T>
cudaError_t LaunchForTiles(int64_t tiles, const void* x, int64_t rows, int64_t ldx,
                           const void* weight, int64_t in, int64_t out,
                           const SplitLinearShape& shape, float* parts, bool programmatic,
                           cudaStream_t stream, const SplitResidual* residual) {
  // A residual only for 1, 2, 4 or 8 tiles (SplitResidualApplies, checked by the caller).
  switch (tiles) {
#define LLIVE_SPLIT_TILES(n)                                                                      \
  case n:                                                                                         \
    if constexpr ((n & (n - 1)) == 0) {                                                           \
      if (residual != nullptr) {                                                                  \
        return Launch<T, n, true>(x, rows, ldx, weight, in, out, shape, parts, programmatic,      \
                                  stream, *residual);                                             \
      }                                                                                           \
    }                                                                                             \
    return Launch<T, n, false>(x, rows, ldx, weight, in, out, shape, parts, programmatic, stream, \
                               SplitResidual{});
    LLIVE_SPLIT_TILES(1)
    LLIVE_SPLIT_TILES(2)
    LLIVE_SPLIT_TILES(3)
    LLIVE_SPLIT_TILES(4)
    LLIVE_SPLIT_TILES(5)
    LLIVE_SPLIT_TILES(6)
    LLIVE_SPLIT_TILES(7)
    LLIVE_SPLIT_TILES(8)
#undef LLIVE_SPLIT_TILES
    default:
      return cudaErrorInvalidValue;
  }
}

}  // namespace

absl::StatusOr<SplitLinearShape> ChooseSplitLinear(int64_t in, int64_t out, int64_t target_blocks) {
  SplitLinearShape shape;
  if (out <= 0 || out % 16 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("split linear: ", out, " outputs are not a multiple of 16"));
  }
  // All outputs in one tile up to 128 (x_proj: its slices are few), else the widest of 64, 48,
  // 32, 16 that divides them.
  shape.block_out = out <= 16 * kMaxTiles ? out : 16;
  for (int64_t width : {64, 48, 32}) {
    if (out > 16 * kMaxTiles && out % width == 0) {
      shape.block_out = width;
      break;
    }
  }
  if (in <= 0 || in % 16 != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("split linear: ", in, " inputs are not a multiple of 16"));
  }
  const int64_t column_blocks = out / shape.block_out;
  // The slice count nearest the target among those that cut `in` into multiples of 16 that fit
  // in shared memory (ties to fewer slices: fewer partial sums for the consumer to add).
  const int64_t max_shared_bytes = MaxSharedBytes();
  int64_t best_distance = -1;
  for (int64_t splits = 1; splits <= in / 16; ++splits) {
    if ((in / 16) % splits != 0) continue;
    const int64_t block_in = in / splits;
    if (SharedBytes(shape.block_out, block_in, kSplitLinearMaxRows) > max_shared_bytes) continue;
    const int64_t distance = std::abs(column_blocks * splits - target_blocks);
    if (best_distance < 0 || distance < best_distance) {
      best_distance = distance;
      shape.splits = splits;
      shape.block_in = block_in;
    }
  }
  if (best_distance < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("split linear: no slicing of ", in, " inputs fits in shared memory"));
  }
  return shape;
}

bool SplitLinearShapeValid(const SplitLinearShape& shape, int64_t in, int64_t out) {
  return shape.block_out > 0 && shape.block_out % 16 == 0 && shape.block_out <= 16 * kMaxTiles &&
         out % shape.block_out == 0 && shape.block_in > 0 && shape.block_in % 16 == 0 &&
         shape.splits >= 1 && shape.block_in * shape.splits == in &&
         SharedBytes(shape.block_out, shape.block_in, kSplitLinearMaxRows) <= MaxSharedBytes();
}

bool SplitResidualApplies(const SplitLinearShape& shape) {
  return shape.block_out == 16 || shape.block_out == 32 || shape.block_out == 64 ||
         shape.block_out == 128;
}

absl::Status SplitLinear(const void* x, int64_t rows, int64_t ldx, const void* weight,
                         WeightDtype dtype, int64_t in, int64_t out, const SplitLinearShape& shape,
                         float* parts, bool programmatic, cudaStream_t stream,
                         const SplitResidual* residual) {
  if (rows < 1 || rows > kSplitLinearMaxRows || ldx < in || ldx % 8 != 0 ||
      reinterpret_cast<uintptr_t>(x) % 16 != 0 || reinterpret_cast<uintptr_t>(weight) % 16 != 0 ||
      reinterpret_cast<uintptr_t>(parts) % 8 != 0 || !SplitLinearShapeValid(shape, in, out)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "split linear: unsupported operands (rows ", rows, ", in ", in, ", out ", out, ", ldx ",
        ldx, ", tiles ", shape.block_out, " x ", shape.block_in, ", ", shape.splits, " slices)"));
  }
  if (dtype == WeightDtype::kFp32) {
    return absl::InvalidArgumentError("split linear: bf16 or fp16 weights only, not fp32");
  }
  if (residual != nullptr) {
    const auto aligned = [](const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; };
    if (!SplitResidualApplies(shape) || residual->x == nullptr || !aligned(residual->x) ||
        !aligned(residual->norm_weight) || !aligned(parts) || residual->scaled == nullptr ||
        reinterpret_cast<uintptr_t>(residual->scaled) % 8 != 0 || residual->row_sumsq == nullptr ||
        residual->tile_counters == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat(
          "split linear with a residual: tiles of 16, 32, 64 or 128 outputs (got ", shape.block_out,
          ") and x, the norm weight and the slices 16-byte aligned, the scaled "
          "rows 8-byte aligned, sums and counters given"));
    }
  }
  const int64_t tiles = shape.block_out / 16;
  const cudaError_t launched =
      dtype == WeightDtype::kBf16
          ? LaunchForTiles<__nv_bfloat16>(tiles, x, rows, ldx, weight, in, out, shape, parts,
                                          programmatic, stream, residual)
          : LaunchForTiles<__half>(tiles, x, rows, ldx, weight, in, out, shape, parts, programmatic,
                                   stream, residual);
  return CudaStatus(launched, "launch of the split linear kernel");
}

}  // namespace llive::backends::cuda
