// Mamba-1 kernels. The arithmetic follows the CPU path (mamba_model.cc) operation for
// operation in fp32; with fp32 weights also with the full-precision expf/logf, so that they
// agree with it to about 1e-6; only the GEMM operands are rounded to the weights' type. With
// bf16 or fp16 weights the scans and the convolutions' SiLU use the hardware's approximate
// exponential, logarithm and division (FastMath), whose relative error of about 1e-7 is far
// below the rounding of those types.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "backends/native/cuda/async_copy.cuh"
#include "backends/native/cuda/cuda_status.h"
#include "backends/native/cuda/mamba_cuda_kernels.h"
#include "backends/native/cuda/mma_tile.cuh"
#include "backends/native/cuda/programmatic_launch.cuh"
#include "backends/native/cuda/sample_score.cuh"
#include "backends/native/cuda/skinny_gemm.h"
#include "backends/native/cuda/skinny_gemm_kernels.cuh"
#include "backends/native/cuda/slices.cuh"
#include "backends/native/cuda/weight_dtype_visit.cuh"

namespace llive::backends::cuda::mamba {
namespace {

constexpr int kMaxConv = 8;  // d_conv supported by the convolution kernels

template <typename T>
__device__ __forceinline__ float ToFloat(T value) {
  return static_cast<float>(value);
}
template <typename T>
__device__ __forceinline__ T FromFloat(float value);
template <>
__device__ __forceinline__ float FromFloat(float value) {
  return value;
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromFloat(float value) {
  return __float2bfloat16_rn(value);
}
template <>
__device__ __forceinline__ __half FromFloat(float value) {
  return __float2half_rn(value);
}

__device__ __forceinline__ unsigned short Bits16(__nv_bfloat16 value) {
  return __bfloat16_as_ushort(value);
}
__device__ __forceinline__ unsigned short Bits16(__half value) { return __half_as_ushort(value); }

__device__ __forceinline__ float Silu(float x) { return x / (1.0f + expf(-x)); }
__device__ __forceinline__ float Softplus(float x) { return x > 20.0f ? x : log1pf(expf(x)); }

// The transcendental functions of the scans and the convolution's SiLU for activations of type
// T: the library's full-precision ones for fp32 (as the CPU path), the hardware approximations
// otherwise (ex2.approx, __logf, __fdividef: a few instructions instead of tens; the scan issues
// one exponential per state and step, and at 16 x 2048 tokens it is bound by instruction issue).
template <typename T>
struct FastMath {
  static constexpr bool kFast = !std::is_same_v<T, float>;
  __device__ static __forceinline__ float Exp2(float x) {
    if constexpr (kFast) {
      float y;
      asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
      return y;
    } else {
      return exp2f(x);
    }
  }
  __device__ static __forceinline__ float Softplus(float x) {
    if constexpr (kFast) {
      if (x > 20.0f) return x;
      const float e = Exp2(x * 1.4426950408889634f);  // e^x
      // log1p(e): its series where 1 + e would lose e's low bits (error below e^6 / 6).
      const float series = e * (1.0f - e * (0.5f - e * (1.0f / 3.0f - e * (0.25f - e * 0.2f))));
      return e < 0.1f ? series : __logf(1.0f + e);
    } else {
      return ::llive::backends::cuda::mamba::Softplus(x);
    }
  }
  __device__ static __forceinline__ float Silu(float x) {
    if constexpr (kFast) {
      // x / (1 + e^-x); 0 where the exponential overflows.
      return __fdividef(x, 1.0f + Exp2(-x * 1.4426950408889634f));
    } else {
      return ::llive::backends::cuda::mamba::Silu(x);
    }
  }
};

// Returns body(T{}) with T the C++ type of `dtype`.
template <typename Body>
absl::Status Dispatch(WeightDtype dtype, Body body) {
  return VisitWeightDtype(dtype, body,
                          [] { return absl::InvalidArgumentError("unknown weight type"); });
}

unsigned int Blocks(int64_t threads, int block) {
  return static_cast<unsigned int>((threads + block - 1) / block);
}

bool Aligned(const void* pointer, size_t bytes) {
  return reinterpret_cast<uintptr_t>(pointer) % bytes == 0;
}

// Rows from which RmsNorm runs a warp a row (RmsNormWarpKernel).
constexpr int64_t kWarpNormMinRows = 32;

absl::Status Launched(cudaError_t launched, const char* kernel) {
  return CudaStatus(launched, absl::StrCat("launch of ", kernel));
}

template <typename T>
__global__ void EmbeddingKernel(const int32_t* tokens, const T* embedding, int64_t d_model,
                                float* x) {
  WaitThenRelease();
  const int64_t row = blockIdx.x;
  const T* source = embedding + static_cast<int64_t>(tokens[row]) * d_model;
  for (int64_t i = threadIdx.x; i < d_model; i += blockDim.x) {
    x[row * d_model + i] = ToFloat(source[i]);
  }
}

// Sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it.
__device__ float BlockSum(float value) {
  __shared__ float partial[32];
  for (int offset = 16; offset > 0; offset /= 2) {
    value += __shfl_xor_sync(0xffffffffu, value, offset);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) partial[warp] = value;
  __syncthreads();
  const int warps = blockDim.x / 32;
  value = lane < warps ? partial[lane] : 0.0f;
  for (int offset = 16; offset > 0; offset /= 2) {
    value += __shfl_xor_sync(0xffffffffu, value, offset);
  }
  return value;
}

template <typename T>
__global__ void RmsNormKernel(const float* x, int64_t row_step, int64_t row_offset, int64_t n,
                              const float* weight, float eps, T* out) {
  WaitThenRelease();
  const int64_t o = blockIdx.x;
  const float* row = x + (o * row_step + row_offset) * n;
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += row[i] * row[i];
  const float scale = 1.0f / sqrtf(BlockSum(sum) / static_cast<float>(n) + eps);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    out[o * n + i] = FromFloat<T>(row[i] * scale * weight[i]);
  }
}

// RMSNorm of many rows (prefill): a warp per row, its n / 4 float4 held in registers
// (kPer per lane), so that the row is read from memory once with 16-byte loads and the
// block-wide reduction of RmsNormKernel (two barriers per row, a 256-thread block for 768
// values) becomes a warp shuffle. Needs n % 4 == 0, x and weight 16-byte aligned, out aligned
// to 4 values and n <= 128 * kPer; RmsNormKernel does the rest. Same output as it:
// row[i] * scale * weight[i], only the order of the sum of squares differs.
template <typename T, int kPer>
__global__ void __launch_bounds__(256)
    RmsNormWarpKernel(const float* x, int64_t out_rows, int64_t row_step, int64_t row_offset,
                      int64_t n, const float* weight, float eps, T* out) {
  WaitThenRelease();
  const int64_t o = blockIdx.x * int64_t{blockDim.x / 32} + threadIdx.x / 32;
  if (o >= out_rows) return;  // the whole warp leaves together
  const int lane = threadIdx.x % 32;
  const int quads = static_cast<int>(n / 4);
  const float4* row = reinterpret_cast<const float4*>(x + (o * row_step + row_offset) * n);
  float4 v[kPer];
  float sum = 0.0f;
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    const int q = lane + 32 * j;
    v[j] = q < quads ? row[q] : make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  }
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    sum += v[j].x * v[j].x;
    sum += v[j].y * v[j].y;
    sum += v[j].z * v[j].z;
    sum += v[j].w * v[j].w;
  }
  for (int offset = 16; offset > 0; offset /= 2) {
    sum += __shfl_xor_sync(0xffffffffu, sum, offset);
  }
  const float scale = 1.0f / sqrtf(sum / static_cast<float>(n) + eps);
  const float4* w4 = reinterpret_cast<const float4*>(weight);
  T* out_row = out + o * n;
#pragma unroll
  for (int j = 0; j < kPer; ++j) {
    const int q = lane + 32 * j;
    if (q >= quads) break;
    const float4 w = w4[q];
    const T r0 = FromFloat<T>(v[j].x * scale * w.x), r1 = FromFloat<T>(v[j].y * scale * w.y);
    const T r2 = FromFloat<T>(v[j].z * scale * w.z), r3 = FromFloat<T>(v[j].w * scale * w.w);
    if constexpr (std::is_same_v<T, float>) {
      reinterpret_cast<float4*>(out_row)[q] = make_float4(r0, r1, r2, r3);
    } else {
      // Two 16-bit values to a 32-bit word, the first in the low half (little endian).
      uint2 packed;
      packed.x =
          static_cast<unsigned int>(Bits16(r0)) | (static_cast<unsigned int>(Bits16(r1)) << 16);
      packed.y =
          static_cast<unsigned int>(Bits16(r2)) | (static_cast<unsigned int>(Bits16(r3)) << 16);
      reinterpret_cast<uint2*>(out_row)[q] = packed;
    }
  }
}

// Time steps one convolution thread produces: it slides its window over them, so each input
// is read once rather than d_conv times, and issues all their loads before the arithmetic.
constexpr int kConvRows = 16;

// Grid (channel blocks, sequences x groups of kConvRows steps; grid-stride in y). The weights
// sit right-aligned in a kMaxConv window (zeros in front) so that every index is static and
// the window stays in registers whatever d_conv is.
template <typename T>
__global__ void ConvKernel(const T* uz, int64_t ld_uz, int64_t batch, int length, int64_t d_inner,
                           int dc, const float* weight, const float* bias, const int32_t* slots,
                           const float* conv_states, int64_t conv_slot_stride, T* u) {
  WaitThenRelease();
  const int64_t ch = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (ch >= d_inner) return;
  float w[kMaxConv];
#pragma unroll
  for (int j = 0; j < kMaxConv; ++j) {
    const int k = j - (kMaxConv - dc);
    w[j] = k >= 0 ? weight[ch * dc + k] : 0.0f;
  }
  const float bias_c = bias[ch];
  const int groups = (length + kConvRows - 1) / kConvRows;
  for (int64_t y = blockIdx.y; y < batch * groups; y += gridDim.y) {
    const int64_t b = y / groups;
    const int t0 = static_cast<int>(y % groups) * kConvRows;
    const T* column = uz + b * length * ld_uz + ch;
    const float* history = conv_states + slots[b] * conv_slot_stride + ch * (dc - 1);
    float window[kMaxConv];  // window[kMaxConv - 1] is the newest input
#pragma unroll
    for (int j = 0; j < kMaxConv - 1; ++j) {
      const int source = t0 - (kMaxConv - 1) + j;
      const int k = source + (dc - 1);  // index into the history when source < 0
      window[j] = source >= 0 ? ToFloat(column[source * ld_uz]) : (k >= 0 ? history[k] : 0.0f);
    }
    float in[kConvRows];
#pragma unroll
    for (int i = 0; i < kConvRows; ++i) {
      in[i] = t0 + i < length ? ToFloat(column[(t0 + i) * ld_uz]) : 0.0f;
    }
    T* out = u + (b * length + t0) * d_inner + ch;
#pragma unroll
    for (int i = 0; i < kConvRows; ++i) {
      window[kMaxConv - 1] = in[i];
      float sum = bias_c;
#pragma unroll
      for (int j = 0; j < kMaxConv; ++j) sum += w[j] * window[j];
      if (t0 + i < length) out[i * d_inner] = FromFloat<T>(FastMath<T>::Silu(sum));
#pragma unroll
      for (int j = 0; j < kMaxConv - 1; ++j) window[j] = window[j + 1];
    }
  }
}

// Two adjacent channels of T as one aligned load or store.
template <typename T>
struct alignas(2 * sizeof(T)) Pair {
  T lo, hi;
};

// ConvKernel for a d_conv known at compile time and an even d_inner and ld_uz: a thread takes
// two adjacent channels (one 4-byte load a row for bf16/fp16), only DC taps, and no per-access
// 64-bit index arithmetic (the column pointer advances a row at a time). Grid (blocks of
// 2 * blockDim.x channels, sequences x groups of kConvRows steps; grid-stride in y).
template <typename T, int DC>
__global__ void ConvPairKernel(const T* uz, int64_t ld_uz, int64_t batch, int length,
                               int64_t d_inner, const float* weight, const float* bias,
                               const int32_t* slots, const float* conv_states,
                               int64_t conv_slot_stride, T* u) {
  WaitThenRelease();
  const int64_t ch = 2 * (blockIdx.x * int64_t{blockDim.x} + threadIdx.x);
  if (ch >= d_inner) return;
  float w[2][DC];
#pragma unroll
  for (int k = 0; k < DC; ++k) w[0][k] = weight[ch * DC + k], w[1][k] = weight[(ch + 1) * DC + k];
  const float bias_c[2] = {bias[ch], bias[ch + 1]};
  const int groups = (length + kConvRows - 1) / kConvRows;
  for (int64_t y = blockIdx.y; y < batch * groups; y += gridDim.y) {
    const int64_t b = y / groups;
    const int t0 = static_cast<int>(y % groups) * kConvRows;
    const float* history = conv_states + slots[b] * conv_slot_stride + ch * (DC - 1);
    // window[.][DC - 1 + i] is step t0 + i; window[.][j < DC - 1] the steps before t0.
    float window[2][DC - 1 + kConvRows];
    const Pair<T>* column = reinterpret_cast<const Pair<T>*>(uz + b * length * ld_uz + ch);
    const int64_t pitch = ld_uz / 2;  // in pairs
#pragma unroll
    for (int j = 0; j < DC - 1; ++j) {
      const int source = t0 - (DC - 1) + j;
      if (source >= 0) {
        const Pair<T> v = column[source * pitch];
        window[0][j] = ToFloat(v.lo), window[1][j] = ToFloat(v.hi);
      } else {
        const int k = source + (DC - 1);  // >= 0: source >= -(DC - 1)
        window[0][j] = history[k], window[1][j] = history[(DC - 1) + k];
      }
    }
    const int rows = min(kConvRows, length - t0);
    const Pair<T>* in = column + t0 * pitch;
#pragma unroll
    for (int i = 0; i < kConvRows; ++i) {
      Pair<T> v{};
      if (i < rows) v = in[i * pitch];
      window[0][DC - 1 + i] = ToFloat(v.lo), window[1][DC - 1 + i] = ToFloat(v.hi);
    }
    Pair<T>* out = reinterpret_cast<Pair<T>*>(u + (b * length + t0) * d_inner + ch);
    const int64_t out_pitch = d_inner / 2;
#pragma unroll
    for (int i = 0; i < kConvRows; ++i) {
      float sum[2] = {bias_c[0], bias_c[1]};
#pragma unroll
      for (int k = 0; k < DC; ++k) {
        sum[0] += w[0][k] * window[0][i + k];
        sum[1] += w[1][k] * window[1][i + k];
      }
      if (i < rows) {
        out[i * out_pitch] = Pair<T>{FromFloat<T>(FastMath<T>::Silu(sum[0])),
                                     FromFloat<T>(FastMath<T>::Silu(sum[1]))};
      }
    }
  }
}

template <typename T>
__global__ void ConvStateKernel(const T* uz, int64_t ld_uz, int64_t batch, int64_t length,
                                int64_t d_inner, int dc, const int32_t* slots, float* conv_states,
                                int64_t conv_slot_stride) {
  WaitThenRelease();
  const int64_t index = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (index >= batch * d_inner) return;
  const int64_t b = index / d_inner, ch = index % d_inner;
  float* history = conv_states + slots[b] * conv_slot_stride + ch * (dc - 1);
  // Ascending k reads history[k + length] before any write reaches it.
  for (int k = 0; k < dc - 1; ++k) {
    const int64_t source = length - (dc - 1) + k;
    history[k] = source < 0 ? history[k + length] : ToFloat(uz[(b * length + source) * ld_uz + ch]);
  }
}

template <typename T>
__global__ void ConvStepKernel(const T* uz, int64_t ld_uz, int64_t batch, int64_t d_inner, int dc,
                               const float* weight, const float* bias, const int32_t* slots,
                               float* conv_states, int64_t conv_slot_stride, T* u) {
  WaitThenRelease();
  const int64_t index = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (index >= batch * d_inner) return;
  const int64_t b = index / d_inner, ch = index % d_inner;
  float* history = conv_states + slots[b] * conv_slot_stride + ch * (dc - 1);
  float window[kMaxConv];
  for (int k = 0; k < dc - 1; ++k) window[k] = history[k];
  window[dc - 1] = ToFloat(uz[b * ld_uz + ch]);
  float sum = bias[ch];
  for (int k = 0; k < dc; ++k) sum += weight[ch * dc + k] * window[k];
  for (int k = 0; k < dc - 1; ++k) history[k] = window[k + 1];
  u[index] = FromFloat<T>(FastMath<T>::Silu(sum));
}

// The decode step's in_proj epilogue (DecodeInProjConv): output o < d_inner is the SSM input
// x of channel o, which goes straight through that channel's causal convolution step and SiLU
// into u (as ConvStepKernel would, reading it back from uz in T); the rest is z, stored in uz.
template <typename T>
struct ConvStepOutput {
  T* uz;
  int64_t ld_uz;
  T* u;
  int64_t d_inner;
  int dc;
  const float* weight;
  const float* bias;
  const int32_t* slots;
  float* conv_states;
  int64_t conv_slot_stride;
  // The channel's taps, bias and history, right-aligned in kMaxConv windows (tap k at
  // j = k + kMaxConv - dc) so that every index is static and they stay in registers.
  struct Prefetched {
    float window[kMaxConv];
    float taps[kMaxConv];
    float bias;
  };
  __device__ __forceinline__ Prefetched Prefetch(int r, int64_t o) const {
    Prefetched p{};
    if (o >= d_inner) return p;
    const float* history = conv_states + slots[r] * conv_slot_stride + o * (dc - 1);
#pragma unroll
    for (int j = 0; j < kMaxConv; ++j) {
      const int k = j - (kMaxConv - dc);
      p.taps[j] = k >= 0 ? weight[o * dc + k] : 0.0f;
      if (j < kMaxConv - 1) p.window[j] = k >= 0 ? history[k] : 0.0f;
    }
    p.bias = bias[o];
    return p;
  }
  // Returns u as stored (zero for z).
  __device__ __forceinline__ T operator()(int r, int64_t o, float value,
                                          const Prefetched& p) const {
    if (o >= d_inner) {
      skinny::Store(uz + r * ld_uz + o, value);
      return FromFloat<T>(0.0f);
    }
    float* history = conv_states + slots[r] * conv_slot_stride + o * (dc - 1);
    float window[kMaxConv];
#pragma unroll
    for (int j = 0; j < kMaxConv - 1; ++j) window[j] = p.window[j];
    window[kMaxConv - 1] = skinny::RoundTo<T>(value);
    float sum = p.bias;
#pragma unroll
    for (int j = 0; j < kMaxConv; ++j) {
      const int k = j - (kMaxConv - dc);
      if (k >= 0) sum += p.taps[j] * window[j];
    }
#pragma unroll
    for (int j = 0; j < kMaxConv - 1; ++j) {
      const int k = j - (kMaxConv - dc);
      if (k >= 0) history[k] = window[j + 1];
    }
    const T stored = FromFloat<T>(FastMath<T>::Silu(sum));
    u[r * d_inner + o] = stored;
    return stored;
  }
};

template <typename T>
ConvStepOutput<T> MakeConvStepOutput(void* uz, int64_t ld_uz, void* u, int64_t d_inner,
                                     int64_t d_conv, const float* weight, const float* bias,
                                     const int32_t* slots, float* conv_states,
                                     int64_t conv_slot_stride) {
  return ConvStepOutput<T>{static_cast<T*>(uz),
                           ld_uz,
                           static_cast<T*>(u),
                           d_inner,
                           static_cast<int>(d_conv),
                           weight,
                           bias,
                           slots,
                           conv_states,
                           conv_slot_stride};
}

// DecodeConvFromParts: a thread per (row, output of in_proj); the convolution's taps and the
// channel's history load before the wait (weights, and a state only this kernel of the step
// writes: the slots were written before the step began).
template <typename T>
__global__ void ConvFromPartsKernel(const float* parts, int slices, int64_t slice_stride,
                                    int64_t rows, ConvStepOutput<T> output) {
  const int64_t width = 2 * output.d_inner;
  const int64_t index = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  const bool active = index < rows * width;
  const int r = active ? static_cast<int>(index / width) : 0;
  const int64_t o = index % width;
  typename ConvStepOutput<T>::Prefetched prefetched{};
  if (active) prefetched = output.Prefetch(r, o);
  WaitThenRelease();
  if (!active) return;
  // A plain loop here: AddSlices' eight loads in flight took this kernel from 32 to 56
  // registers and its 196,608 threads (batch 64) from one wave to two (2026-12-02); in_proj
  // leaves only a few slices anyway.
  const float* source = parts + r * width + o;
  float value = source[0];
  for (int p = 1; p < slices; ++p) value += source[p * slice_stride];
  output(r, o, value, prefetched);
}

// DecodeProductConv: in_proj's product for all of d_model at once (no slices), with the
// convolution step in its output step. Block b covers outputs [16 kTiles b, + 16 kTiles): a
// tile of u channels (convolution, SiLU, conv state advanced) or of z (stored). Its warps take
// the product's (row tile of 16, output tile of 16, part of the inner dimension) items,
// kProductParts / kTiles parts whatever the rows, so that a row's sums do not depend on how
// many rows run with it (a decode step's branches give bit-identical logits); the parts meet
// in shared memory, added in part order, and every thread then finishes outputs of one column
// (a thread's column is threadIdx.x mod 16 kTiles, so its taps load once).
// Shared memory: the weight tile [16 kTiles][in + kProductPad], the input rows [16 row_tiles]
// [in + kProductPad], the parts [parts][16 row_tiles][16 kTiles] fp32 and the u channels'
// histories [rows][16 kTiles (d_conv - 1)] fp32.
//
// (The parts over the weight tile once the products are done, 111 instead of 119 KB a block
// at the mamba-130m shape in branches of 32 rows and so two blocks a multiprocessor instead of
// one, made a batch-64 step slower, 686 against 670 us, 2026-12-03.)
//
// (x_proj in the same launch, as slices over each block's u channels that the scan adds up,
// made a batch-64 step slower, 726 against 674 us, 2026-12-02: the scan's 192 blocks each
// added 48 slices instead of 8 for their rows. With the slices added by the last block of each
// group of u tiles first (XProjFold), it is as fast at best: 653.5 against 652.3 us with 8
// groups, slower with other counts, 2026-12-03; MambaCudaOptions::fold_x_proj_groups. With
// the scan step's blocks held to 5 a multiprocessor, 8 groups gain 2-3 us a batch-64 step and
// are the default since 2026-12-04.)
constexpr int kProductThreads = 256;
constexpr int kProductWarps = kProductThreads / 32;
constexpr int kProductParts = 4;  // parts of the inner dimension for tiles of 16 outputs
constexpr int kProductPad = 8;    // as SplitLinear's kRowPad: an odd number of 16-byte words a row

int ProductRowTiles(int64_t rows) { return rows <= 16 ? 1 : rows <= 32 ? 2 : 4; }

// With a fold of x_proj (fold_width > 0), after the histories: the block's x_proj columns
// [fold_width][16 kTiles + kProductPad] and its u [16 row tiles][16 kTiles + kProductPad], in
// the weights' type (u as stored: the product on the tensor cores is exact in its operands).
int64_t ProductConvSharedBytes(int64_t tiles, int64_t rows, int64_t in, int64_t d_conv,
                               int64_t fold_width = 0) {
  const int64_t row_tiles = ProductRowTiles(rows), width = 16 * tiles;
  const int64_t fold =
      fold_width > 0 ? (fold_width + 16 * row_tiles) * (width + kProductPad) * 2 : 0;
  return (width + 16 * row_tiles) * (in + kProductPad) * 2 +
         kProductParts / tiles * 16 * row_tiles * width * 4 + rows * width * (d_conv - 1) * 4 +
         fold;
}

// The fold's x_proj (XProjFold) for the block of u channels [o0, o0 + kWidth) once its u is in
// s_u: the warps take (row tile, output tile of 16) items of the block's partial, over its
// kWidth channels on the tensor cores; then the group count, and the group's last block adds
// the group's partials in tile order (LastBlockToFinish, the loads through L2).
template <typename T, int kWidth>
__device__ __forceinline__ void FoldXProj(const XProjFold& fold, int rows, int row_tiles,
                                          int u_tiles, const T* s_xw, const T* s_u) {
  constexpr int kStride = kWidth + kProductPad;
  const int width = static_cast<int>(fold.width);
  const int items = rows * width;
  const int tile = static_cast<int>(blockIdx.x);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  float* partial = fold.partials + int64_t{tile} * items;
  for (int item = warp; item < row_tiles * (width / 16); item += kProductWarps) {
    const int row_tile = item % row_tiles, out_tile = item / row_tiles;
    const T* a_row = s_u + (row_tile * 16 + lane % 16) * kStride + (lane / 16) * 8;
    const T* b_row =
        s_xw + (out_tile * 16 + lane % 8 + (lane / 16) * 8) * kStride + ((lane / 8) % 2) * 8;
    float acc[2][4] = {};
#pragma unroll
    for (int k = 0; k < kWidth; k += 16) {
      uint32_t a[4], b[4];
      LoadMatrices(a, a_row + k);
      LoadMatrices(b, b_row + k);
      Mma<T>(acc[0], a, b[0], b[1]);
      Mma<T>(acc[1], a, b[2], b[3]);
    }
    const int r0 = row_tile * 16 + lane / 4;
#pragma unroll
    for (int n = 0; n < 2; ++n) {
      const int c = out_tile * 16 + n * 8 + (lane % 4) * 2;
      if (r0 < rows) {
        *reinterpret_cast<float2*>(partial + r0 * width + c) = make_float2(acc[n][0], acc[n][1]);
      }
      if (r0 + 8 < rows) {
        *reinterpret_cast<float2*>(partial + (r0 + 8) * width + c) =
            make_float2(acc[n][2], acc[n][3]);
      }
    }
  }
  const int per_group = u_tiles / static_cast<int>(fold.groups);
  const int group = tile / per_group;
  if (!LastBlockToFinish(fold.counters + group, per_group)) return;
  const float* first = fold.partials + int64_t{group} * per_group * items;
  float* sums = fold.sums + int64_t{group} * items;
  for (int p = threadIdx.x * 4; p < items; p += kProductThreads * 4) {
    const float4 v = AddSlices<float4, true>(__ldcg(reinterpret_cast<const float4*>(first + p)),
                                             first + items + p, per_group - 1, items);
    *reinterpret_cast<float4*>(sums + p) = v;
  }
}

template <typename T, int kTiles>
__global__ void __launch_bounds__(kProductThreads)
    ProductConvKernel(const T* x, int rows, const T* weight, int in, ConvStepOutput<T> output,
                      RowScale scale, XProjFold fold) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  constexpr int kWidth = 16 * kTiles;
  constexpr int kParts = kProductParts / kTiles;
  static_assert(kProductThreads % kWidth == 0 && kParts >= 1);
  const int row_tiles = rows <= 16 ? 1 : rows <= 32 ? 2 : 4;
  const int stride = in + kProductPad;
  T* s_weight = reinterpret_cast<T*>(shared_bytes);
  T* s_x = s_weight + kWidth * stride;
  float* s_parts = reinterpret_cast<float*>(s_x + 16 * row_tiles * stride);
  float* s_history = s_parts + kParts * 16 * row_tiles * kWidth;
  const int dc = output.dc;
  const int history_width = kWidth * (dc - 1);
  const int64_t o0 = int64_t{blockIdx.x} * kWidth;
  const bool conv = o0 < output.d_inner;
  const bool folds = conv && fold.weight != nullptr;
  constexpr int kFoldStride = kWidth + kProductPad;
  T* s_xw = reinterpret_cast<T*>(s_history + rows * history_width);  // the fold's, then u
  T* s_u = s_xw + fold.width * kFoldStride;
  const int pieces = in / 8;
  // Before the wait: the weight tiles, the histories (a state only this kernel of the step
  // writes; the slots were written before the step began) and this thread's taps.
  for (int p = threadIdx.x; p < kWidth * pieces; p += kProductThreads) {
    const int row = p / pieces, piece = p % pieces;
    CopyAsync16(s_weight + row * stride + piece * 8, weight + (o0 + row) * in + piece * 8);
  }
  if (conv) {
    for (int p = threadIdx.x; p < rows * history_width; p += kProductThreads) {
      const int r = p / history_width, j = p % history_width;
      const float* history =
          output.conv_states + output.slots[r] * output.conv_slot_stride + o0 * (dc - 1) + j;
      CopyAsync4OrZero(s_history + p, history, true);
    }
  }
  CopyAsyncCommit();
  const int column = threadIdx.x % kWidth;
  typename ConvStepOutput<T>::Prefetched taps{};
  if (conv) {
    const int64_t o = o0 + column;
#pragma unroll
    for (int j = 0; j < kMaxConv; ++j) {
      const int k = j - (kMaxConv - dc);
      taps.taps[j] = k >= 0 ? output.weight[o * dc + k] : 0.0f;
    }
    taps.bias = output.bias[o];
  }
  if (folds) {
    // x_proj's columns of this block's channels: rows of kWidth, 16 bytes a copy.
    constexpr int kPieces = kWidth / 8;
    const T* xw = static_cast<const T*>(fold.weight);
    for (int p = threadIdx.x; p < fold.width * kPieces; p += kProductThreads) {
      const int j = p / kPieces, piece = p % kPieces;
      CopyAsync16(s_xw + j * kFoldStride + piece * 8,
                  xw + int64_t{j} * output.d_inner + o0 + piece * 8);
    }
  }
  WaitThenRelease();
  for (int p = threadIdx.x; p < 16 * row_tiles * pieces; p += kProductThreads) {
    const int row = p / pieces, piece = p % pieces;
    const int source_row = row < rows ? row : 0;
    CopyAsync16OrZero(s_x + row * stride + piece * 8, x + int64_t{source_row} * in + piece * 8,
                      row < rows);
  }
  // Rows that come unnormalised (RowScale): their sums of squares copied with them, all in
  // flight at once (a warp a row, loading one after another, made steps of 16 and 32 rows a
  // branch slower, 2026-12-03), then each row's scale from them, in tile order.
  __shared__ float s_sums[kMaxRowScaleSums];
  __shared__ float s_scale[64];
  const int sums = scale.sumsq != nullptr ? rows * scale.tiles : 0;
  for (int i = threadIdx.x; i < sums; i += kProductThreads) {
    CopyAsync4OrZero(s_sums + i, scale.sumsq + i, true);
  }
  CopyAsyncCommit();
  CopyAsyncWait();
  __syncthreads();
  if (sums > 0 && threadIdx.x < rows) {
    const int r = threadIdx.x;
    float sum = 0.0f;
    for (int t = 0; t < scale.tiles; ++t) sum += s_sums[t * rows + r];
    s_scale[r] = 1.0f / sqrtf(sum / static_cast<float>(in) + scale.eps);
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;

  const int steps = in / 16;
  // Item i: row tile i mod row_tiles, output tile (i / row_tiles) mod kTiles, part
  // i / (row_tiles kTiles) of the inner dimension's steps of 16.
  // A warp's items: at most kMaxItems (4 row tiles x kProductParts / 8 warps).
  constexpr int kMaxItems = 4 * kProductParts / kProductWarps;
#pragma unroll
  for (int i = 0; i < kMaxItems; ++i) {
    const int item = warp + i * kProductWarps;
    const int row_tile = item % row_tiles, tile = (item / row_tiles) % kTiles;
    const int part = item / (row_tiles * kTiles);
    if (item >= row_tiles * kTiles * kParts || row_tile * 16 >= rows) continue;
    const int k_begin = part * steps / kParts * 16, k_end = (part + 1) * steps / kParts * 16;
    const T* a_row = s_x + (row_tile * 16 + lane % 16) * stride + (lane / 16) * 8;
    const T* b_row =
        s_weight + (tile * 16 + lane % 8 + (lane / 16) * 8) * stride + ((lane / 8) % 2) * 8;
    float acc[2][4] = {};
    for (int k = k_begin; k < k_end; k += 16) {
      uint32_t a[4], b[4];
      LoadMatrices(a, a_row + k);
      LoadMatrices(b, b_row + k);
      Mma<T>(acc[0], a, b[0], b[1]);
      Mma<T>(acc[1], a, b[2], b[3]);
    }
    // Part p's tile: [16 row_tiles][kWidth] at s_parts + p 16 row_tiles kWidth.
    float* mine = s_parts + part * 16 * row_tiles * kWidth;
    const int r0 = row_tile * 16 + lane / 4;
#pragma unroll
    for (int n = 0; n < 2; ++n) {
      const int c = tile * 16 + n * 8 + (lane % 4) * 2;
      *reinterpret_cast<float2*>(mine + r0 * kWidth + c) = make_float2(acc[n][0], acc[n][1]);
      *reinterpret_cast<float2*>(mine + (r0 + 8) * kWidth + c) = make_float2(acc[n][2], acc[n][3]);
    }
  }
  __syncthreads();
  const int64_t o = o0 + column;
  for (int r = threadIdx.x / kWidth; r < rows; r += kProductThreads / kWidth) {
    float value = s_parts[r * kWidth + column];
    for (int p = 1; p < kParts; ++p) value += s_parts[(p * 16 * row_tiles + r) * kWidth + column];
    if (scale.sumsq != nullptr) value *= s_scale[r];
    typename ConvStepOutput<T>::Prefetched prefetched = taps;
    if (conv) {
#pragma unroll
      for (int j = 0; j < kMaxConv - 1; ++j) {
        const int k = j - (kMaxConv - dc);
        prefetched.window[j] = k >= 0 ? s_history[r * history_width + column * (dc - 1) + k] : 0.0f;
      }
    }
    const T stored = output(r, o, value, prefetched);
    if (folds) s_u[r * kFoldStride + column] = stored;
  }
  if (folds) {
    __syncthreads();
    FoldXProj<T, kWidth>(fold, rows, row_tiles, static_cast<int>(output.d_inner / kWidth), s_xw,
                         s_u);
  }
}

// DecodeResidualNorm: a block a row, a float4 a thread.
template <typename T>
__global__ void ResidualNormKernel(float* x, int64_t n, const float* parts, int slices,
                                   int64_t slice_stride, const float* weight, float eps, T* out) {
  const int64_t row = blockIdx.x;
  const int64_t i = int64_t{threadIdx.x} * 4;
  const bool active = i < n;
  const float4 w = active ? *reinterpret_cast<const float4*>(weight + i) : float4{};
  // Unlike the step's other kernels, this one lets its successor (in_proj, whose weight tiles
  // are the layer's largest load) launch before it waits: its own blocks are small, and
  // in_proj's loads then overlap out_proj's work too (2026-12-02: 687 against 700 us a batch-64
  // step in two branches).
  FollowPrevious();
  float4 v{};
  if (active) {
    float* target = x + row * n + i;
    v = *reinterpret_cast<const float4*>(target);
    if (slices > 0) {
      v = AddSlices(v, parts + row * n + i, slices, slice_stride);
      *reinterpret_cast<float4*>(target) = v;
    }
  }
  const float sum = BlockSum(v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w);
  const float scale = 1.0f / sqrtf(sum / static_cast<float>(n) + eps);
  if (!active) return;
  T* target = out + row * n + i;
  target[0] = FromFloat<T>(v.x * scale * w.x);
  target[1] = FromFloat<T>(v.y * scale * w.y);
  target[2] = FromFloat<T>(v.z * scale * w.z);
  target[3] = FromFloat<T>(v.w * scale * w.w);
}

// dt = softplus(row[:dt_rank] . w + bias), w column `col` of dt_proj rows staged transposed in
// shared memory ([dt_rank][stride]), summed as four partial sums (k mod 4) and then their pairs:
// the order every scan kernel uses, so that they agree to the bit.
template <typename T>
__device__ __forceinline__ float DtFromShared(const float* row, const float* s_wdt, int dt_rank,
                                              int stride, int col, float bias) {
  float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  int k = 0;
  for (; k + 4 <= dt_rank; k += 4) {
    acc[0] += row[k] * s_wdt[k * stride + col];
    acc[1] += row[k + 1] * s_wdt[(k + 1) * stride + col];
    acc[2] += row[k + 2] * s_wdt[(k + 2) * stride + col];
    acc[3] += row[k + 3] * s_wdt[(k + 3) * stride + col];
  }
  for (; k < dt_rank; ++k) acc[0] += row[k] * s_wdt[k * stride + col];
  return FastMath<T>::Softplus((acc[0] + acc[1]) + (acc[2] + acc[3]) + bias);
}

// The scan's thread layout: L threads per channel (L = ScanLanes(...)), each holding S / L states.
constexpr int kScanThreads = 128;
constexpr int kScanTile = 32;     // time steps staged in shared memory at once
constexpr int kDtRegisters = 64;  // dt_rank up to this keeps a thread's dt_proj row in registers
// Below this many blocks a decode step gives each block one sequence; above, up to
// kMaxSequencesPerBlock in turn, so that a channel's dt_proj row and A are read once for them.
constexpr int64_t kDecodeBlocksBeforeSharing = 1024;
constexpr int kMaxSequencesPerBlock = 8;

int scan_lanes_setting = 0;  // 0: ScanLanes chooses by shape
// From this many (sequence, channel) pairs a prefill scan fills the GPU with 2 threads a
// channel and gains from each thread's longer share of the states.
constexpr int64_t kTwoLaneChannels = 16384;

// The arguments every scan pass shares.
template <typename T>
struct ScanArgs {
  const float* dbc;
  int64_t ld_dbc;
  int dt_rank;
  int dt_pad;   // dt_rank rounded up to 8: where B starts in a staged row (zeros before it)
  int row_pad;  // staged row length: dt_pad + 2 * d_state rounded up to an odd multiple of 4
  const T* u;
  const T* uz;
  int64_t ld_uz;
  int64_t batch, length, d_inner;
  ScanWeights weights;
  const int32_t* slots;
  float* ssm_states;
  int64_t ssm_slot_stride;
  int64_t chunk_length, chunks;
  int sequences_per_block;
  float* scratch;  // h_local [batch, chunks, d_inner, S], decay [same], h_start [batch, d_inner, S]
  T* y;
  // Whether tiles move by 16-byte asynchronous copies (16-byte aligned dbc rows, dt_rank a
  // multiple of 4 and ScanVectorUzy) and, with two buffers, each the next tile's during the
  // current one's arithmetic; else element by element into one buffer.
  bool vector;
  int buffers;
  // dbc as `dbc_parts` slices of partial sums dbc_part_stride floats apart, added in order
  // where the rows are staged (the decode step only).
  int dbc_parts = 1;
  int64_t dbc_part_stride = 0;
  // Launches like this one side by side (the decode step only: DbcSlices::beside).
  int beside = 1;
};

// Elements of T in 16 bytes: u, z and y move in such chunks where aligned.
template <typename T>
constexpr int kScanVector = 16 / sizeof(T);

// Whether u, z and y can move in 16-byte chunks: d_inner and ld_uz multiples of a chunk and the
// pointers aligned to one (a block whose channels reach past d_inner still moves them singly).
template <typename T>
bool ScanVectorUzy(const ScanArgs<T>& args) {
  constexpr int v = kScanVector<T>;
  return args.d_inner % v == 0 && args.ld_uz % v == 0 && Aligned(args.u, 16) &&
         Aligned(args.uz, 16) && Aligned(args.y, 16);
}

// Stores kScanVector<T> floats as T (16 bytes).
template <typename T>
__device__ __forceinline__ void StoreVector(const float* values, T* target) {
  uint4 raw;
  T* out = reinterpret_cast<T*>(&raw);
#pragma unroll
  for (int i = 0; i < kScanVector<T>; ++i) out[i] = FromFloat<T>(values[i]);
  *reinterpret_cast<uint4*>(target) = raw;
}

// A staged dbc row: dt_low in [0, dt_rank), zeros up to dt_pad (a multiple of 8, so that B and C
// start 16-byte aligned and the tensor cores' k-steps of 8 read zeros past dt_rank), then B and
// C. An odd number of 16-byte words a row puts the 8 rows of an mma fragment read in 8 distinct
// groups of 4 banks.
int ScanDtPad(int64_t dt_rank) { return static_cast<int>((dt_rank + 7) / 8 * 8); }
int ScanRowPad(int64_t dt_rank, int64_t d_state) {
  int pad = static_cast<int>((ScanDtPad(dt_rank) + 2 * d_state + 3) / 4 * 4);
  if ((pad / 4) % 2 == 0) pad += 4;
  return pad;
}

// Where column `col` of a dbc row lands in its staged copy: dt_low in place, B and C from dt_pad.
__device__ __forceinline__ int StagedColumn(int col, int dt_rank, int dt_pad) {
  return col < dt_rank ? col : col + dt_pad - dt_rank;
}

// C . h of one (row, channel) from its L threads' shares, in a fixed order.
template <int L>
__device__ __forceinline__ float SumShares(const float* shares) {
  float out = shares[0] + shares[1];
  if (L == 4) out += shares[2] + shares[3];
  return out;
}

// Row stride of the tile's dt values in shared memory: the tensor-core path stores them as
// pairs from 8 rows at once, which this padding keeps free of bank conflicts.
__host__ __device__ constexpr int ScanDtStride(int channels) { return channels + 8; }

// Shared memory of one scan block, in floats: the block's dt_proj rows transposed [dt_rank][C]
// (only where dt_rank exceeds kDtRegisters), per buffer the staged dbc rows [tile][row_pad],
// then dt [tile][C + 8] and each thread's share of C . h [tile][C][L], then per buffer u and z
// as T [tile][C] (C channels a block, L threads a channel).
int64_t ScanSharedFloats(int dt_rank, int row_pad, int channels, int t_bytes, int buffers) {
  const int64_t wdt = dt_rank > kDtRegisters ? int64_t{dt_rank} * channels : 0;
  return wdt + kScanTile * (buffers * int64_t{row_pad} + ScanDtStride(channels) + kScanThreads +
                            buffers * 2 * int64_t{channels} * t_bytes / 4);
}

bool scan_dt_mma_setting = true;

// x = big + small, each exactly representable in TF32 (10-bit mantissa): three TF32 products
// of such splits (small * big, big * small, big * big) sum to about fp32 accuracy.
__device__ __forceinline__ void SplitTf32(float x, uint32_t& big, uint32_t& small) {
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(big) : "f"(x));
  const float rest = x - __uint_as_float(big);
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(small) : "f"(rest));
}

// d += a (16 x 8, row-major fragment) * b (8 x 8, column fragment), TF32 in, fp32 accumulate.
__device__ __forceinline__ void MmaTf32(float (&d)[4], const uint32_t (&a)[4], uint32_t b0,
                                        uint32_t b1) {
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, "
      "{%8, %9}, {%0, %1, %2, %3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Grid (channel blocks, chunks, groups of sequences). Per tile of time the block stages the
// dt/B/C rows, u and z in shared memory and computes dt = softplus(dt_proj . dt_low + bias) for
// every (row, channel) of the tile once (independent rows: no serial dependency), then runs the
// recurrence, whose only serial dependency is h itself. kDtSteps > 0 (bf16/fp16 activations,
// dt_rank up to 8 * kDtSteps): dt as a tile product on the tensor cores, each warp kChannels / 4
// channels of all 32 rows, with its dt_proj fragments in registers (as few as dt_rank needs:
// registers decide whether three blocks fit on an SM); else dt by FMAs, a thread a (row,
// channel), with its dt_proj row in registers or (dt_rank > kDtRegisters) shared memory. Tiles
// move by asynchronous copies into two buffers where they can, the next tile's copies running
// during the current one's arithmetic.
// Pass 0 (chunked only): scan the chunk from zero (chunk 0 from the true state, which it
// also saves to h_start), store the end state and exp(A * sum dt). Pass 1: rescan from the
// exact entry state with outputs; the last chunk writes the state back.
template <int S, int L, int kPass, int kDtSteps, typename T>
__global__ void __launch_bounds__(kScanThreads, kDtSteps > 0 && L == 4 ? 4 : 3)
    ScanKernel(ScanArgs<T> args) {
  constexpr bool kDtMma = kDtSteps > 0;
  constexpr int kStates = S / L;               // states per thread
  constexpr int kChannels = kScanThreads / L;  // channels per block
  constexpr int kDtStride = ScanDtStride(kChannels);
  constexpr int kWarpTiles = kChannels / 32;      // n8 tiles of dt a warp (kDtMma)
  constexpr int kKSteps = kDtMma ? kDtSteps : 1;  // k8 steps (kDtMma): dt_rank <= 8 * kDtSteps
  static_assert(!kDtMma || (kWarpTiles >= 1 && kWarpTiles <= 2), "2 or 4 threads a channel");
  extern __shared__ __align__(16) float shared[];
  const int dt_rank = args.dt_rank;
  const int dt_pad = args.dt_pad;
  const int row_pad = args.row_pad;
  const bool dt_in_registers = dt_rank <= kDtRegisters;
  const int buffers = args.buffers;
  float* s_wdt = shared;  // [dt_rank][kChannels] where !dt_in_registers
  // [buffers][kScanTile][row_pad]
  float* const s_dbc_buffers = s_wdt + (dt_in_registers ? 0 : dt_rank * kChannels);
  float* s_dt = s_dbc_buffers + buffers * kScanTile * row_pad;  // [kScanTile][kDtStride]
  float* s_out = s_dt + kScanTile * kDtStride;  // [kScanTile][kChannels][L]: shares of C . h
  T* const s_u_buffers = reinterpret_cast<T*>(s_out + kScanTile * kScanThreads);
  T* const s_z_buffers = s_u_buffers + buffers * kScanTile * kChannels;  // [buffers][tile][C]

  const int lane = threadIdx.x % L;
  const int local = threadIdx.x / L;
  const int64_t ch0 = int64_t{blockIdx.x} * kChannels;
  const int64_t di = args.d_inner;
  const bool active = ch0 + local < di;
  const int64_t c = active ? ch0 + local : di - 1;  // inactive threads compute on a copy
  const int64_t chunk = blockIdx.y;

  // The thread's channel for the FMA dt phase and the outputs: consecutive threads take
  // consecutive channels, and each thread always the same one (kScanThreads is a multiple of
  // kChannels).
  const int dt_col = threadIdx.x % kChannels;
  [[maybe_unused]] float w_dt[kDtMma ? 1 : kDtRegisters];
  // kDtMma: the warp's dt_proj fragments (B[k][n] = dt_proj[channel n][k], zero past dt_rank),
  // split for three TF32 products, and the bias of the two channels of each of its outputs.
  const int warp = threadIdx.x / 32, group = (threadIdx.x % 32) / 4, quad = threadIdx.x % 4;
  [[maybe_unused]] uint32_t w_big[kDtMma ? kWarpTiles : 1][kDtMma ? kKSteps : 1][2];
  [[maybe_unused]] uint32_t w_small[kDtMma ? kWarpTiles : 1][kDtMma ? kKSteps : 1][2];
  [[maybe_unused]] float mma_bias[kDtMma ? kWarpTiles : 1][2];
  if constexpr (kDtMma) {
#pragma unroll
    for (int nt = 0; nt < kWarpTiles; ++nt) {
      const int64_t base = ch0 + (warp * kWarpTiles + nt) * 8;
      const float* w_row = args.weights.dt_proj + min(base + group, di - 1) * dt_rank;
#pragma unroll
      for (int ks = 0; ks < kKSteps; ++ks) {
#pragma unroll
        for (int half = 0; half < 2; ++half) {
          const int k = ks * 8 + quad + 4 * half;
          SplitTf32(k < dt_rank ? w_row[k] : 0.0f, w_big[nt][ks][half], w_small[nt][ks][half]);
        }
      }
#pragma unroll
      for (int j = 0; j < 2; ++j) {
        mma_bias[nt][j] = args.weights.dt_proj_bias[min(base + 2 * quad + j, di - 1)];
      }
    }
  } else if (dt_in_registers) {
    // Zero beyond dt_rank.
    const float* w_row = args.weights.dt_proj + min(ch0 + dt_col, di - 1) * dt_rank;
#pragma unroll
    for (int k = 0; k < kDtRegisters; ++k) w_dt[k] = k < dt_rank ? w_row[k] : 0.0f;
  } else {
    for (int i = threadIdx.x; i < dt_rank * kChannels; i += kScanThreads) {
      const int k = i / kChannels, col = i % kChannels;
      s_wdt[i] = args.weights.dt_proj[min(ch0 + col, di - 1) * dt_rank + k];
    }
  }
  // The staged rows' zeros between dt_rank and dt_pad: the tiles never write them.
  for (int i = threadIdx.x; i < buffers * kScanTile * (dt_pad - dt_rank); i += kScanThreads) {
    s_dbc_buffers[(i / (dt_pad - dt_rank)) * row_pad + dt_rank + i % (dt_pad - dt_rank)] = 0.0f;
  }
  const float dt_bias = args.weights.dt_proj_bias[min(ch0 + dt_col, di - 1)];
  const float d_out = args.weights.d[min(ch0 + dt_col, di - 1)];  // D of the output channel
  // 16-byte moves of u, z and y where the block's channels are all inside d_inner; then each
  // thread's output chunk is always the same kVector channels, whose D it keeps.
  constexpr int kVector = kScanVector<T>;
  constexpr int kChunks = kChannels / kVector;  // chunks a row
  static_assert(kScanThreads % kChunks == 0, "a thread's output chunk is always the same");
  const bool vector_block = args.vector && ch0 + kChannels <= di;
  const bool pipelined = vector_block && buffers == 2;
  float d_chunk[kVector];
#pragma unroll
  for (int k = 0; k < kVector; ++k) {
    d_chunk[k] = args.weights.d[min(ch0 + (threadIdx.x % kChunks) * kVector + k, di - 1)];
  }
  constexpr float kLog2e = 1.4426950408889634f;
  const int first_state = lane * kStates;
  float a2[kStates];
#pragma unroll
  for (int j = 0; j < kStates; ++j) a2[j] = args.weights.a[c * S + first_state + j] * kLog2e;
  // Weights only above this line: the kernel before may still be running.
  WaitThenRelease();
  const int64_t per_chunk = di * S;
  const int row_length = dt_rank + 2 * S;

  const int64_t b_begin = int64_t{blockIdx.z} * args.sequences_per_block;
  const int64_t b_end = min(args.batch, b_begin + args.sequences_per_block);
  for (int64_t b = b_begin; b < b_end; ++b) {
    float* state = args.ssm_states + args.slots[b] * args.ssm_slot_stride + c * S + first_state;
    float* h_local = args.scratch + (b * args.chunks) * per_chunk + c * S + first_state;
    float* decay = h_local + args.batch * args.chunks * per_chunk;
    float* h_start = args.scratch + 2 * args.batch * args.chunks * per_chunk + b * per_chunk +
                     c * S + first_state;
    float h[kStates];
#pragma unroll
    for (int j = 0; j < kStates; ++j) {
      float value;
      if (args.chunks == 1) {
        value = state[j];
      } else if (kPass == 0) {
        value = 0.0f;
        if (chunk == 0) {
          value = state[j];
          if (active) h_start[j] = value;
        }
      } else if (chunk == 0) {
        value = h_start[j];
      } else {
        value = h_local[j];
        for (int64_t k = 1; k < chunk; ++k) {
          value = decay[k * per_chunk + j] * value + h_local[k * per_chunk + j];
        }
      }
      h[j] = value;
    }

    const int64_t t0 = chunk * args.chunk_length;
    const int64_t t1 = min(args.length, t0 + args.chunk_length);
    // Stages the tile at `tile` into buffer `buffer`: 16-byte asynchronous copies (committed by
    // the caller) or, for blocks that cannot take them, loads and stores an element at a time.
    // A warp a dbc row (no division by the row length); B and C move to dt_pad.
    auto stage = [&](int64_t tile, int buffer) {
      const int n = static_cast<int>(min(int64_t{kScanTile}, t1 - tile));
      const int64_t row0 = b * args.length + tile;
      float* s_dbc = s_dbc_buffers + buffer * kScanTile * row_pad;
      T* s_u = s_u_buffers + buffer * kScanTile * kChannels;
      T* s_z = s_z_buffers + buffer * kScanTile * kChannels;
      if (vector_block) {
        for (int r = threadIdx.x / 32; r < n; r += kScanThreads / 32) {
          const float* source = args.dbc + (row0 + r) * args.ld_dbc;
          for (int col = 4 * (threadIdx.x % 32); col < row_length; col += 4 * 32) {
            CopyAsync16(s_dbc + r * row_pad + StagedColumn(col, dt_rank, dt_pad), source + col);
          }
        }
        for (int i = threadIdx.x; i < n * kChunks; i += kScanThreads) {
          const int r = i / kChunks, col = (i % kChunks) * kVector;
          CopyAsync16(s_u + r * kChannels + col, args.u + (row0 + r) * di + ch0 + col);
          if (kPass == 1) {
            CopyAsync16(s_z + r * kChannels + col,
                        args.uz + (row0 + r) * args.ld_uz + di + ch0 + col);
          }
        }
        return;
      }
      for (int r = threadIdx.x / 32; r < n; r += kScanThreads / 32) {
        for (int col = threadIdx.x % 32; col < row_length; col += 32) {
          s_dbc[r * row_pad + StagedColumn(col, dt_rank, dt_pad)] =
              args.dbc[(row0 + r) * args.ld_dbc + col];
        }
      }
      for (int i = threadIdx.x; i < n * kChannels; i += kScanThreads) {
        const int r = i / kChannels, col = i % kChannels;
        const int64_t ch = min(ch0 + col, di - 1);
        s_u[i] = args.u[(row0 + r) * di + ch];
        if (kPass == 1) s_z[i] = args.uz[(row0 + r) * args.ld_uz + di + ch];
      }
    };
    if (pipelined && t0 < t1) {
      __syncthreads();  // buffer 0 is free (a block's earlier sequence may have used it)
      stage(t0, 0);
      CopyAsyncCommit();
    }
    float dt_sum = 0.0f;
    int buffer = 0;
    for (int64_t tile = t0; tile < t1; tile += kScanTile) {
      const int n = static_cast<int>(min(int64_t{kScanTile}, t1 - tile));
      const int64_t row0 = b * args.length + tile;
      if (pipelined) {
        // This tile's copies have landed, and every thread is past the previous tile (so the
        // other buffer, s_dt and s_out are free): start the next tile's copies.
        CopyAsyncWait();
        __syncthreads();
        if (tile + kScanTile < t1) {
          stage(tile + kScanTile, buffer ^ 1);
          CopyAsyncCommit();
        }
      } else {
        __syncthreads();  // the previous tile is consumed (and s_wdt written, the first time)
        stage(tile, 0);
        if (vector_block) {
          CopyAsyncCommit();
          CopyAsyncWait();
        }
        __syncthreads();
      }
      const float* s_dbc = s_dbc_buffers + buffer * kScanTile * row_pad;
      const T* s_u = s_u_buffers + buffer * kScanTile * kChannels;
      const T* s_z = s_z_buffers + buffer * kScanTile * kChannels;
      if (pipelined) buffer ^= 1;
      if constexpr (kDtMma) {
        // All 32 rows (rows past n hold stale values: their dt is never read).
        float acc[2][kWarpTiles][4] = {};
#pragma unroll
        for (int ks = 0; ks < kKSteps; ++ks) {
          if (ks * 8 >= dt_rank) break;
#pragma unroll
          for (int mt = 0; mt < 2; ++mt) {
            const float* a_row = s_dbc + (mt * 16 + group) * row_pad + ks * 8 + quad;
            const float a[4] = {a_row[0], a_row[8 * row_pad], a_row[4], a_row[8 * row_pad + 4]};
            uint32_t big[4], small[4];
#pragma unroll
            for (int i = 0; i < 4; ++i) SplitTf32(a[i], big[i], small[i]);
#pragma unroll
            for (int nt = 0; nt < kWarpTiles; ++nt) {
              MmaTf32(acc[mt][nt], small, w_big[nt][ks][0], w_big[nt][ks][1]);
              MmaTf32(acc[mt][nt], big, w_small[nt][ks][0], w_small[nt][ks][1]);
              MmaTf32(acc[mt][nt], big, w_big[nt][ks][0], w_big[nt][ks][1]);
            }
          }
        }
#pragma unroll
        for (int mt = 0; mt < 2; ++mt) {
#pragma unroll
          for (int nt = 0; nt < kWarpTiles; ++nt) {
            float* out =
                s_dt + (mt * 16 + group) * kDtStride + (warp * kWarpTiles + nt) * 8 + 2 * quad;
            const float* v = acc[mt][nt];
            *reinterpret_cast<float2*>(out) =
                make_float2(FastMath<T>::Softplus(v[0] + mma_bias[nt][0]),
                            FastMath<T>::Softplus(v[1] + mma_bias[nt][1]));
            *reinterpret_cast<float2*>(out + 8 * kDtStride) =
                make_float2(FastMath<T>::Softplus(v[2] + mma_bias[nt][0]),
                            FastMath<T>::Softplus(v[3] + mma_bias[nt][1]));
          }
        }
      } else {
        // A warp shares its row (a broadcast read) and reads consecutive channels of s_wdt.
        for (int i = threadIdx.x; i < n * kChannels; i += kScanThreads) {
          const float* row = s_dbc + (i / kChannels) * row_pad;
          float* dt_out = s_dt + (i / kChannels) * kDtStride + dt_col;
          if (dt_in_registers) {
            // 16-byte reads of the row (row_pad and the row's start are multiples of 4
            // floats); a read past dt_rank lands on the zeros before dt_pad, which meet zero
            // weights. Same partial sums as DtFromShared.
            float acc[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
            for (int k = 0; k < kDtRegisters; k += 4) {
              if (k < dt_rank) {
                const float4 r4 = *reinterpret_cast<const float4*>(row + k);
                acc[0] += r4.x * w_dt[k];
                acc[1] += r4.y * w_dt[k + 1];
                acc[2] += r4.z * w_dt[k + 2];
                acc[3] += r4.w * w_dt[k + 3];
              }
            }
            *dt_out = FastMath<T>::Softplus((acc[0] + acc[1]) + (acc[2] + acc[3]) + dt_bias);
          } else {
            *dt_out = DtFromShared<T>(row, s_wdt, dt_rank, kChannels, dt_col, dt_bias);
          }
        }
      }
      __syncthreads();
      // Unrolled so that the exponentials of later steps (independent of h) overlap the
      // state updates of earlier ones.
#pragma unroll 4
      for (int r = 0; r < n; ++r) {
        const float dt = s_dt[r * kDtStride + local];
        const float input = ToFloat(s_u[r * kChannels + local]);
        const float dt_input = dt * input;
        const float* bs = s_dbc + r * row_pad + dt_pad + first_state;
        float bv[kStates], cv[kStates];
        if constexpr (kStates % 4 == 0) {
          // 16-byte aligned: dt_pad, row_pad and first_state are multiples of 4 floats.
#pragma unroll
          for (int j = 0; j < kStates; j += 4) {
            const float4 b4 = *reinterpret_cast<const float4*>(bs + j);
            bv[j] = b4.x, bv[j + 1] = b4.y, bv[j + 2] = b4.z, bv[j + 3] = b4.w;
            if (kPass == 1) {
              const float4 c4 = *reinterpret_cast<const float4*>(bs + S + j);
              cv[j] = c4.x, cv[j + 1] = c4.y, cv[j + 2] = c4.z, cv[j + 3] = c4.w;
            }
          }
        } else {
#pragma unroll
          for (int j = 0; j < kStates; ++j) bv[j] = bs[j], cv[j] = bs[S + j];
        }
        float out = 0.0f;
#pragma unroll
        for (int j = 0; j < kStates; ++j) {
          h[j] = FastMath<T>::Exp2(dt * a2[j]) * h[j] + dt_input * bv[j];
          if (kPass == 1) out += h[j] * cv[j];
        }
        if (kPass == 0) {
          dt_sum += dt;
        } else {
          s_out[(r * kChannels + local) * L + lane] = out;
        }
      }
      if (kPass == 1) {
        // The outputs of the tile, off the recurrence's serial path and stored coalesced: every
        // thread kVector channels of a row (always the same channels), or a (row, channel) (its
        // dt channel).
        __syncthreads();
        if (vector_block) {
          for (int i = threadIdx.x; i < n * kChunks; i += kScanThreads) {
            const int r = i / kChunks, col = (i % kChunks) * kVector;
            float values[kVector];
#pragma unroll
            for (int k = 0; k < kVector; ++k) {
              const int at = r * kChannels + col + k;
              values[k] = (SumShares<L>(s_out + at * L) + d_chunk[k] * ToFloat(s_u[at])) *
                          FastMath<T>::Silu(ToFloat(s_z[at]));
            }
            StoreVector(values, args.y + (row0 + r) * di + ch0 + col);
          }
        } else {
          for (int i = threadIdx.x; i < n * kChannels; i += kScanThreads) {
            if (ch0 + dt_col >= di) continue;
            args.y[(row0 + i / kChannels) * di + ch0 + dt_col] =
                FromFloat<T>((SumShares<L>(s_out + i * L) + d_out * ToFloat(s_u[i])) *
                             FastMath<T>::Silu(ToFloat(s_z[i])));
          }
        }
      }
    }
    if (!active) continue;
#pragma unroll
    for (int j = 0; j < kStates; ++j) {
      if (kPass == 0) {
        h_local[chunk * per_chunk + j] = h[j];
        decay[chunk * per_chunk + j] = FastMath<T>::Exp2(a2[j] * dt_sum);
      } else if (chunk == args.chunks - 1) {
        state[j] = h[j];
      }
    }
  }
}

// The decode step (length 1): a thread per (sequence, channel) holding all S states, so that
// nothing waits on a neighbour. A block takes C channels (a multiple of 32: a warp holds 32
// channels of one sequence) of Q sequences at once (then the next Q * gridDim.y, if any): its
// dt_proj rows are staged in shared memory once for them all (before waiting for the kernel
// before: they are weights), the sequences' dt/B/C rows too (16 bytes at a time where aligned;
// each is read by all the block's channels), then each thread reads u, z and its state once
// (the states staged through shared memory, StageStates), updates the state and writes y.
// Grid (channel blocks, sequence groups).
//
// Blocks of 32 channels x 4 sequences where a launch has at most 8 sequences or runs beside
// others (the branches of a split decode step; until 2026-12-04 beside 3 or more), else of 64 x
// 4 (ScanStepBlockFor; SetScanStepBlock forces one). Measured on the H200 (2026-12-03,
// docs/benchmarks.md): 32 x 4 decodes batch 1 at 2,549 tok/s against 2,431 and batch 8 at 21,205
// against 19,659, and a batch-64 step in four branches of 16 in 658.3-658.5 us against 660.5-660.9
// (fresh processes; 657.2-658.0 against 665.1-666.5 on a slower machine): its 128-thread blocks,
// each staging 6 KB of dt_proj instead of 12, find room beside the other branches' kernels sooner.
// Alone, 16 and 256 sequences keep 64 x 4: 36,834 against 33,415 and 186,215 against 171,783
// tok/s. (32 x 2, 32 x 1 and 32 x 8 at batch 64: 717.3, 768.6 and 657.0 us.)
//
// The 32 x 4 blocks are now also held to 5 blocks a multiprocessor (__launch_bounds__: at most
// 102 registers; ptxas gives the bf16 kernel 95 and no spills, where with 3 it took 151), and
// branches beside one or more others take them too (H200, 2026-12-04): a batch-64 step in four
// branches of 16 took 630.7-634.4 us against 652.5-654.8 (fresh processes), 640.8-641.0 /
// 650.1-650.8 with the blocks held to 4 / 6 (125 / 80 registers); 32 sequences in two branches
// 504.1 against 515.0 with 64 x 4 x 3, 8 sequences 366.4 against 369.7 with 32 x 4 x 3, one
// 391.9 against 391.1. Their blocks then fit on multiprocessors where the other branches'
// in_proj and out_proj blocks hold most of the registers. 16 (one branch) and 256 sequences keep
// 64 x 4 x 3 (474.9 and 1,389.6 us with 32 x 4 x 5, against 423.1 and 1,363.1).
constexpr ScanStepBlock kScanStepBlocks[] = {{32, 4, 5}, {64, 4, 3}, {32, 4, 3}};
ScanStepBlock scan_step_block_setting = {0, 0};  // SetScanStepBlock; {0, 0}: by launch

ScanStepBlock ScanStepBlockFor(int64_t sequences, int beside) {
  if (scan_step_block_setting.channels != 0) return scan_step_block_setting;
  return sequences <= 8 || beside >= 2 ? kScanStepBlocks[0] : kScanStepBlocks[1];
}
// At most this many sequence groups a launch; more sequences loop inside the blocks.
constexpr int kStepMaxGroups = 32;
int scan_step_groups_setting = kStepMaxGroups;  // SetScanStepGroups

// The step kernel reads each state as float4s: the slot stride and d_state keep them aligned.
template <typename T>
bool ScanStepApplies(const ScanArgs<T>& args) {
  return args.ssm_slot_stride % 4 == 0 && reinterpret_cast<uintptr_t>(args.ssm_states) % 16 == 0;
}

// A sequence's states of the block's channels are contiguous (C * S floats), and
// each warp of the step holds 32 channels of one sequence. A thread's own S states are 4 S
// bytes apart from its neighbours', so loads and stores straight from and to its registers
// would touch a fraction of each sector an instruction (ncu, 2026-12-02: two thirds of the
// kernel's sectors excess, 11% of DRAM bandwidth). They move through shared memory instead,
// a warp 16 consecutive bytes a lane: [channel][S + 4] rows, the padding keeping each
// thread's float4 reads of its row free of bank conflicts for S = 8, 16 and 32 (two-way for
// S = 4; the copies between global and shared memory are two-way for S = 8 and 16).
template <int S>
constexpr int kStateRow = S + 4;

// The warp's 32 channels of one sequence (`states`: the slot's states of this layer) into
// `s_states` (the sequence's [C][kStateRow] rows) by asynchronous copies;
// channels past d_inner are zeros.
template <int S>
__device__ __forceinline__ void StageStates(const float* states, int64_t ch0, int64_t di,
                                            float* s_states) {
  constexpr int kPieces = S / 4;  // 16-byte pieces a channel
  const int first = (threadIdx.x / 32) * 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int p = lane; p < 32 * kPieces; p += 32) {
    const int channel = first + p / kPieces, piece = p % kPieces;
    const bool valid = ch0 + channel < di;
    CopyAsync16OrZero(s_states + channel * kStateRow<S> + piece * 4,
                      states + (valid ? (ch0 + channel) * S + piece * 4 : 0), valid);
  }
  CopyAsyncCommit();
}

// The warp's 32 channels back from `s_states` (after a __syncwarp), coalesced.
template <int S>
__device__ __forceinline__ void StoreStates(const float* s_states, int64_t ch0, int64_t di,
                                            float* states) {
  constexpr int kPieces = S / 4;
  const int first = (threadIdx.x / 32) * 32, lane = threadIdx.x % 32;
#pragma unroll
  for (int p = lane; p < 32 * kPieces; p += 32) {
    const int channel = first + p / kPieces, piece = p % kPieces;
    if (ch0 + channel >= di) continue;
    *reinterpret_cast<float4*>(states + (ch0 + channel) * S + piece * 4) =
        *reinterpret_cast<const float4*>(s_states + channel * kStateRow<S> + piece * 4);
  }
}

template <int S, int C, int Q, typename T, int kBlocksPerSm>
__global__ void __launch_bounds__(C* Q, kBlocksPerSm) ScanStepKernel(ScanArgs<T> args) {
  constexpr int kStepChannels = C, kStepSequences = Q, kStepThreads = C * Q;
  // The staged dt_proj rows, transposed ([dt_rank][kStepStride]): the padding keeps both the
  // staging stores (consecutive k) and DtFromShared's reads (consecutive channels) free of
  // shared-memory bank conflicts.
  constexpr int kStepStride = C + 1;
  static_assert(C % 32 == 0, "a warp holds 32 channels of one sequence");
  extern __shared__ __align__(16) float shared[];
  const int dt_rank = args.dt_rank;
  float* s_wdt = shared;  // [dt_rank][kStepStride]
  // The dt/B/C rows of the block's kStepSequences sequences, laid out as the prefill scan
  // stages them (B at dt_pad): [kStepSequences][row_pad].
  float* s_rows = s_wdt + ((dt_rank * kStepStride + 3) / 4) * 4;
  const int64_t di = args.d_inner;
  const int64_t ch0 = int64_t{blockIdx.x} * kStepChannels;
  const int local = threadIdx.x;
  const bool active = ch0 + local < di;
  const int64_t c = active ? ch0 + local : di - 1;  // inactive threads compute on a copy
  const int thread = threadIdx.y * kStepChannels + threadIdx.x;
  // The block's dt_proj rows are contiguous: read in order (coalesced), stored transposed,
  // through asynchronous copies, all of a thread's words in flight at once (plain loads, each
  // behind the branch of the store before it, went out one at a time).
  const int64_t channels = min(int64_t{kStepChannels}, di - ch0);
  const float* w_rows = args.weights.dt_proj + ch0 * dt_rank;
  for (int i = thread; i < dt_rank * kStepChannels; i += kStepThreads) {
    const int col = i / dt_rank, k = i % dt_rank;
    CopyAsync4OrZero(s_wdt + k * kStepStride + col, col < channels ? w_rows + i : w_rows,
                     col < channels);
  }
  CopyAsyncCommit();
  const float dt_bias = args.weights.dt_proj_bias[c];
  const float d = args.weights.d[c];
  constexpr float kLog2e = 1.4426950408889634f;
  float a2[S];
#pragma unroll
  for (int j = 0; j < S; ++j) a2[j] = args.weights.a[c * S + j] * kLog2e;
  // The states of the block's first group of sequences too: only this kernel of the step
  // writes them (the slots were written before the step began), so their DRAM latency may
  // overlap the kernel before.
  float* s_states = s_rows + kStepSequences * args.row_pad;  // 16-byte aligned: row_pad % 4 == 0
  float* s_sequence = s_states + threadIdx.y * kStepChannels * kStateRow<S>;
  float* s_own = s_sequence + local * kStateRow<S>;
  const int64_t first_b = int64_t{blockIdx.y} * kStepSequences + threadIdx.y;
  if (first_b < args.batch) {
    StageStates<S>(args.ssm_states + args.slots[first_b] * args.ssm_slot_stride, ch0, di,
                   s_sequence);
  } else {
    CopyAsyncCommit();  // an empty group: the latest is the states' either way
  }
  // Weights and states only above this line: the kernel before may still be running.
  WaitThenRelease();
  // This thread's dt_proj words, not yet the states (the group loop's first barrier then
  // covers everyone's words).
  CopyAsyncWaitAllButLatest();
  const int row_length = dt_rank + 2 * S;
  const int dt_pad = args.dt_pad, row_pad = args.row_pad;
  // Groups of kStepSequences sequences, every thread of the block through every group (the
  // rows are staged between barriers).
  for (int64_t group = blockIdx.y; group * kStepSequences < args.batch; group += gridDim.y) {
    const int64_t first = group * kStepSequences;
    const int rows = static_cast<int>(min(int64_t{kStepSequences}, args.batch - first));
    __syncthreads();  // s_wdt written; the previous group's rows consumed
    if (args.vector) {
      const int quads = row_length / 4;
      for (int i = thread; i < rows * quads; i += kStepThreads) {
        const int r = i / quads, col = (i % quads) * 4;
        const float4 sum = SumSlices<float4>(args.dbc + (first + r) * args.ld_dbc + col,
                                             args.dbc_parts, args.dbc_part_stride);
        *reinterpret_cast<float4*>(s_rows + r * row_pad + StagedColumn(col, dt_rank, dt_pad)) = sum;
      }
    } else {
      for (int i = thread; i < rows * row_length; i += kStepThreads) {
        const int r = i / row_length, col = i % row_length;
        const float sum = SumSlices<float>(args.dbc + (first + r) * args.ld_dbc + col,
                                           args.dbc_parts, args.dbc_part_stride);
        s_rows[r * row_pad + StagedColumn(col, dt_rank, dt_pad)] = sum;
      }
    }
    __syncthreads();
    const int64_t b = first + threadIdx.y;
    if (b >= args.batch) continue;                      // the whole warp: one sequence
    const float* row = s_rows + threadIdx.y * row_pad;  // the same for a warp: broadcast
    float* states = args.ssm_states + args.slots[b] * args.ssm_slot_stride;
    const float input = ToFloat(args.u[b * di + c]);
    const float z = ToFloat(args.uz[b * args.ld_uz + di + c]);
    if (group != blockIdx.y) StageStates<S>(states, ch0, di, s_sequence);
    CopyAsyncWait();
    __syncwarp();
    float h[S];
#pragma unroll
    for (int j = 0; j < S; j += 4) {
      const float4 v = *reinterpret_cast<const float4*>(s_own + j);
      h[j] = v.x, h[j + 1] = v.y, h[j + 2] = v.z, h[j + 3] = v.w;
    }
    const float dt = DtFromShared<T>(row, s_wdt, dt_rank, kStepStride, local, dt_bias);
    const float dt_input = dt * input;
    const float* bs = row + dt_pad;  // 16-byte aligned: dt_pad and row_pad multiples of 4
    float out = 0.0f;
#pragma unroll
    for (int j = 0; j < S; j += 4) {
      const float4 b4 = *reinterpret_cast<const float4*>(bs + j);
      const float4 c4 = *reinterpret_cast<const float4*>(bs + S + j);
      const float bv[4] = {b4.x, b4.y, b4.z, b4.w}, cv[4] = {c4.x, c4.y, c4.z, c4.w};
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        h[j + e] = FastMath<T>::Exp2(dt * a2[j + e]) * h[j + e] + dt_input * bv[e];
        out += h[j + e] * cv[e];
      }
    }
#pragma unroll
    for (int j = 0; j < S; j += 4) {
      *reinterpret_cast<float4*>(s_own + j) = make_float4(h[j], h[j + 1], h[j + 2], h[j + 3]);
    }
    __syncwarp();
    StoreStates<S>(s_sequence, ch0, di, states);
    if (active) args.y[b * di + c] = FromFloat<T>((out + d * input) * FastMath<T>::Silu(z));
    // The next group stages its states over these rows only after the loop's two barriers.
  }
}

// kBlocksPerSm: the blocks a multiprocessor the kernel's registers are held to (2 with 32
// states a thread, which need them).
template <int S, int C, int Q, typename T, int kBlocksPerSm = (S >= 32 ? 2 : 3)>
absl::Status LaunchScanStepBlock(const ScanArgs<T>& args, cudaStream_t stream) {
  constexpr int kStepChannels = C, kStepSequences = Q, kStepStride = C + 1;
  constexpr int64_t kStateFloats = int64_t{kStepSequences} * kStepChannels * kStateRow<S>;
  const int64_t floats =
      (int64_t{args.dt_rank} * kStepStride + 3) / 4 * 4 + kStepSequences * args.row_pad;
  const int64_t bytes = (floats + kStateFloats) * int64_t{sizeof(float)};
  if (bytes > 48 * 1024) {
    if (absl::Status s =
            CudaStatus(cudaFuncSetAttribute(ScanStepKernel<S, C, Q, T, kBlocksPerSm>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            static_cast<int>(bytes)),
                       "raising the scan step's shared memory");
        !s.ok()) {
      return s;
    }
  }
  const int64_t groups = std::min<int64_t>((args.batch + kStepSequences - 1) / kStepSequences,
                                           scan_step_groups_setting);
  const dim3 grid(static_cast<unsigned int>((args.d_inner + kStepChannels - 1) / kStepChannels),
                  static_cast<unsigned int>(groups));
  return Launched(
      LaunchKernel(MambaProgrammaticLaunch(), ScanStepKernel<S, C, Q, T, kBlocksPerSm>, grid,
                   dim3(kStepChannels, kStepSequences), static_cast<size_t>(bytes), stream, args),
      "selective scan step");
}

template <int S, typename T>
absl::Status LaunchScanStep(const ScanArgs<T>& args, cudaStream_t stream) {
  const ScanStepBlock block = ScanStepBlockFor(args.batch, args.beside);
  if (block.channels == 32) {
    if constexpr (S < 32) {
      if (block.blocks_per_sm == 5) return LaunchScanStepBlock<S, 32, 4, T, 5>(args, stream);
    }
    return LaunchScanStepBlock<S, 32, 4>(args, stream);
  }
  return LaunchScanStepBlock<S, 64, 4>(args, stream);
}

template <int S, int L, int kPass, int kDtSteps, typename T>
absl::Status LaunchScanPass(const ScanArgs<T>& args, const dim3& grid, cudaStream_t stream,
                            const char* name) {
  const int64_t bytes =
      ScanSharedFloats(args.dt_rank, args.row_pad, kScanThreads / L, sizeof(T), args.buffers) *
      int64_t{sizeof(float)};
  if (bytes > 48 * 1024) {
    if (absl::Status s =
            CudaStatus(cudaFuncSetAttribute(ScanKernel<S, L, kPass, kDtSteps, T>,
                                            cudaFuncAttributeMaxDynamicSharedMemorySize,
                                            static_cast<int>(bytes)),
                       "raising the selective scan's shared memory");
        !s.ok()) {
      return s;
    }
  }
  return Launched(LaunchKernel(MambaProgrammaticLaunch(), ScanKernel<S, L, kPass, kDtSteps, T>,
                               grid, dim3(kScanThreads), static_cast<size_t>(bytes), stream, args),
                  name);
}

template <int S, int L, int kDtSteps, typename T>
absl::Status LaunchScanPasses(const ScanArgs<T>& args, cudaStream_t stream) {
  constexpr int kChannels = kScanThreads / L;
  const dim3 grid(static_cast<unsigned int>((args.d_inner + kChannels - 1) / kChannels),
                  static_cast<unsigned int>(args.chunks),
                  static_cast<unsigned int>((args.batch + args.sequences_per_block - 1) /
                                            args.sequences_per_block));
  if (args.chunks > 1) {
    if (absl::Status s =
            LaunchScanPass<S, L, 0, kDtSteps>(args, grid, stream, "selective scan (chunk states)");
        !s.ok()) {
      return s;
    }
  }
  return LaunchScanPass<S, L, 1, kDtSteps>(args, grid, stream, "selective scan");
}

// dt on the tensor cores where the activations are bf16 or fp16 (fp32 keeps the FMAs and their
// 1e-6 agreement with the CPU path) and the dt_proj fragments fit in registers.
template <int S, int L, typename T>
absl::Status LaunchScan(const ScanArgs<T>& args, cudaStream_t stream) {
  if constexpr (!std::is_same_v<T, float>) {
    if (scan_dt_mma_setting && args.dt_rank <= 48) return LaunchScanPasses<S, L, 6>(args, stream);
    if (scan_dt_mma_setting && args.dt_rank <= 64) return LaunchScanPasses<S, L, 8>(args, stream);
  }
  return LaunchScanPasses<S, L, 0>(args, stream);
}

template <int L, typename T>
absl::Status LaunchScanForStates(int64_t d_state, const ScanArgs<T>& args, cudaStream_t stream) {
  if (args.length == 1 && args.chunks == 1 && ScanStepApplies(args)) {
    switch (d_state) {
      case 4:
        return LaunchScanStep<4>(args, stream);
      case 8:
        return LaunchScanStep<8>(args, stream);
      case 16:
        return LaunchScanStep<16>(args, stream);
      default:
        return LaunchScanStep<32>(args, stream);
    }
  }
  switch (d_state) {
    case 4:
      return LaunchScan<4, L>(args, stream);
    case 8:
      return LaunchScan<8, L>(args, stream);
    case 16:
      return LaunchScan<16, L>(args, stream);
    default:
      return LaunchScan<32, L>(args, stream);
  }
}

__global__ void __launch_bounds__(1024)
    SampleKernel(const float* logits, int64_t vocab, const float* temperature,
                 const uint64_t* params, int32_t* tokens) {
  WaitThenRelease();
  const int64_t row = blockIdx.x;
  const float* values = logits + row * vocab;
  const float temp = *temperature;
  const uint64_t stream_key = SampleStreamKey(params, row);
  float best = -INFINITY;
  int64_t best_index = vocab;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) {
    const float score = SampleScore(values[i], temp, stream_key, i);
    if (score > best || best_index == vocab) {
      best = score;
      best_index = i;
    }
  }
  // (max score, then lowest index) over the block.
  for (int offset = 16; offset > 0; offset /= 2) {
    const float other = __shfl_xor_sync(0xffffffffu, best, offset);
    const int64_t other_index = __shfl_xor_sync(0xffffffffu, best_index, offset);
    if (SampleBetter(other, other_index, best, best_index)) {
      best = other;
      best_index = other_index;
    }
  }
  __shared__ float warp_best[32];
  __shared__ int64_t warp_index[32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    warp_best[warp] = best;
    warp_index[warp] = best_index;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < static_cast<int>(blockDim.x / 32); ++w) {
      if (SampleBetter(warp_best[w], warp_index[w], best, best_index)) {
        best = warp_best[w];
        best_index = warp_index[w];
      }
    }
    tokens[row] = static_cast<int32_t>(best_index < vocab ? best_index : 0);
  }
}

// The multi-block sampler: block (row, part) takes logits [part * span, (part + 1) * span) of
// the row (clipped to vocab), kSampleUnroll loads of float4 (kVector: the row and the span
// start 16-byte aligned) or float a thread in flight at once.
constexpr int kSampleThreads = 256;
constexpr int kSampleUnroll = 4;
constexpr int64_t kSampleTargetBlocks = 512;  // about 4 blocks a multiprocessor on the H200
constexpr int64_t kSampleMinSpan = int64_t{kSampleThreads} * 4;  // a float4 a thread at least

// (best, index) over the block of kSampleThreads, in thread 0 (the others: their warp's).
__device__ __forceinline__ void SampleBlockBest(float& best, int32_t& index) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const float other = __shfl_xor_sync(0xffffffffu, best, offset);
    const int32_t other_index = __shfl_xor_sync(0xffffffffu, index, offset);
    if (SampleBetter(other, other_index, best, index)) {
      best = other;
      index = other_index;
    }
  }
  __shared__ float warp_best[kSampleThreads / 32];
  __shared__ int32_t warp_index[kSampleThreads / 32];
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    warp_best[warp] = best;
    warp_index[warp] = index;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kSampleThreads / 32; ++w) {
      if (SampleBetter(warp_best[w], warp_index[w], best, index)) {
        best = warp_best[w];
        index = warp_index[w];
      }
    }
  }
}

// Folds logit `value` at index i into the thread's (best, index), in increasing i.
__device__ __forceinline__ void SampleTake(float value, int64_t i, float temp, uint64_t stream_key,
                                           int32_t none, float& best, int32_t& index) {
  const float score = SampleScore(value, temp, stream_key, i);
  if (score > best || index == none) {
    best = score;
    index = static_cast<int32_t>(i);
  }
}

// Row `row`'s token, from the thread that decided it: into tokens, and with advance.params set
// also into advance.next_inputs (and record); the last row to finish advances the counter.
// Every block of the launch read params before its row could finish, so the increment is
// seen by none of them.
__device__ __forceinline__ void FinishRow(int32_t* tokens, const SampleAdvance& advance,
                                          int64_t row, int32_t token) {
  tokens[row] = token;
  if (advance.params == nullptr) return;
  advance.next_inputs[row] = token;
  if (advance.record != nullptr) advance.record[row] = token;
  __threadfence();
  if (atomicAdd(advance.rows_done, 1u) == gridDim.x - 1) {
    advance.params[1] += 1;
    *advance.rows_done = 0;
  }
}

// Grid (rows, parts). Each block writes its part's (score, index) to partials[row * parts +
// part] and counts itself in counters[row]; the block that brings the count to `parts` reduces
// the row's parts in part order and puts the counter back to 0. With one part the block writes
// the token directly.
template <bool kVector>
__global__ void __launch_bounds__(kSampleThreads)
    SamplePartKernel(const float* __restrict__ logits, int64_t vocab, int64_t span,
                     const float* temperature, const uint64_t* params, int32_t* tokens,
                     unsigned int* counters, int2* partials, SampleAdvance advance) {
  WaitThenRelease();
  const int64_t row = blockIdx.x;
  const int parts = static_cast<int>(gridDim.y), part = static_cast<int>(blockIdx.y);
  const float* values = logits + row * vocab;
  const float temp = *temperature;
  const uint64_t stream_key = SampleStreamKey(params, row);
  const int32_t none = static_cast<int32_t>(vocab);
  const int64_t begin = part * span, end = begin + span < vocab ? begin + span : vocab;
  float best = -INFINITY;
  int32_t index = none;
  if constexpr (kVector) {
    // begin and end are multiples of 4 (span and vocab are).
    const float4* quads = reinterpret_cast<const float4*>(values);
    const int64_t quad_end = end / 4;
    for (int64_t base = begin / 4 + threadIdx.x; base < quad_end;
         base += int64_t{kSampleUnroll} * kSampleThreads) {
      float4 loaded[kSampleUnroll];
#pragma unroll
      for (int u = 0; u < kSampleUnroll; ++u) {
        const int64_t q = base + int64_t{u} * kSampleThreads;
        if (q < quad_end) loaded[u] = quads[q];
      }
#pragma unroll
      for (int u = 0; u < kSampleUnroll; ++u) {
        const int64_t q = base + int64_t{u} * kSampleThreads;
        if (q < quad_end) {
          SampleTake(loaded[u].x, 4 * q, temp, stream_key, none, best, index);
          SampleTake(loaded[u].y, 4 * q + 1, temp, stream_key, none, best, index);
          SampleTake(loaded[u].z, 4 * q + 2, temp, stream_key, none, best, index);
          SampleTake(loaded[u].w, 4 * q + 3, temp, stream_key, none, best, index);
        }
      }
    }
  } else {
    for (int64_t base = begin + threadIdx.x; base < end;
         base += int64_t{kSampleUnroll} * kSampleThreads) {
      float loaded[kSampleUnroll];
#pragma unroll
      for (int u = 0; u < kSampleUnroll; ++u) {
        const int64_t i = base + int64_t{u} * kSampleThreads;
        if (i < end) loaded[u] = values[i];
      }
#pragma unroll
      for (int u = 0; u < kSampleUnroll; ++u) {
        const int64_t i = base + int64_t{u} * kSampleThreads;
        if (i < end) SampleTake(loaded[u], i, temp, stream_key, none, best, index);
      }
    }
  }
  SampleBlockBest(best, index);
  if (parts == 1) {
    if (threadIdx.x == 0) FinishRow(tokens, advance, row, index < none ? index : 0);
    return;
  }
  __shared__ bool last;
  if (threadIdx.x == 0) {
    // Publish the part, then count it: the fence orders the store before the count for any
    // block that sees the count (the threadFenceReduction pattern of the CUDA samples).
    __stcg(&partials[row * parts + part], make_int2(__float_as_int(best), index));
    __threadfence();
    const unsigned int done = atomicAdd(&counters[row], 1u);
    last = done == static_cast<unsigned int>(parts - 1);
    // Acquire side: the other parts' stores, fenced before their counts, are seen after this
    // fence (and, through the barrier, by the block's other threads).
    if (last) __threadfence();
  }
  __syncthreads();
  if (!last) return;
  // The last block: every part is published. Loads through L2 (ld.global.cg), since L1 is
  // not coherent with the other multiprocessors' stores.
  best = -INFINITY;
  index = none;
  for (int p = threadIdx.x; p < parts; p += kSampleThreads) {
    const int2 other = __ldcg(&partials[row * parts + p]);
    const float other_best = __int_as_float(other.x);
    if (SampleBetter(other_best, other.y, best, index)) {
      best = other_best;
      index = other.y;
    }
  }
  SampleBlockBest(best, index);
  if (threadIdx.x == 0) {
    counters[row] = 0;  // clean for the next call (ordered after this kernel on the stream)
    FinishRow(tokens, advance, row, index < none ? index : 0);
  }
}

struct SamplePlan {
  int64_t parts = 1, span = 0;
};

// Parts so that rows * parts is about kSampleTargetBlocks, each of kSampleMinSpan logits at
// least, the span a multiple of 4 (float4 loads) and no part empty.
SamplePlan PlanSample(int64_t rows, int64_t vocab) {
  SamplePlan plan;
  if (rows < 1 || vocab < 1) return plan;
  const int64_t most = std::max<int64_t>(1, (vocab + kSampleMinSpan - 1) / kSampleMinSpan);
  plan.parts = std::clamp<int64_t>((kSampleTargetBlocks + rows - 1) / rows, 1, most);
  plan.span = ((vocab + plan.parts - 1) / plan.parts + 3) / 4 * 4;
  plan.parts = (vocab + plan.span - 1) / plan.span;
  return plan;
}

// The counters come first (as many as max_rows, whatever a call's rows), then the partials.
int64_t SampleCounterBytes(int64_t max_rows) {
  return (std::max<int64_t>(max_rows, 0) * static_cast<int64_t>(sizeof(unsigned int)) + 15) / 16 *
         16;
}

__global__ void AdvanceKernel(const int32_t* sampled, int64_t rows, int32_t* next_inputs,
                              uint64_t* params, int32_t* record) {
  WaitThenRelease();
  const int64_t index = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  if (index < rows) {
    const int32_t token = sampled[index];
    next_inputs[index] = token;
    if (record != nullptr) record[index] = token;
  }
  if (index == 0) params[1] += 1;
}

}  // namespace

void SetScanDtOnTensorCores(bool on) { scan_dt_mma_setting = on; }

absl::Status SetScanLanes(int lanes) {
  if (lanes != 0 && lanes != 2 && lanes != 4) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the selective scan runs 2 or 4 threads a channel (0: chosen by shape), not ", lanes));
  }
  scan_lanes_setting = lanes;
  return absl::OkStatus();
}

absl::Status SetScanStepBlock(ScanStepBlock block) {
  if (block.channels == 0 && block.sequences == 0) {
    scan_step_block_setting = {0, 0};
    return absl::OkStatus();
  }
  for (const ScanStepBlock& known : kScanStepBlocks) {
    if (block == known) {
      scan_step_block_setting = block;
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("the decode scan step's blocks are 32 x 4 (3 or 5 a multiprocessor) or 64 x 4 "
                   "(3) (channels x sequences; 0 x 0 chooses by launch), not ",
                   block.channels, " x ", block.sequences, " (", block.blocks_per_sm, ")"));
}

absl::Span<const ScanStepBlock> ScanStepBlocks() { return kScanStepBlocks; }

absl::Status SetScanStepGroups(int groups) {
  if (groups < 1 || groups > kStepMaxGroups) {
    return absl::InvalidArgumentError(absl::StrCat("the decode scan step runs 1..", kStepMaxGroups,
                                                   " groups of sequences, not ", groups));
  }
  scan_step_groups_setting = groups;
  return absl::OkStatus();
}

int ScanLanes(int64_t batch, int64_t length, int64_t d_inner) {
  if (scan_lanes_setting != 0) return scan_lanes_setting;
  // Measured on the H200 at the mamba-130m shape (docs/benchmarks.md, 2026-12-02): 2 lanes
  // scanned 16 x 2048 tokens in 1,244 us against 1,811 with 4; 4 lanes 1 x 2048 in 160 us
  // against 190 (twice the threads, half the chunks).
  return length > 1 && batch * d_inner >= kTwoLaneChannels ? 2 : 4;
}

absl::Status EmbeddingGather(const int32_t* tokens, int64_t rows, const void* embedding,
                             WeightDtype dtype, int64_t d_model, float* x, cudaStream_t stream) {
  if (rows == 0) return absl::OkStatus();
  return Dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    return Launched(LaunchKernel(MambaProgrammaticLaunch(), EmbeddingKernel<T>,
                                 dim3(static_cast<unsigned int>(rows)), dim3(256), 0, stream,
                                 tokens, static_cast<const T*>(embedding), d_model, x),
                    "embedding gather");
  });
}

absl::Status RmsNorm(const float* x, int64_t out_rows, int64_t row_step, int64_t row_offset,
                     int64_t n, const float* weight, float eps, void* out, WeightDtype out_dtype,
                     cudaStream_t stream) {
  if (out_rows == 0) return absl::OkStatus();
  const int threads = n >= 1024 ? 512 : 256;
  return Dispatch(out_dtype, [&](auto zero) {
    using T = decltype(zero);
    // A warp a row where the row fits its registers and 16-byte loads apply; decode's few
    // rows keep the block a row (one warp would then do all the work).
    const int64_t per_lane = (n / 4 + 31) / 32;
    if (out_rows >= kWarpNormMinRows && n % 4 == 0 && per_lane <= 24 && Aligned(x, 16) &&
        Aligned(weight, 16) && Aligned(out, 4 * sizeof(T))) {
      const dim3 grid(Blocks(out_rows, 8));
      auto launch = [&](auto kernel) {
        return Launched(
            LaunchKernel(MambaProgrammaticLaunch(), kernel, grid, dim3(256), 0, stream, x, out_rows,
                         row_step, row_offset, n, weight, eps, static_cast<T*>(out)),
            "RMSNorm");
      };
      if (per_lane <= 8) return launch(RmsNormWarpKernel<T, 8>);
      if (per_lane <= 16) return launch(RmsNormWarpKernel<T, 16>);
      return launch(RmsNormWarpKernel<T, 24>);
    }
    return Launched(
        LaunchKernel(MambaProgrammaticLaunch(), RmsNormKernel<T>,
                     dim3(static_cast<unsigned int>(out_rows)), dim3(threads), 0, stream, x,
                     row_step, row_offset, n, weight, eps, static_cast<T*>(out)),
        "RMSNorm");
  });
}

absl::Status CausalConv1d(const void* uz, int64_t ld_uz, int64_t batch, int64_t length,
                          int64_t d_inner, int64_t d_conv, const float* weight, const float* bias,
                          const int32_t* slots, float* conv_states, int64_t conv_slot_stride,
                          void* u, WeightDtype gemm_dtype, cudaStream_t stream) {
  if (d_conv < 2 || d_conv > kMaxConv) {
    return absl::InvalidArgumentError(
        absl::StrCat("the GPU convolution supports d_conv 2..", kMaxConv, ", not ", d_conv));
  }
  if (batch == 0 || length == 0) return absl::OkStatus();
  const int dc = static_cast<int>(d_conv);
  return Dispatch(gemm_dtype, [&](auto zero) {
    using T = decltype(zero);
    const T* in = static_cast<const T*>(uz);
    T* out = static_cast<T*>(u);
    if (length == 1) {
      return Launched(
          LaunchKernel(MambaProgrammaticLaunch(), ConvStepKernel<T>,
                       dim3(Blocks(batch * d_inner, 256)), dim3(256), 0, stream, in, ld_uz, batch,
                       d_inner, dc, weight, bias, slots, conv_states, conv_slot_stride, out),
          "conv1d step");
    }
    const int64_t groups = batch * ((length + kConvRows - 1) / kConvRows);
    const unsigned int grid_y = static_cast<unsigned int>(std::min<int64_t>(65535, groups));
    const float* states = conv_states;
    // Two channels a thread where the pairs are aligned (even d_inner and ld_uz, the usual
    // case) and d_conv is one models use; else a channel a thread.
    const bool pairs = d_inner % 2 == 0 && ld_uz % 2 == 0 && Aligned(in, 2 * sizeof(T)) &&
                       Aligned(out, 2 * sizeof(T)) && dc <= 4;
    auto launch_pairs = [&](auto kernel) {
      return LaunchKernel(MambaProgrammaticLaunch(), kernel, dim3(Blocks(d_inner / 2, 128), grid_y),
                          dim3(128), 0, stream, in, ld_uz, batch, static_cast<int>(length), d_inner,
                          weight, bias, slots, states, conv_slot_stride, out);
    };
    const cudaError_t launched =
        !pairs    ? LaunchKernel(MambaProgrammaticLaunch(), ConvKernel<T>,
                                 dim3(Blocks(d_inner, 128), grid_y), dim3(128), 0, stream, in, ld_uz,
                                 batch, static_cast<int>(length), d_inner, dc, weight, bias, slots,
                                 states, conv_slot_stride, out)
        : dc == 4 ? launch_pairs(ConvPairKernel<T, 4>)
        : dc == 3 ? launch_pairs(ConvPairKernel<T, 3>)
                  : launch_pairs(ConvPairKernel<T, 2>);
    if (absl::Status s = Launched(launched, "conv1d"); !s.ok()) return s;
    return Launched(
        LaunchKernel(MambaProgrammaticLaunch(), ConvStateKernel<T>,
                     dim3(Blocks(batch * d_inner, 256)), dim3(256), 0, stream, in, ld_uz, batch,
                     length, d_inner, dc, slots, conv_states, conv_slot_stride),
        "conv1d state");
  });
}

absl::Status DecodeInProjConv(const float* x, int64_t rows, int64_t d_model,
                              const float* norm_weight, float eps, const void* in_proj,
                              WeightDtype dtype, int64_t d_inner, int64_t d_conv,
                              const float* conv_weight, const float* conv_bias,
                              const int32_t* slots, float* conv_states, int64_t conv_slot_stride,
                              void* uz, int64_t ld_uz, void* u, cudaStream_t stream) {
  if (!DecodeInProjConvApplies(x, rows, d_model, in_proj) || d_conv < 2 || d_conv > kMaxConv ||
      ld_uz < 2 * d_inner) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the fused decode in_proj + convolution takes 1..", kSkinnyMaxRows,
        " rows of 16-byte aligned inputs and d_conv 2..", kMaxConv, "; got rows=", rows,
        " d_model=", d_model, " d_conv=", d_conv, " ld_uz=", ld_uz));
  }
  return Dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto output = MakeConvStepOutput<T>(uz, ld_uz, u, d_inner, d_conv, conv_weight, conv_bias,
                                              slots, conv_states, conv_slot_stride);
    return Launched(skinny::LaunchSkinny<T, skinny::InputsOf<T>::template Norm>(
                        skinny::NormRows(x, d_model, norm_weight, eps), rows, d_model,
                        static_cast<const T*>(in_proj), 2 * d_inner, output, stream),
                    "decode in_proj + conv1d step");
  });
}

absl::Status DecodeResidualNorm(float* x, int64_t rows, int64_t d_model, const float* parts,
                                int64_t slices, int64_t slice_stride, const float* norm_weight,
                                float eps, void* out, WeightDtype dtype, cudaStream_t stream) {
  if (rows < 1 || d_model % 4 != 0 || d_model > 4096 || slices < 0 || !Aligned(x, 16) ||
      !Aligned(norm_weight, 16) || (slices > 0 && (!Aligned(parts, 16) || slice_stride % 4 != 0))) {
    return absl::InvalidArgumentError(
        absl::StrCat("the decode residual + RMSNorm takes d_model a multiple of 4 up to 4096 and "
                     "16-byte aligned rows; got rows=",
                     rows, " d_model=", d_model, " slices=", slices));
  }
  const int threads = static_cast<int>((d_model / 4 + 31) / 32 * 32);
  return Dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    return Launched(LaunchKernel(MambaProgrammaticLaunch(), ResidualNormKernel<T>,
                                 dim3(static_cast<unsigned int>(rows)), dim3(threads), 0, stream, x,
                                 d_model, parts, static_cast<int>(slices), slice_stride,
                                 norm_weight, eps, static_cast<T*>(out)),
                    "decode residual + RMSNorm");
  });
}

absl::Status DecodeConvFromParts(const float* parts, int64_t slices, int64_t slice_stride,
                                 int64_t rows, int64_t d_inner, int64_t d_conv,
                                 const float* conv_weight, const float* conv_bias,
                                 const int32_t* slots, float* conv_states, int64_t conv_slot_stride,
                                 void* uz, int64_t ld_uz, void* u, WeightDtype dtype,
                                 cudaStream_t stream) {
  if (rows < 1 || slices < 1 || d_conv < 2 || d_conv > kMaxConv || ld_uz < 2 * d_inner) {
    return absl::InvalidArgumentError(
        absl::StrCat("the decode convolution from slices takes d_conv 2..", kMaxConv,
                     " and ld_uz >= 2 d_inner; got rows=", rows, " slices=", slices,
                     " d_conv=", d_conv, " ld_uz=", ld_uz));
  }
  return Dispatch(dtype, [&](auto zero) {
    using T = decltype(zero);
    const auto output = MakeConvStepOutput<T>(uz, ld_uz, u, d_inner, d_conv, conv_weight, conv_bias,
                                              slots, conv_states, conv_slot_stride);
    return Launched(LaunchKernel(MambaProgrammaticLaunch(), ConvFromPartsKernel<T>,
                                 dim3(Blocks(rows * 2 * d_inner, 256)), dim3(256), 0, stream, parts,
                                 static_cast<int>(slices), slice_stride, rows, output),
                    "decode conv1d step from slices");
  });
}

int64_t ProductConvSharedLimit() {
  // Less the kernel's static row sums and scales.
  return CurrentDeviceAttribute(cudaDevAttrMaxSharedMemoryPerBlockOptin, 48 * 1024) -
         (kMaxRowScaleSums + 64) * static_cast<int64_t>(sizeof(float));
}

bool DecodeProductConvApplies(int64_t rows, int64_t d_model, int64_t d_inner, int64_t d_conv,
                              int64_t tiles, int64_t fold_width) {
  return (tiles == 1 || tiles == 2) && rows >= 1 && rows <= 64 && d_model % 16 == 0 &&
         d_model > 0 && d_inner % (16 * tiles) == 0 && d_inner > 0 && d_conv >= 2 &&
         d_conv <= kMaxConv && fold_width >= 0 && fold_width % 16 == 0 &&
         fold_width <= kMaxFoldWidth &&
         ProductConvSharedBytes(tiles, rows, d_model, d_conv, fold_width) <=
             ProductConvSharedLimit();
}

bool XProjFoldGroupsValid(int64_t d_inner, int64_t tiles, int64_t groups) {
  if (tiles < 1 || d_inner % (16 * tiles) != 0 || groups < 1) return false;
  const int64_t u_tiles = d_inner / (16 * tiles);
  return u_tiles % groups == 0;
}

absl::Status DecodeProductConv(const void* x, int64_t rows, int64_t d_model, const void* in_proj,
                               WeightDtype dtype, int64_t d_inner, int64_t d_conv,
                               const float* conv_weight, const float* conv_bias,
                               const int32_t* slots, float* conv_states, int64_t conv_slot_stride,
                               void* uz, int64_t ld_uz, void* u, int64_t tiles, cudaStream_t stream,
                               const RowScale& scale, const XProjFold& fold) {
  if (scale.sumsq != nullptr &&
      (scale.tiles < 1 || scale.eps < 0.0f || rows * scale.tiles > kMaxRowScaleSums ||
       !Aligned(scale.sumsq, 4))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the decode product's row scales take at least one tile, eps >= 0 and at most ",
        kMaxRowScaleSums, " sums (rows x tiles); got rows=", rows, " tiles=", scale.tiles,
        " eps=", scale.eps));
  }
  const int64_t fold_width = fold.weight != nullptr ? fold.width : 0;
  if (fold.weight != nullptr &&
      (fold.width < 16 || !XProjFoldGroupsValid(d_inner, tiles, fold.groups) ||
       !Aligned(fold.weight, 16) || !Aligned(fold.partials, 16) || !Aligned(fold.sums, 16) ||
       fold.counters == nullptr)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the decode product's fold of x_proj takes 16..", kMaxFoldWidth,
        " outputs (a multiple of 16), groups dividing the ", d_inner, " / ", 16 * tiles,
        " u tiles, a 16-byte aligned weight, partials and sums, and counters; got width=",
        fold.width, " groups=", fold.groups));
  }
  if (!DecodeProductConvApplies(rows, d_model, d_inner, d_conv, tiles, fold_width) ||
      dtype == WeightDtype::kFp32 || !Aligned(x, 16) || !Aligned(in_proj, 16) ||
      ld_uz < 2 * d_inner) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the decode product with the convolution step takes bf16 or fp16 operands (16-byte "
        "aligned), 1..64 rows, d_model a multiple of 16, d_inner a multiple of 16 tiles, tiles 1 "
        "or 2, d_conv 2..",
        kMaxConv, ", ld_uz >= 2 d_inner and its tiles within shared memory; got rows=", rows,
        " d_model=", d_model, " d_inner=", d_inner, " d_conv=", d_conv, " tiles=", tiles,
        " ld_uz=", ld_uz, " fold width=", fold_width, " ", WeightDtypeName(dtype)));
  }
  const int64_t bytes = ProductConvSharedBytes(tiles, rows, d_model, d_conv, fold_width);
  return Dispatch(dtype, [&](auto zero) -> absl::Status {
    using T = decltype(zero);
    if constexpr (std::is_same_v<T, float>) {
      return absl::InvalidArgumentError("unreachable: fp32 refused above");
    } else {
      const auto output = MakeConvStepOutput<T>(uz, ld_uz, u, d_inner, d_conv, conv_weight,
                                                conv_bias, slots, conv_states, conv_slot_stride);
      auto launch = [&](auto* kernel) -> cudaError_t {
        if (bytes > 48 * 1024) {
          const cudaError_t raised = cudaFuncSetAttribute(
              kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
          if (raised != cudaSuccess) return raised;
        }
        return LaunchKernel(
            MambaProgrammaticLaunch(), kernel,
            dim3(static_cast<unsigned int>(2 * d_inner / (16 * tiles))), dim3(kProductThreads),
            static_cast<size_t>(bytes), stream, static_cast<const T*>(x), static_cast<int>(rows),
            static_cast<const T*>(in_proj), static_cast<int>(d_model), output, scale, fold);
      };
      return Launched(
          tiles == 1 ? launch(ProductConvKernel<T, 1>) : launch(ProductConvKernel<T, 2>),
          "decode product with the convolution step");
    }
  });
}

bool DecodeInProjConvApplies(const float* x, int64_t rows, int64_t d_model, const void* in_proj) {
  return SkinnyLinearApplies(x, rows, d_model, d_model, in_proj);
}

int64_t AutoScanChunk(int64_t batch, int64_t length, int64_t d_inner, int64_t d_state) {
  // Below about 32k threads an H100/H200 idles; then split time so that chunks bring the
  // thread count to about 64k, but no chunk shorter than kMinChunk (each chunk costs a
  // second pass over its tokens and a composition of its predecessors' states).
  constexpr int64_t kTargetThreads = 65536;
  constexpr int64_t kMinChunk = 32;
  const int64_t threads = std::max<int64_t>(1, batch * d_inner * ScanLanes(batch, length, d_inner));
  if (threads >= kTargetThreads / 2 || length <= kMinChunk) return std::max<int64_t>(length, 1);
  int64_t chunks = (kTargetThreads + threads - 1) / threads;
  chunks = std::min(chunks, (length + kMinChunk - 1) / kMinChunk);
  chunks = std::max<int64_t>(chunks, 1);
  return (length + chunks - 1) / chunks;
}

int64_t ScanScratchFloats(int64_t batch, int64_t length, int64_t d_inner, int64_t d_state,
                          int64_t chunk_length) {
  if (chunk_length <= 0) chunk_length = AutoScanChunk(batch, length, d_inner, d_state);
  const int64_t chunks = (length + chunk_length - 1) / chunk_length;
  return chunks <= 1 ? 0 : batch * d_inner * d_state * (2 * chunks + 1);
}

absl::Status SelectiveScan(const float* dbc, int64_t ld_dbc, int64_t dt_rank, const void* u,
                           const void* uz, int64_t ld_uz, int64_t batch, int64_t length,
                           int64_t d_inner, int64_t d_state, const ScanWeights& weights,
                           const int32_t* slots, float* ssm_states, int64_t ssm_slot_stride,
                           int64_t chunk_length, float* scratch, void* y, WeightDtype gemm_dtype,
                           cudaStream_t stream, const DbcSlices& slices) {
  if (d_state != 4 && d_state != 8 && d_state != 16 && d_state != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("the GPU selective scan supports d_state 4, 8, 16 or 32, not ", d_state));
  }
  if (dt_rank < 1 || dt_rank > 256) {
    return absl::InvalidArgumentError(
        absl::StrCat("the GPU selective scan supports dt_rank 1..256, not ", dt_rank));
  }
  if (batch == 0 || length == 0) return absl::OkStatus();
  if (chunk_length <= 0) chunk_length = AutoScanChunk(batch, length, d_inner, d_state);
  const int64_t chunks = (length + chunk_length - 1) / chunk_length;
  if (chunks > 1 && scratch == nullptr) {
    return absl::InvalidArgumentError("the chunked selective scan needs scratch memory");
  }
  const int lanes = ScanLanes(batch, length, d_inner);
  // Decode: one sequence a block while that leaves fewer than kDecodeBlocksBeforeSharing blocks.
  const int64_t channel_blocks = (d_inner + kScanThreads / lanes - 1) / (kScanThreads / lanes);
  const int sequences_per_block =
      length > 1
          ? 1
          : static_cast<int>(std::clamp<int64_t>(
                batch * channel_blocks / kDecodeBlocksBeforeSharing, 1, kMaxSequencesPerBlock));
  return Dispatch(gemm_dtype, [&](auto zero) {
    using T = decltype(zero);
    ScanArgs<T> args{dbc,
                     ld_dbc,
                     static_cast<int>(dt_rank),
                     ScanDtPad(dt_rank),
                     ScanRowPad(dt_rank, d_state),
                     static_cast<const T*>(u),
                     static_cast<const T*>(uz),
                     ld_uz,
                     batch,
                     length,
                     d_inner,
                     weights,
                     slots,
                     ssm_states,
                     ssm_slot_stride,
                     chunk_length,
                     chunks,
                     sequences_per_block,
                     scratch,
                     static_cast<T*>(y),
                     false,
                     1};
    // Double buffers where the tiles move asynchronously and their types are 2 bytes (fp32
    // activations would not leave room for three blocks an SM).
    args.vector = ld_dbc % 4 == 0 && Aligned(dbc, 16) && dt_rank % 4 == 0 && ScanVectorUzy(args);
    args.buffers = args.vector && sizeof(T) == 2 ? 2 : 1;
    args.beside = static_cast<int>(std::max<int64_t>(slices.beside, 1));
    if (slices.count != 1) {
      if (slices.count < 1 || length != 1 || chunks != 1 || !ScanStepApplies(args)) {
        return absl::InvalidArgumentError(
            absl::StrCat("the selective scan adds ", slices.count,
                         " slices of dt/B/C only in a decode step with aligned states"));
      }
      args.dbc_parts = static_cast<int>(slices.count);
      args.dbc_part_stride = slices.stride;
      args.vector = args.vector && slices.stride % 4 == 0;
    }
    return lanes == 2 ? LaunchScanForStates<2>(d_state, args, stream)
                      : LaunchScanForStates<4>(d_state, args, stream);
  });
}

int64_t SampleParts(int64_t rows, int64_t vocab) { return PlanSample(rows, vocab).parts; }

int64_t SampleScratchBytes(int64_t max_rows, int64_t vocab) {
  // rows * parts is not monotonic in rows (fewer rows, more parts): take the largest.
  int64_t partials = 0;
  for (int64_t rows = 1; rows <= max_rows; ++rows) {
    const int64_t parts = PlanSample(rows, vocab).parts;
    if (parts > 1) partials = std::max(partials, rows * parts);
  }
  return SampleCounterBytes(max_rows) + partials * static_cast<int64_t>(sizeof(int2));
}

absl::Status SampleTokens(const float* logits, int64_t rows, int64_t vocab,
                          const float* temperature, const uint64_t* params, int32_t* tokens,
                          cudaStream_t stream, const SampleScratch& scratch,
                          const SampleAdvance& advance) {
  if (rows == 0) return absl::OkStatus();
  if (advance.params != nullptr && (scratch.data == nullptr || advance.next_inputs == nullptr ||
                                    advance.rows_done == nullptr || advance.params != params)) {
    return absl::InvalidArgumentError(
        "token sampling that advances the decode step needs scratch, next inputs, a row counter "
        "and the parameters it samples with");
  }
  if (scratch.data == nullptr || vocab < 1) {
    return Launched(
        LaunchKernel(MambaProgrammaticLaunch(), SampleKernel, dim3(static_cast<unsigned int>(rows)),
                     dim3(1024), 0, stream, logits, vocab, temperature, params, tokens),
        "token sampling");
  }
  if (vocab > INT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat("token sampling: a vocabulary of ", vocab, " does not fit int32 token ids"));
  }
  const SamplePlan plan = PlanSample(rows, vocab);
  const int64_t needed = plan.parts > 1 ? SampleCounterBytes(scratch.max_rows) +
                                              rows * plan.parts * static_cast<int64_t>(sizeof(int2))
                                        : 0;
  if (rows > scratch.max_rows || needed > scratch.bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "token sampling scratch of ", scratch.bytes, " bytes for ", scratch.max_rows,
        " rows is too small for ", rows, " rows of ", vocab, " logits (", needed, " bytes)"));
  }
  auto* counters = static_cast<unsigned int*>(scratch.data);
  auto* partials = reinterpret_cast<int2*>(static_cast<char*>(scratch.data) +
                                           SampleCounterBytes(scratch.max_rows));
  const bool vector = vocab % 4 == 0 && reinterpret_cast<uintptr_t>(logits) % 16 == 0;
  const dim3 grid(static_cast<unsigned int>(rows), static_cast<unsigned int>(plan.parts));
  return Launched(LaunchKernel(MambaProgrammaticLaunch(),
                               vector ? SamplePartKernel<true> : SamplePartKernel<false>, grid,
                               dim3(kSampleThreads), 0, stream, logits, vocab, plan.span,
                               temperature, params, tokens, counters, partials, advance),
                  "token sampling");
}

absl::Status AdvanceDecode(const int32_t* sampled, int64_t rows, int32_t* next_inputs,
                           uint64_t* params, cudaStream_t stream, int32_t* record) {
  return Launched(LaunchKernel(MambaProgrammaticLaunch(), AdvanceKernel,
                               dim3(Blocks(std::max<int64_t>(rows, 1), 256)), dim3(256), 0, stream,
                               sampled, rows, next_inputs, params, record),
                  "decode advance");
}

}  // namespace llive::backends::cuda::mamba
