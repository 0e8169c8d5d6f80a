// The tensor-core linear kernel for a few dozen rows (a batched decode step) as a template, for
// tensor_core_gemm.cu's launches and for fused epilogues elsewhere (the Mamba decode step's
// in_proj with its convolution, mamba_cuda_kernels.cu).
//
// Between the skinny kernels (one warp per output, up to 8 rows on the CUDA cores) and a GEMM
// library's tiles (made for hundreds of rows: at 64 rows cuBLAS read Mamba's in_proj weights at
// under 1 TB/s on the H200): a block takes 32 outputs for every row (up to 64), its 8 warps
// split the inner dimension, each warp streams its share of the 32 weight rows once with
// 16-byte loads and multiplies it against all the rows with mma.sync (m16n8k16, fp32
// accumulation), and the warps' partial sums are added in a fixed order through shared memory.
//
// The 16-byte loads hold 8 consecutive inner elements of a row. Thread (g, t) of a warp
// (g = lane / 4, t = lane % 4) loads elements k..k+7 with k = chunk + 8t, of input rows g and
// g + 8 and of weight row g, and hands them to two m16n8k16 products: elements k, k+1 and k+2,
// k+3 in the places of inner indices 2t, 2t+1 and 2t+8, 2t+9 of the first, k+4..k+7 in the
// same places of the second. Inputs and weights are permuted alike, so each product still sums
// input times weight over the 32 inner elements of the chunk, each once.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>
#include <type_traits>

#include "backends/native/cuda/programmatic_launch.cuh"
#include "backends/native/cuda/skinny_gemm_kernels.cuh"

namespace llive::backends::cuda::tensor_core {

inline constexpr int kWarps = 8;
inline constexpr int kThreads = kWarps * 32;
inline constexpr int kColumns = 32;     // outputs a block: 4 tiles of 8
inline constexpr int kChunk = 32;       // inner elements a warp takes at once
inline constexpr int kMaxRowTiles = 4;  // 64 rows
// Row stride of the partial sums in shared memory: with 8-byte stores of (row g, columns 2t,
// 2t+1), 40 floats put the 16 lanes of each half warp on 32 different banks.
inline constexpr int kPartialStride = 40;

inline constexpr int64_t SharedBytes(int row_tiles) {
  return int64_t{kWarps} * row_tiles * 16 * kPartialStride * sizeof(float);
}

// D += A B for one m16n8k16 tile, operands of T (bf16 or fp16), fp32 accumulators.
template <typename T>
__device__ __forceinline__ void Mma(float d[4], uint32_t a0, uint32_t a1, uint32_t a2, uint32_t a3,
                                    uint32_t b0, uint32_t b1) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  if constexpr (std::is_same_v<T, __nv_bfloat16>) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
  } else {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
        "{%8,%9}, {%0,%1,%2,%3};"
        : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
        : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
  }
#else
  __trap();  // launches check the architecture first (TensorCoreLinearApplies)
#endif
}

// Input rows in T with stride ldx. Rows from `rows` on read as zeros.
template <typename T>
struct PlainRows {
  const T* x;
  int64_t ldx;
  __device__ __forceinline__ void Prepare(int /*rows*/, int64_t /*in*/) {}
  __device__ __forceinline__ uint4 Load(int r, int rows, int64_t k) const {
    if (r >= rows) return make_uint4(0, 0, 0, 0);
    return __ldg(reinterpret_cast<const uint4*>(x + r * ldx + k));
  }
};

// fp32 rows of stride ldx (the residual stream), RMS-normalised and scaled by norm_weight on
// the fly, each value rounded to T as an unfused RMSNorm writing T would. Every block sums the
// rows' squares itself first.
template <typename T>
struct NormRows {
  const float* x;
  int64_t ldx;
  const float* norm_weight;
  float eps;
  const float* scale;  // the block's shared row scales, set by Prepare
  __device__ __forceinline__ void Prepare(int rows, int64_t in) {
    __shared__ float shared_scale[kMaxRowTiles * 16];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    for (int r = warp; r < rows; r += kWarps) {
      float sum = 0.0f;
      for (int64_t i = lane; i < in; i += 32) sum += x[r * ldx + i] * x[r * ldx + i];
      for (int offset = 16; offset > 0; offset /= 2) {
        sum += __shfl_xor_sync(0xffffffffu, sum, offset);
      }
      if (lane == 0) shared_scale[r] = 1.0f / sqrtf(sum / static_cast<float>(in) + eps);
    }
    scale = shared_scale;
    __syncthreads();
  }
  __device__ __forceinline__ uint4 Load(int r, int rows, int64_t k) const {
    if (r >= rows) return make_uint4(0, 0, 0, 0);
    const float4* xs = reinterpret_cast<const float4*>(x + r * ldx + k);
    const float4* ns = reinterpret_cast<const float4*>(norm_weight + k);
    const float4 x0 = __ldg(xs), x1 = __ldg(xs + 1), n0 = __ldg(ns), n1 = __ldg(ns + 1);
    const float s = scale[r];
    const float values[8] = {x0.x * s * n0.x, x0.y * s * n0.y, x0.z * s * n0.z, x0.w * s * n0.w,
                             x1.x * s * n1.x, x1.y * s * n1.y, x1.z * s * n1.z, x1.w * s * n1.w};
    uint4 packed;
    T* items = reinterpret_cast<T*>(&packed);
#pragma unroll
    for (int i = 0; i < 8; ++i) items[i] = static_cast<T>(skinny::RoundTo<T>(values[i]));
    return packed;
  }
};

// value(r, o) = sum_i input(r, i) * weight[o * in + i] for r < rows (at most 16 * MT) and
// o < out, handed to output(r, o, value, output.Prefetch(r, o)) once each. `in` is a multiple
// of 8, the rows and weights 16-byte aligned (TensorCoreLinearApplies).
template <typename T, int MT, typename Input, typename Output>
__global__ void __launch_bounds__(kThreads)
    TensorCoreKernel(Input input, int rows, int64_t in, const T* weight, int64_t out,
                     Output output) {
  extern __shared__ __align__(16) float partial[];  // [kWarps][16 * MT][kPartialStride]
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int g = lane / 4, t = lane % 4;
  const int64_t o0 = int64_t{blockIdx.x} * kColumns;
  WaitThenRelease();
  input.Prepare(rows, in);  // block-wide (may synchronise): before any thread leaves

  float acc[MT][4][4];
#pragma unroll
  for (int m = 0; m < MT; ++m) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][j][e] = 0.0f;
    }
  }
  // Weight rows o0 + 8j + g; rows past `out` read as zeros.
  const T* w_rows[4];
  bool w_valid[4];
#pragma unroll
  for (int j = 0; j < 4; ++j) {
    const int64_t o = o0 + 8 * j + g;
    w_valid[j] = o < out;
    w_rows[j] = weight + (w_valid[j] ? o : 0) * in;
  }
#pragma unroll 2
  for (int64_t chunk = int64_t{warp} * kChunk; chunk < in; chunk += int64_t{kWarps} * kChunk) {
    const int64_t k = chunk + 8 * t;
    const bool k_valid = k < in;
    uint4 b[4];
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      b[j] = w_valid[j] && k_valid ? __ldg(reinterpret_cast<const uint4*>(w_rows[j] + k))
                                   : make_uint4(0, 0, 0, 0);
    }
    uint4 a_low[MT], a_high[MT];
#pragma unroll
    for (int m = 0; m < MT; ++m) {
      a_low[m] = k_valid ? input.Load(16 * m + g, rows, k) : make_uint4(0, 0, 0, 0);
      a_high[m] = k_valid ? input.Load(16 * m + g + 8, rows, k) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int m = 0; m < MT; ++m) {
#pragma unroll
      for (int j = 0; j < 4; ++j) {
        Mma<T>(acc[m][j], a_low[m].x, a_high[m].x, a_low[m].y, a_high[m].y, b[j].x, b[j].y);
        Mma<T>(acc[m][j], a_low[m].z, a_high[m].z, a_low[m].w, a_high[m].w, b[j].z, b[j].w);
      }
    }
  }
  // Accumulator (m, j): rows 16m + g and 16m + g + 8, columns 8j + 2t and 8j + 2t + 1.
  float* mine = partial + warp * (16 * MT * kPartialStride);
#pragma unroll
  for (int m = 0; m < MT; ++m) {
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      const int column = 8 * j + 2 * t;
      *reinterpret_cast<float2*>(mine + (16 * m + g) * kPartialStride + column) =
          make_float2(acc[m][j][0], acc[m][j][1]);
      *reinterpret_cast<float2*>(mine + (16 * m + g + 8) * kPartialStride + column) =
          make_float2(acc[m][j][2], acc[m][j][3]);
    }
  }
  __syncthreads();
  // Consecutive threads take consecutive outputs of a row: coalesced stores.
  for (int index = threadIdx.x; index < rows * kColumns; index += kThreads) {
    const int r = index / kColumns, column = index % kColumns;
    const int64_t o = o0 + column;
    if (o >= out) continue;
    float value = 0.0f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) value += partial[(w * 16 * MT + r) * kPartialStride + column];
    output(r, o, value, output.Prefetch(r, o));
  }
}

// Launches TensorCoreKernel with the fewest row tiles of 16 that hold `rows` (1..64), raising
// the kernel's shared memory limit where it needs more than 48 KB.
template <typename T, typename Input, typename Output>
cudaError_t LaunchTensorCore(bool programmatic, const Input& input, int64_t rows, int64_t in,
                             const T* weight, int64_t out, const Output& output,
                             cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned int>((out + kColumns - 1) / kColumns)), block(kThreads);
  const int n = static_cast<int>(rows);
  auto launch = [&](auto kernel, int row_tiles) {
    const int64_t bytes = SharedBytes(row_tiles);
    if (bytes > 48 * 1024) {
      const cudaError_t raised = cudaFuncSetAttribute(
          kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
      if (raised != cudaSuccess) return raised;
    }
    return LaunchKernel(programmatic, kernel, grid, block, static_cast<size_t>(bytes), stream,
                        input, n, in, weight, out, output);
  };
  if (rows <= 16) return launch(TensorCoreKernel<T, 1, Input, Output>, 1);
  if (rows <= 32) return launch(TensorCoreKernel<T, 2, Input, Output>, 2);
  if (rows <= 48) return launch(TensorCoreKernel<T, 3, Input, Output>, 3);
  return launch(TensorCoreKernel<T, 4, Input, Output>, 4);
}

}  // namespace llive::backends::cuda::tensor_core
