// The skinny linear kernel: a warp per output row of the weights, 8 warps a block.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cstdint>

#include "backends/native/cuda/cuda_status.h"
#include "backends/native/cuda/skinny_gemm.h"

namespace llive::backends::cuda {
namespace {

constexpr int kWarpsPerBlock = 8;

// The 16 bytes at p as fp32 values (8 bf16/fp16 or 4 fp32).
template <typename T>
struct Vector {
  static constexpr int kCount = 16 / sizeof(T);
  float values[kCount];
  __device__ __forceinline__ explicit Vector(const T* p) {
    const uint4 raw = __ldg(reinterpret_cast<const uint4*>(p));
    const T* items = reinterpret_cast<const T*>(&raw);
#pragma unroll
    for (int k = 0; k < kCount; ++k) values[k] = static_cast<float>(items[k]);
  }
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

template <typename T, typename Y, int R>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    SkinnyKernel(const T* x, int rows, int64_t in, int64_t ldx, const T* weight, int64_t out, Y* y,
                 int64_t ldy, float alpha, float beta) {
  constexpr int V = Vector<T>::kCount;
  const int lane = threadIdx.x % 32;
  const int64_t o = int64_t{blockIdx.x} * kWarpsPerBlock + threadIdx.x / 32;
  if (o >= out) return;
  const T* w = weight + o * in;
  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = 0.0f;
    // Unrolled so that several 16-byte weight loads are in flight at once: with few warps (a
    // narrow output such as Mamba's x_proj) the loop is otherwise a chain of memory latencies.
#pragma unroll 4
  for (int64_t i = lane * V; i < in; i += 32 * V) {
    const Vector<T> wv(w + i);
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (r < rows) {
        const Vector<T> xv(x + r * ldx + i);
#pragma unroll
        for (int k = 0; k < V; ++k) acc[r] += wv.values[k] * xv.values[k];
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    for (int offset = 16; offset > 0; offset /= 2) {
      acc[r] += __shfl_xor_sync(0xffffffffu, acc[r], offset);
    }
  }
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (r < rows) {
        Y* target = y + r * ldy + o;
        const float previous = beta != 0.0f ? static_cast<float>(*target) : 0.0f;
        Store(target, alpha * acc[r] + beta * previous);
      }
    }
  }
}

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

// Each block normalises the (few) rows itself rather than waiting for another kernel (the rows
// are d_model floats each, the weights megabytes): warp r sums row r's squares once for the
// block's eight outputs, then every warp reads the rows in 16-byte pieces as it streams its
// weight row.
template <typename T, typename Y, int R>
__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    SkinnyNormKernel(const float* x, int rows, int64_t in, int64_t ldx, const float* norm_weight,
                     float eps, const T* weight, int64_t out, Y* y, int64_t ldy) {
  static_assert(R <= kWarpsPerBlock, "a warp a row for the norms");
  constexpr int V = Vector<T>::kCount;
  const int lane = threadIdx.x % 32;
  const int warp = threadIdx.x / 32;
  __shared__ float shared_scale[R];
  if (warp < R) {
    float sum = 0.0f;
    if (warp < rows) {
      for (int64_t i = lane; i < in; i += 32) sum += x[warp * ldx + i] * x[warp * ldx + i];
    }
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    if (lane == 0) shared_scale[warp] = 1.0f / sqrtf(sum / static_cast<float>(in) + eps);
  }
  __syncthreads();
  const int64_t o = int64_t{blockIdx.x} * kWarpsPerBlock + warp;
  if (o >= out) return;
  float scale[R];
#pragma unroll
  for (int r = 0; r < R; ++r) scale[r] = shared_scale[r];
  const T* w = weight + o * in;
  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = 0.0f;
    // Unrolled so that several 16-byte weight loads are in flight at once: with few warps (a
    // narrow output such as Mamba's x_proj) the loop is otherwise a chain of memory latencies.
#pragma unroll 4
  for (int64_t i = lane * V; i < in; i += 32 * V) {
    const Vector<T> wv(w + i);
    float nw[V];
#pragma unroll
    for (int k = 0; k < V; ++k) nw[k] = __ldg(norm_weight + i + k);
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (r < rows) {
        float xs[V];
#pragma unroll
        for (int q = 0; q < V / 4; ++q) {
          const float4 x4 = __ldg(reinterpret_cast<const float4*>(x + r * ldx + i) + q);
          xs[4 * q] = x4.x, xs[4 * q + 1] = x4.y, xs[4 * q + 2] = x4.z, xs[4 * q + 3] = x4.w;
        }
#pragma unroll
        for (int k = 0; k < V; ++k) acc[r] += wv.values[k] * RoundTo<T>(xs[k] * scale[r] * nw[k]);
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) {
    for (int offset = 16; offset > 0; offset /= 2) {
      acc[r] += __shfl_xor_sync(0xffffffffu, acc[r], offset);
    }
  }
  if (lane == 0) {
#pragma unroll
    for (int r = 0; r < R; ++r) {
      if (r < rows) Store(y + r * ldy + o, acc[r]);
    }
  }
}

template <typename T, typename Y>
void LaunchNorm(const float* x, int64_t rows, int64_t in, int64_t ldx, const float* norm_weight,
                float eps, const void* weight, int64_t out, void* y, int64_t ldy,
                cudaStream_t stream) {
  const unsigned int blocks =
      static_cast<unsigned int>((out + kWarpsPerBlock - 1) / kWarpsPerBlock);
  const auto* wt = static_cast<const T*>(weight);
  auto* yt = static_cast<Y*>(y);
  const int n = static_cast<int>(rows);
  constexpr int kThreads = kWarpsPerBlock * 32;
  if (rows <= 1) {
    SkinnyNormKernel<T, Y, 1>
        <<<blocks, kThreads, 0, stream>>>(x, n, in, ldx, norm_weight, eps, wt, out, yt, ldy);
  } else if (rows <= 2) {
    SkinnyNormKernel<T, Y, 2>
        <<<blocks, kThreads, 0, stream>>>(x, n, in, ldx, norm_weight, eps, wt, out, yt, ldy);
  } else if (rows <= 4) {
    SkinnyNormKernel<T, Y, 4>
        <<<blocks, kThreads, 0, stream>>>(x, n, in, ldx, norm_weight, eps, wt, out, yt, ldy);
  } else {
    SkinnyNormKernel<T, Y, 8>
        <<<blocks, kThreads, 0, stream>>>(x, n, in, ldx, norm_weight, eps, wt, out, yt, ldy);
  }
}

template <typename T>
void LaunchNormFor(WeightDtype y_dtype, const float* x, int64_t rows, int64_t in, int64_t ldx,
                   const float* norm_weight, float eps, const void* weight, int64_t out, void* y,
                   int64_t ldy, cudaStream_t stream) {
  if (y_dtype == WeightDtype::kFp32) {
    LaunchNorm<T, float>(x, rows, in, ldx, norm_weight, eps, weight, out, y, ldy, stream);
  } else {
    LaunchNorm<T, T>(x, rows, in, ldx, norm_weight, eps, weight, out, y, ldy, stream);
  }
}

template <typename T, typename Y>
void Launch(const void* x, int64_t rows, int64_t in, int64_t ldx, const void* weight, int64_t out,
            void* y, int64_t ldy, float alpha, float beta, cudaStream_t stream) {
  const unsigned int blocks =
      static_cast<unsigned int>((out + kWarpsPerBlock - 1) / kWarpsPerBlock);
  const auto* xt = static_cast<const T*>(x);
  const auto* wt = static_cast<const T*>(weight);
  auto* yt = static_cast<Y*>(y);
  const int n = static_cast<int>(rows);
  if (rows <= 1) {
    SkinnyKernel<T, Y, 1>
        <<<blocks, kWarpsPerBlock * 32, 0, stream>>>(xt, n, in, ldx, wt, out, yt, ldy, alpha, beta);
  } else if (rows <= 2) {
    SkinnyKernel<T, Y, 2>
        <<<blocks, kWarpsPerBlock * 32, 0, stream>>>(xt, n, in, ldx, wt, out, yt, ldy, alpha, beta);
  } else if (rows <= 4) {
    SkinnyKernel<T, Y, 4>
        <<<blocks, kWarpsPerBlock * 32, 0, stream>>>(xt, n, in, ldx, wt, out, yt, ldy, alpha, beta);
  } else {
    SkinnyKernel<T, Y, 8>
        <<<blocks, kWarpsPerBlock * 32, 0, stream>>>(xt, n, in, ldx, wt, out, yt, ldy, alpha, beta);
  }
}

template <typename T>
void LaunchFor(WeightDtype y_dtype, const void* x, int64_t rows, int64_t in, int64_t ldx,
               const void* weight, int64_t out, void* y, int64_t ldy, float alpha, float beta,
               cudaStream_t stream) {
  if (y_dtype == WeightDtype::kFp32) {
    Launch<T, float>(x, rows, in, ldx, weight, out, y, ldy, alpha, beta, stream);
  } else {
    Launch<T, T>(x, rows, in, ldx, weight, out, y, ldy, alpha, beta, stream);
  }
}

}  // namespace

bool SkinnyLinearApplies(const void* x, int64_t rows, int64_t in, int64_t ldx, const void* weight) {
  // 16 bytes hold 8 two-byte or 4 four-byte elements; multiples of 8 suit both.
  return rows >= 1 && rows <= kSkinnyMaxRows && in % 8 == 0 && ldx % 8 == 0 &&
         reinterpret_cast<uintptr_t>(x) % 16 == 0 && reinterpret_cast<uintptr_t>(weight) % 16 == 0;
}

absl::Status SkinnyLinear(const void* x, int64_t rows, int64_t in, int64_t ldx, const void* weight,
                          WeightDtype dtype, int64_t out, void* y, WeightDtype y_dtype, int64_t ldy,
                          float alpha, float beta, cudaStream_t stream) {
  switch (dtype) {
    case WeightDtype::kBf16:
      LaunchFor<__nv_bfloat16>(y_dtype, x, rows, in, ldx, weight, out, y, ldy, alpha, beta, stream);
      break;
    case WeightDtype::kFp16:
      LaunchFor<__half>(y_dtype, x, rows, in, ldx, weight, out, y, ldy, alpha, beta, stream);
      break;
    case WeightDtype::kFp32:
      LaunchFor<float>(y_dtype, x, rows, in, ldx, weight, out, y, ldy, alpha, beta, stream);
      break;
  }
  return CudaStatus(cudaGetLastError(), "launch of the skinny linear kernel");
}

absl::Status SkinnyNormLinear(const float* x, int64_t rows, int64_t in, int64_t ldx,
                              const float* norm_weight, float eps, const void* weight,
                              WeightDtype dtype, int64_t out, void* y, WeightDtype y_dtype,
                              int64_t ldy, cudaStream_t stream) {
  switch (dtype) {
    case WeightDtype::kBf16:
      LaunchNormFor<__nv_bfloat16>(y_dtype, x, rows, in, ldx, norm_weight, eps, weight, out, y, ldy,
                                   stream);
      break;
    case WeightDtype::kFp16:
      LaunchNormFor<__half>(y_dtype, x, rows, in, ldx, norm_weight, eps, weight, out, y, ldy,
                            stream);
      break;
    case WeightDtype::kFp32:
      LaunchNormFor<float>(y_dtype, x, rows, in, ldx, norm_weight, eps, weight, out, y, ldy,
                           stream);
      break;
  }
  return CudaStatus(cudaGetLastError(), "launch of the skinny RMSNorm + linear kernel");
}

}  // namespace llive::backends::cuda
