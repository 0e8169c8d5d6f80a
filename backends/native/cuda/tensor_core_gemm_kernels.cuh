// The tensor-core linear kernel for a few dozen rows (a batched decode step) as a template, for
// tensor_core_gemm.cu's launches and for fused epilogues elsewhere (the Mamba decode step's
// in_proj with its convolution, mamba_cuda_kernels.cu).
//
// Between the skinny kernels (one warp per output, up to 8 rows on the CUDA cores) and a GEMM
// library's tiles (made for hundreds of rows: at 64 rows cuBLAS read Mamba's in_proj weights at
// under 1 TB/s on the H200, and the RMSNorm before it and the convolution after it are launches
// of their own): each block first puts all the input rows (up to 64, RMS-normalised on the way
// where asked) into shared memory, then takes tiles of 64 outputs in turn; each of its 8 warps
// streams the weight rows of 8 outputs once with 16-byte loads, several in flight, and
// multiplies them against all the rows with mma.sync (m16n8k16, fp32 accumulation). No sums
// are split between warps, so each output is one warp's, in a fixed order.
//
// The 16-byte loads hold 8 consecutive inner elements of a row. Thread (g, t) of a warp
// (g = lane / 4, t = lane % 4) takes elements k..k+7 with k = chunk + 8t, of input rows g and
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
inline constexpr int kColumns = 8 * kWarps;  // outputs a tile: 8 a warp
inline constexpr int kChunk = 32;            // inner elements of one step of a warp
inline constexpr int kInFlight = 16;         // weight loads a thread issues before using them
inline constexpr int kMaxRowTiles = 4;       // 64 rows
// Row stride of the inputs in shared memory, in elements: 32 more than `in`, so that (for `in`
// a multiple of 64) rows g and g + 1 start 64 bytes apart in the banks and the 16-byte reads of
// each quarter warp (rows g, g + 1, 4 x 16 bytes each) meet no bank twice.
__host__ __device__ inline constexpr int64_t RowStride(int64_t in) { return in + 32; }
inline constexpr int64_t SharedBytes(int row_tiles, int64_t in) {
  return int64_t{row_tiles} * 16 * RowStride(in) * 2;
}
// The shared memory a block may take (of the H100/H200's 227 KB).
inline constexpr int64_t kMaxSharedBytes = 200 * 1024;

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

// Input rows in T with stride ldx, copied into shared memory as they are.
template <typename T>
struct PlainRows {
  const T* x;
  int64_t ldx;
  // Row r of the input into s_rows (stride RowStride(in)) by one warp.
  __device__ __forceinline__ void StageRow(int r, int64_t in, T* s_row) const {
    for (int64_t k = (threadIdx.x % 32) * 8; k < in; k += 32 * 8) {
      *reinterpret_cast<uint4*>(s_row + k) = __ldg(reinterpret_cast<const uint4*>(x + r * ldx + k));
    }
  }
};

// fp32 rows of stride ldx (the residual stream), RMS-normalised and scaled by norm_weight on
// the way into shared memory, each value rounded to T as an unfused RMSNorm writing T would.
template <typename T>
struct NormRows {
  const float* x;
  int64_t ldx;
  const float* norm_weight;
  float eps;
  __device__ __forceinline__ void StageRow(int r, int64_t in, T* s_row) const {
    const int lane = threadIdx.x % 32;
    const float* row = x + r * ldx;
    float sum = 0.0f;
    for (int64_t k = lane * 4; k < in; k += 32 * 4) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(row + k));
      sum += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
    }
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    const float scale = 1.0f / sqrtf(sum / static_cast<float>(in) + eps);
    for (int64_t k = lane * 4; k < in; k += 32 * 4) {
      const float4 v = __ldg(reinterpret_cast<const float4*>(row + k));
      const float4 w = __ldg(reinterpret_cast<const float4*>(norm_weight + k));
      s_row[k] = static_cast<T>(v.x * scale * w.x);
      s_row[k + 1] = static_cast<T>(v.y * scale * w.y);
      s_row[k + 2] = static_cast<T>(v.z * scale * w.z);
      s_row[k + 3] = static_cast<T>(v.w * scale * w.w);
    }
  }
};

// value(r, o) = sum_i input(r, i) * weight[o * in + i] for r < rows (at most 16 * MT) and
// o < out, handed to output(r, o, value, output.Prefetch(r, o)) once each. `in` is a multiple
// of 8, the rows and weights 16-byte aligned, SharedBytes(MT, in) of dynamic shared memory
// (TensorCoreLinearApplies).
template <typename T, int MT, typename Input, typename Output>
__global__ void __launch_bounds__(kThreads)
    TensorCoreKernel(Input input, int rows, int64_t in, const T* weight, int64_t out,
                     Output output) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  T* s_rows = reinterpret_cast<T*>(shared_bytes);  // [16 * MT][RowStride(in)]
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int g = lane / 4, t = lane % 4;
  const int64_t stride = RowStride(in);
  WaitThenRelease();
  for (int r = warp; r < 16 * MT; r += kWarps) {
    T* s_row = s_rows + r * stride;
    if (r < rows) {
      input.StageRow(r, in, s_row);
    } else {
      for (int64_t k = lane * 8; k < in; k += 32 * 8) {
        *reinterpret_cast<uint4*>(s_row + k) = make_uint4(0, 0, 0, 0);
      }
    }
  }
  __syncthreads();

  const int64_t tiles = (out + kColumns - 1) / kColumns;
  for (int64_t tile = blockIdx.x; tile < tiles; tile += gridDim.x) {
    const int64_t o_warp = tile * kColumns + warp * 8;  // the warp's first output
    if (o_warp >= out) continue;                        // no barrier below: warps may leave
    const int64_t o_load = o_warp + g < out ? o_warp + g : out - 1;  // rows past `out`: a copy
    const T* w_row = weight + o_load * in;
    float acc[MT][4];
#pragma unroll
    for (int m = 0; m < MT; ++m) {
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[m][e] = 0.0f;
    }
    for (int64_t base = 0; base < in; base += kInFlight * kChunk) {
      uint4 b[kInFlight];
#pragma unroll
      for (int i = 0; i < kInFlight; ++i) {
        const int64_t k = base + i * kChunk + 8 * t;
        b[i] = k < in ? __ldg(reinterpret_cast<const uint4*>(w_row + k)) : make_uint4(0, 0, 0, 0);
      }
#pragma unroll
      for (int i = 0; i < kInFlight; ++i) {
        const int64_t k = base + i * kChunk + 8 * t;
        if (base + i * kChunk >= in) break;  // the same for the whole warp
        const bool k_valid = k < in;         // b[i] is zero past `in`: a's value is irrelevant
#pragma unroll
        for (int m = 0; m < MT; ++m) {
          const T* row_low = s_rows + (16 * m + g) * stride;
          const uint4 a_low =
              k_valid ? *reinterpret_cast<const uint4*>(row_low + k) : make_uint4(0, 0, 0, 0);
          const uint4 a_high = k_valid ? *reinterpret_cast<const uint4*>(row_low + 8 * stride + k)
                                       : make_uint4(0, 0, 0, 0);
          Mma<T>(acc[m], a_low.x, a_high.x, a_low.y, a_high.y, b[i].x, b[i].y);
          Mma<T>(acc[m], a_low.z, a_high.z, a_low.w, a_high.w, b[i].z, b[i].w);
        }
      }
    }
    // acc[m]: rows 16m + g (elements 0, 1) and 16m + g + 8 (2, 3), outputs o_warp + 2t, + 1.
#pragma unroll
    for (int m = 0; m < MT; ++m) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = 16 * m + g + (e >= 2 ? 8 : 0);
        const int64_t o = o_warp + 2 * t + (e % 2);
        if (r < rows && o < out) output(r, o, acc[m][e], output.Prefetch(r, o));
      }
    }
  }
}

// Blocks for `tiles` tiles of outputs: one a tile up to the GPU's multiprocessor count (each
// block stages the inputs once, so more blocks than multiprocessors only repeat that).
inline unsigned int Blocks(int64_t tiles) {
  static const int multiprocessors = [] {
    int device = 0, count = 0;
    if (cudaGetDevice(&device) != cudaSuccess ||
        cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device) != cudaSuccess) {
      cudaGetLastError();
      return 132;
    }
    return count;
  }();
  return static_cast<unsigned int>(tiles < multiprocessors ? tiles : multiprocessors);
}

// Launches TensorCoreKernel with the fewest row tiles of 16 that hold `rows` (1..64), raising
// the kernel's shared memory limit where it needs more than 48 KB.
template <typename T, typename Input, typename Output>
cudaError_t LaunchTensorCore(bool programmatic, const Input& input, int64_t rows, int64_t in,
                             const T* weight, int64_t out, const Output& output,
                             cudaStream_t stream) {
  const dim3 grid(Blocks((out + kColumns - 1) / kColumns)), block(kThreads);
  const int n = static_cast<int>(rows);
  auto launch = [&](auto kernel, int row_tiles) {
    const int64_t bytes = SharedBytes(row_tiles, in);
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
