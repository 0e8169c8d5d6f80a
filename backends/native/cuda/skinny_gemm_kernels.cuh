// The skinny linear kernel as a template, for skinny_gemm.cu's launches and for fused
// epilogues elsewhere (the Mamba decode step's in_proj with its convolution,
// mamba_cuda_kernels.cu): a warp per output row of the weights, 8 warps a block, the weight
// row streamed once with 16-byte loads and applied to every input row (at most 8).
//
// Launched with programmatic dependent launch (programmatic_launch.cuh), a warp loads its
// whole weight row into registers (up to kPreloadPieces 16-byte pieces a lane: 2,048 bf16 or
// fp16 inputs, 1,024 fp32) before it waits for the kernel before it, so that the weights'
// memory latency overlaps that kernel's tail; longer rows are streamed after the wait.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backends/native/cuda/programmatic_launch.cuh"

namespace llive::backends::cuda::skinny {

inline constexpr int kWarpsPerBlock = 8;
inline constexpr int kPreloadPieces = 8;

// The 16 bytes of `raw` as fp32 values (8 bf16/fp16 or 4 fp32).
template <typename T>
struct Vector {
  static constexpr int kCount = 16 / sizeof(T);
  float values[kCount];
  __device__ __forceinline__ explicit Vector(const uint4& raw) {
    const T* items = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int k = 0; k < kCount; ++k) values[k] = static_cast<float>(items[k]);
  }
  __device__ __forceinline__ explicit Vector(const T* p)
      : Vector(__ldg(reinterpret_cast<const uint4*>(p))) {}
};

template <typename T>
__device__ __forceinline__ void Store(T* p, float value) {
  *p = static_cast<T>(value);
}
template <>
__device__ __forceinline__ void Store(__nv_bfloat16* p, float value) {
  *p = __float2bfloat16_rn(value);
}
template <>
__device__ __forceinline__ void Store(__half* p, float value) {
  *p = __float2half_rn(value);
}

// value rounded to T and back, as storing it in T and reading it again would.
template <typename T>
__device__ __forceinline__ float RoundTo(float value) {
  return static_cast<float>(static_cast<T>(value));
}
template <>
__device__ __forceinline__ float RoundTo<float>(float value) {
  return value;
}
template <>
__device__ __forceinline__ float RoundTo<__nv_bfloat16>(float value) {
  return __bfloat162float(__float2bfloat16_rn(value));
}
template <>
__device__ __forceinline__ float RoundTo<__half>(float value) {
  return __half2float(__float2half_rn(value));
}

// Input rows in the weights' type T, stride ldx.
template <typename T>
struct PlainInput {
  const T* x;
  int64_t ldx;
  struct Piece {};
  __device__ __forceinline__ void Prepare(int /*rows*/, int64_t /*in*/) {}
  __device__ __forceinline__ Piece PieceAt(int64_t /*i*/) const { return {}; }
  __device__ __forceinline__ void Load(const Piece&, int r, int64_t i,
                                       float out[Vector<T>::kCount]) const {
    const Vector<T> v(x + r * ldx + i);
#pragma unroll
    for (int k = 0; k < Vector<T>::kCount; ++k) out[k] = v.values[k];
  }
};

// fp32 rows of stride ldx (the residual stream), RMS-normalised and scaled by norm_weight on
// the fly, each value rounded to T as an unfused RMSNorm writing T would: every block sums
// the rows' squares itself (warp r row r) rather than waiting for another kernel.
template <typename T, int R>
struct NormInput {
  const float* x;
  int64_t ldx;
  const float* norm_weight;
  float eps;
  float scale[R];
  struct Piece {
    float norm[Vector<T>::kCount];
  };
  __device__ __forceinline__ void Prepare(int rows, int64_t in) {
    static_assert(R <= kWarpsPerBlock, "a warp a row for the norms");
    __shared__ float shared_scale[R];
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
    if (warp < R) {
      float sum = 0.0f;
      if (warp < rows) {
        for (int64_t i = lane; i < in; i += 32) sum += x[warp * ldx + i] * x[warp * ldx + i];
      }
      for (int offset = 16; offset > 0; offset /= 2) {
        sum += __shfl_xor_sync(0xffffffffu, sum, offset);
      }
      if (lane == 0) shared_scale[warp] = 1.0f / sqrtf(sum / static_cast<float>(in) + eps);
    }
    __syncthreads();
#pragma unroll
    for (int r = 0; r < R; ++r) scale[r] = shared_scale[r];
  }
  __device__ __forceinline__ Piece PieceAt(int64_t i) const {
    Piece piece;
#pragma unroll
    for (int k = 0; k < Vector<T>::kCount; ++k) piece.norm[k] = __ldg(norm_weight + i + k);
    return piece;
  }
  __device__ __forceinline__ void Load(const Piece& piece, int r, int64_t i,
                                       float out[Vector<T>::kCount]) const {
    constexpr int V = Vector<T>::kCount;
    float xs[V];
#pragma unroll
    for (int q = 0; q < V / 4; ++q) {
      const float4 x4 = __ldg(reinterpret_cast<const float4*>(x + r * ldx + i) + q);
      xs[4 * q] = x4.x, xs[4 * q + 1] = x4.y, xs[4 * q + 2] = x4.z, xs[4 * q + 3] = x4.w;
    }
    float s = 0.0f;
#pragma unroll
    for (int q = 0; q < R; ++q) {
      if (q == r) s = scale[q];
    }
#pragma unroll
    for (int k = 0; k < V; ++k) out[k] = RoundTo<T>(xs[k] * s * piece.norm[k]);
  }
};

// y[r * ldy + o] = alpha * value + beta * y[r * ldy + o] (beta 0 reads nothing). An output
// policy's Prefetch(r, o) runs before the products, so that what its operator() reads
// besides the value is already in registers when the sums are done.
template <typename Y>
struct StoreOutput {
  Y* y;
  int64_t ldy;
  float alpha;
  float beta;
  struct Prefetched {
    float previous;
  };
  __device__ __forceinline__ Prefetched Prefetch(int r, int64_t o) const {
    return {beta != 0.0f ? static_cast<float>(y[r * ldy + o]) : 0.0f};
  }
  __device__ __forceinline__ void operator()(int r, int64_t o, float value,
                                             const Prefetched& prefetched) const {
    Store(y + r * ldy + o, alpha * value + beta * prefetched.previous);
  }
};

// value_r,o = sum_i input(r, i) * weight[o * in + i] for rows <= R inputs, handed to
// output(r, o, value) by lane r of output o's warp.
template <typename T, int R, typename Input, typename Output>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    SkinnyKernel(Input input, int rows, int64_t in, const T* weight, int64_t out, Output output) {
  constexpr int V = Vector<T>::kCount;
  const int lane = threadIdx.x % 32;
  const int64_t o = int64_t{blockIdx.x} * kWarpsPerBlock + threadIdx.x / 32;
  const bool has_output = o < out;
  const T* w = weight + (has_output ? o : 0) * in;
  const bool preloaded = in <= int64_t{kPreloadPieces} * 32 * V;
  uint4 held[kPreloadPieces];
  if (preloaded && has_output) {
#pragma unroll
    for (int j = 0; j < kPreloadPieces; ++j) {
      const int64_t i = (lane + 32 * j) * int64_t{V};
      if (i < in) held[j] = __ldg(reinterpret_cast<const uint4*>(w + i));
    }
  }
  WaitThenRelease();
  input.Prepare(rows, in);  // block-wide (may synchronise): before any thread leaves
  if (!has_output) return;
  typename Output::Prefetched prefetched{};
  if (lane < rows) prefetched = output.Prefetch(lane, o);
  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = 0.0f;
  auto accumulate = [&](const Vector<T>& wv, int64_t i) {
    const typename Input::Piece piece = input.PieceAt(i);
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (r < rows) {
        float xv[V];
        input.Load(piece, r, i, xv);
#pragma unroll
        for (int k = 0; k < V; ++k) acc[r] += wv.values[k] * xv[k];
      }
    }
  };
  if (preloaded) {
#pragma unroll
    for (int j = 0; j < kPreloadPieces; ++j) {
      const int64_t i = (lane + 32 * j) * int64_t{V};
      if (i < in) accumulate(Vector<T>(held[j]), i);
    }
  } else {
    // Unrolled so that several 16-byte weight loads are in flight at once.
#pragma unroll 4
    for (int64_t i = lane * V; i < in; i += 32 * V) accumulate(Vector<T>(w + i), i);
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    for (int offset = 16; offset > 0; offset /= 2) {
      acc[r] += __shfl_xor_sync(0xffffffffu, acc[r], offset);
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    if (r < rows && lane == r) output(r, o, acc[r], prefetched);
  }
}

// The input policies by row count, for LaunchSkinny's InputFor.
template <typename T>
struct InputsOf {
  template <int R>
  using Plain = PlainInput<T>;
  template <int R>
  using Norm = NormInput<T, R>;
};

// LaunchSkinny's make_input for fp32 rows RMS-normalised on the fly (NormInput).
inline auto NormRows(const float* x, int64_t ldx, const float* norm_weight, float eps) {
  return [=](auto input) {
    input.x = x;
    input.ldx = ldx;
    input.norm_weight = norm_weight;
    input.eps = eps;
    return input;
  };
}

// Blocks for `out` outputs.
inline unsigned int Blocks(int64_t out) {
  return static_cast<unsigned int>((out + kWarpsPerBlock - 1) / kWarpsPerBlock);
}

// Launches SkinnyKernel with R = the smallest of 1, 2, 4, 8 that holds `rows` (1..8).
template <typename T, template <int> class InputFor, typename Output, typename MakeInput>
cudaError_t LaunchSkinny(MakeInput make_input, int64_t rows, int64_t in, const T* weight,
                         int64_t out, const Output& output, cudaStream_t stream) {
  const dim3 grid(Blocks(out)), block(kWarpsPerBlock * 32);
  const int n = static_cast<int>(rows);
  if (rows <= 1) {
    return LaunchKernel(MambaProgrammaticLaunch(), SkinnyKernel<T, 1, InputFor<1>, Output>, grid,
                        block, 0, stream, make_input(InputFor<1>{}), n, in, weight, out, output);
  }
  if (rows <= 2) {
    return LaunchKernel(MambaProgrammaticLaunch(), SkinnyKernel<T, 2, InputFor<2>, Output>, grid,
                        block, 0, stream, make_input(InputFor<2>{}), n, in, weight, out, output);
  }
  if (rows <= 4) {
    return LaunchKernel(MambaProgrammaticLaunch(), SkinnyKernel<T, 4, InputFor<4>, Output>, grid,
                        block, 0, stream, make_input(InputFor<4>{}), n, in, weight, out, output);
  }
  return LaunchKernel(MambaProgrammaticLaunch(), SkinnyKernel<T, 8, InputFor<8>, Output>, grid,
                      block, 0, stream, make_input(InputFor<8>{}), n, in, weight, out, output);
}

}  // namespace llive::backends::cuda::skinny
