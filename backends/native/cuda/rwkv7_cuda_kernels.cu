// The RWKV-7 kernels; rwkv7_cuda_kernels.h states what each computes.
#include <cuda_pipeline.h>

#include <cfloat>
#include <utility>

#include "backends/native/cuda/programmatic_launch.cuh"
#include "backends/native/cuda/rwkv7_cuda_kernels.h"

namespace llive::backends::cuda::rwkv7 {
namespace {

constexpr int kRowThreads = 256;  // one block per row for the row-wise norms
constexpr int kWarp = 32;
// exp(-0.5): the decay is w = exp(-exp(-0.5) * sigmoid(.)), as on the CPU.
constexpr float kDecayScale = 0.60653065971263342f;

// Every kernel is launched through programmatic_launch.cuh: it lets its successor launch at
// once and waits for its predecessor before reading activations or states.
template <typename... Params, typename... Args>
cudaError_t Launch(void (*kernel)(Params...), dim3 grid, dim3 block, cudaStream_t stream,
                   Args&&... args) {
  return LaunchKernel(Rwkv7ProgrammaticLaunch(), kernel, grid, block, 0, stream,
                      std::forward<Args>(args)...);
}

template <typename T>
__device__ __forceinline__ T FromFloat(float x);
template <>
__device__ __forceinline__ float FromFloat<float>(float x) {
  return x;
}
template <>
__device__ __forceinline__ __nv_bfloat16 FromFloat<__nv_bfloat16>(float x) {
  return __float2bfloat16(x);
}
template <>
__device__ __forceinline__ __half FromFloat<__half>(float x) {
  return __float2half(x);
}

__device__ __forceinline__ float ToFloat(float x) { return x; }
__device__ __forceinline__ float ToFloat(__nv_bfloat16 x) { return __bfloat162float(x); }
__device__ __forceinline__ float ToFloat(__half x) { return __half2float(x); }

__device__ __forceinline__ float Sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

__device__ __forceinline__ float WarpSum(float x) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    x += __shfl_xor_sync(0xffffffffu, x, offset);
  return x;
}

// The sum of `x` over a block of kRowThreads threads, returned to every thread. `scratch`
// holds one float per warp; the trailing barrier lets the caller reuse it at once.
__device__ float BlockSum(float x, float* scratch) {
  x = WarpSum(x);
  const int warp = threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (lane == 0) scratch[warp] = x;
  __syncthreads();
  float total = 0.0f;
  for (int i = 0; i < kRowThreads / kWarp; ++i) total += scratch[i];
  __syncthreads();
  return total;
}

struct Moments {
  float mean;
  float inverse_deviation;
};

// Mean and 1/sqrt(var + eps) of one row of n values, two passes (the row is re-read from L1/L2)
// so that the variance does not lose digits to a large mean.
__device__ Moments RowMoments(const float* row, int64_t n, float eps, float* scratch) {
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += kRowThreads) sum += row[i];
  const float mean = BlockSum(sum, scratch) / static_cast<float>(n);
  float squares = 0.0f;
  for (int64_t i = threadIdx.x; i < n; i += kRowThreads) {
    const float centred = row[i] - mean;
    squares += centred * centred;
  }
  const float variance = BlockSum(squares, scratch) / static_cast<float>(n);
  return {mean, rsqrtf(variance + eps)};
}

template <typename Weight>
__global__ void EmbedLayerNormKernel(const int32_t* __restrict__ tokens,
                                     const Weight* __restrict__ embedding,
                                     const float* __restrict__ ln_weight,
                                     const float* __restrict__ ln_bias, int64_t d, float eps,
                                     float* __restrict__ x) {
  FollowPrevious();
  __shared__ float scratch[kRowThreads / kWarp];
  const int64_t row = blockIdx.x;
  const Weight* source = embedding + static_cast<int64_t>(tokens[row]) * d;
  float* out = x + row * d;
  for (int64_t i = threadIdx.x; i < d; i += kRowThreads) out[i] = ToFloat(source[i]);
  // Each thread reads back only what it wrote above, so no barrier is needed before the norm.
  const Moments m = RowMoments(out, d, eps, scratch);
  for (int64_t i = threadIdx.x; i < d; i += kRowThreads) {
    out[i] = (out[i] - m.mean) * m.inverse_deviation * ln_weight[i] + ln_bias[i];
  }
}

// One block per row. The block of a sequence's first token also writes the new shift (the
// normed last row), after it has read the old one; every thread touches the same columns of
// the shift in both, so no other block or thread races with it.
template <typename Act>
__global__ void NormShiftLerpKernel(const float* __restrict__ x,
                                    const float* __restrict__ ln_weight,
                                    const float* __restrict__ ln_bias, const float* __restrict__ mu,
                                    int lerps, float* __restrict__ shift, int64_t length, int64_t d,
                                    float eps, int64_t rows, Act* __restrict__ mixed) {
  FollowPrevious();
  __shared__ float scratch[kRowThreads / kWarp];
  const int64_t row = blockIdx.x;
  const int64_t b = row / length;
  const int64_t t = row % length;
  const float* cur = x + row * d;
  const Moments mc = RowMoments(cur, d, eps, scratch);
  Moments mp = {0.0f, 0.0f};
  if (t > 0) mp = RowMoments(cur - d, d, eps, scratch);
  float* state = shift + b * d;
  for (int64_t i = threadIdx.x; i < d; i += kRowThreads) {
    const float xa = (cur[i] - mc.mean) * mc.inverse_deviation * ln_weight[i] + ln_bias[i];
    const float prev =
        t > 0 ? (cur[i - d] - mp.mean) * mp.inverse_deviation * ln_weight[i] + ln_bias[i]
              : state[i];
    const float delta = prev - xa;
    for (int l = 0; l < lerps; ++l) {
      mixed[(l * rows + row) * d + i] = FromFloat<Act>(xa + delta * mu[l * d + i]);
    }
  }
  if (t != 0) return;
  const float* last = x + (b * length + length - 1) * d;
  const Moments ml = length == 1 ? mc : RowMoments(last, d, eps, scratch);
  for (int64_t i = threadIdx.x; i < d; i += kRowThreads) {
    state[i] = (last[i] - ml.mean) * ml.inverse_deviation * ln_weight[i] + ln_bias[i];
  }
}

// NormShiftLerpKernel with a warp per run of `run` consecutive rows and each row in registers
// (kVec float4s a lane, d = 128 * kVec): warp shuffles instead of block barriers for the
// moments, the previous row's normalised values carried from one row to the next instead of
// normalised again, and 4-value stores of the lerped rows. The warp of a sequence's first token
// reads the old shift and then writes the new one, as in NormShiftLerpKernel.

template <typename Act>
struct alignas(4 * sizeof(Act)) ActQuad {
  Act v[4];
};

template <int kVec>
__device__ __forceinline__ void NormedRowInWarp(const float* __restrict__ row,
                                                const float* __restrict__ ln_weight,
                                                const float* __restrict__ ln_bias, int64_t d,
                                                float eps, float (&out)[4 * kVec]) {
  const int lane = threadIdx.x % kWarp;
  float sum = 0.0f;
#pragma unroll
  for (int q = 0; q < kVec; ++q) {
    const float4 v = *reinterpret_cast<const float4*>(row + q * 128 + lane * 4);
    out[4 * q] = v.x, out[4 * q + 1] = v.y, out[4 * q + 2] = v.z, out[4 * q + 3] = v.w;
    sum += (v.x + v.y) + (v.z + v.w);
  }
  const float mean = WarpSum(sum) / static_cast<float>(d);
  float squares = 0.0f;
#pragma unroll
  for (int i = 0; i < 4 * kVec; ++i) squares += (out[i] - mean) * (out[i] - mean);
  const float inverse = rsqrtf(WarpSum(squares) / static_cast<float>(d) + eps);
#pragma unroll
  for (int q = 0; q < kVec; ++q) {
    const int col = q * 128 + lane * 4;
    const float4 w = *reinterpret_cast<const float4*>(ln_weight + col);
    const float4 b = *reinterpret_cast<const float4*>(ln_bias + col);
    out[4 * q] = (out[4 * q] - mean) * inverse * w.x + b.x;
    out[4 * q + 1] = (out[4 * q + 1] - mean) * inverse * w.y + b.y;
    out[4 * q + 2] = (out[4 * q + 2] - mean) * inverse * w.z + b.z;
    out[4 * q + 3] = (out[4 * q + 3] - mean) * inverse * w.w + b.w;
  }
}

template <typename Act, int kVec>
__global__ void __launch_bounds__(kRowThreads)
    NormShiftLerpWarpKernel(const float* __restrict__ x, const float* __restrict__ ln_weight,
                            const float* __restrict__ ln_bias, const float* __restrict__ mu,
                            int lerps, float* __restrict__ shift, int64_t length, int64_t d,
                            float eps, int64_t rows, int run, Act* __restrict__ mixed) {
  FollowPrevious();
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  const int64_t first = warp * run;
  if (first >= rows) return;
  const int64_t end = min(rows, first + run);
  float prev[4 * kVec], cur[4 * kVec];
  for (int64_t row = first; row < end; ++row) {
    const int64_t b = row / length, t = row % length;
    float* state = shift + b * d;
    if (t == 0) {
#pragma unroll
      for (int q = 0; q < kVec; ++q) {
        const float4 v = *reinterpret_cast<const float4*>(state + q * 128 + lane * 4);
        prev[4 * q] = v.x, prev[4 * q + 1] = v.y, prev[4 * q + 2] = v.z, prev[4 * q + 3] = v.w;
      }
    } else if (row == first) {
      NormedRowInWarp<kVec>(x + (row - 1) * d, ln_weight, ln_bias, d, eps, prev);
    }  // else prev holds row - 1, normalised in the previous iteration
    NormedRowInWarp<kVec>(x + row * d, ln_weight, ln_bias, d, eps, cur);
    for (int l = 0; l < lerps; ++l) {
      Act* out = mixed + (l * rows + row) * d;
#pragma unroll
      for (int q = 0; q < kVec; ++q) {
        const int col = q * 128 + lane * 4;
        const float4 m = *reinterpret_cast<const float4*>(mu + l * d + col);
        const float ms[4] = {m.x, m.y, m.z, m.w};
        ActQuad<Act> quad;
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float xa = cur[4 * q + e];
          quad.v[e] = FromFloat<Act>(xa + (prev[4 * q + e] - xa) * ms[e]);
        }
        *reinterpret_cast<ActQuad<Act>*>(out + col) = quad;
      }
    }
    if (t == 0) {
      // The new shift, after the old one was read above (the same lanes and columns).
      float last[4 * kVec];
      if (length == 1) {
#pragma unroll
        for (int i = 0; i < 4 * kVec; ++i) last[i] = cur[i];
      } else {
        NormedRowInWarp<kVec>(x + (b * length + length - 1) * d, ln_weight, ln_bias, d, eps, last);
      }
#pragma unroll
      for (int q = 0; q < kVec; ++q) {
        *reinterpret_cast<float4*>(state + q * 128 + lane * 4) =
            make_float4(last[4 * q], last[4 * q + 1], last[4 * q + 2], last[4 * q + 3]);
      }
    }
#pragma unroll
    for (int i = 0; i < 4 * kVec; ++i) prev[i] = cur[i];
  }
}

// One warp per (row, head); each lane holds head_size / 32 of the head's values.
__global__ void PrepareWkvKernel(WkvPrepare p, int64_t rows, int64_t d, int64_t head_size) {
  FollowPrevious();
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  const int64_t heads = d / head_size;
  if (warp >= rows * heads) return;
  const int64_t row = warp / heads;
  const int64_t h = warp % heads;
  const int64_t base = row * d + h * head_size;
  float norm = 0.0f;
  for (int64_t j = lane; j < head_size; j += kWarp) {
    const int64_t c = h * head_size + j;  // the column within D
    const int64_t o = base + j;
    const float z = p.k[o] * p.k_k[c];
    p.kappa[o] = z;
    norm += z * z;
  }
  const float inverse = 1.0f / fmaxf(sqrtf(WarpSum(norm)), 1e-12f);
  for (int64_t j = lane; j < head_size; j += kWarp) {
    const int64_t c = h * head_size + j;
    const int64_t o = base + j;
    p.kappa[o] *= inverse;
    p.w[o] = expf(-kDecayScale * Sigmoid(p.w0[c] + p.w[o]));
    const float a = Sigmoid(p.a0[c] + p.a[o]);
    p.a[o] = a;
    p.k[o] *= 1.0f + (a - 1.0f) * p.k_a[c];
    if (p.v_gate == nullptr) {
      p.v_first[o] = p.v[o];
    } else {
      p.v[o] += (p.v_first[o] - p.v[o]) * Sigmoid(p.v0[c] + p.v_gate[o]);
    }
  }
}

// The recurrence. A block owns kRows rows of one head's S (the rows are independent: row i
// needs only its own values, v_i and the head's per-token vectors), so a sequence's heads are
// spread over N / kRows blocks when there are few sequences. Thread (row, part) holds its row
// at columns q * 16 + part * 4 + e (q < N / 16, e < 4): the four parts of a row read 64
// contiguous bytes of shared memory per float4, without bank conflicts. The per-token inputs
// stream through shared memory in chunks of kChunk tokens, the next chunk copied
// asynchronously while the current one is computed. Only the dot product S kappa is reduced
// across the parts inside the token loop (two shuffles); the partial outputs go to shared
// memory and are summed once per chunk, off the recurrence's critical path.
template <int N, int kRows>
__global__ void __launch_bounds__(kRows * 4)
    WkvKernel(const float* __restrict__ r, const float* __restrict__ w, const float* __restrict__ k,
              const float* __restrict__ v, const float* __restrict__ kappa,
              const float* __restrict__ a, float* __restrict__ state, int64_t length, int64_t heads,
              float* __restrict__ y) {
  FollowPrevious();
  constexpr int kParts = 4;
  constexpr int kThreads = kRows * kParts;
  constexpr int kQuads = N / 16;   // float4s per thread
  constexpr int kChunk = 512 / N;  // tokens per stage: 2 stages x 6 inputs = 24 KiB
  enum { kR = 0, kW, kK, kV, kKappa, kA, kInputs };
  __shared__ __align__(16) float stage[2][kInputs][kChunk][N];
  __shared__ float partial[kChunk][kRows][kParts];
  const int64_t blocks_per_head = N / kRows;
  const int64_t h = blockIdx.x / blocks_per_head;
  const int row0 = static_cast<int>(blockIdx.x % blocks_per_head) * kRows;
  const int64_t b = blockIdx.y;
  const int64_t d = heads * N;
  const int local = threadIdx.x / kParts;
  const int part = threadIdx.x % kParts;
  const int i = row0 + local;
  const float* inputs[kInputs] = {r, w, k, v, kappa, a};

  float* s_global = state + ((b * heads + h) * N + i) * N;
  float s[kQuads][4];
#pragma unroll
  for (int q = 0; q < kQuads; ++q) {
    const float4 v4 = *reinterpret_cast<const float4*>(s_global + q * 16 + part * 4);
    s[q][0] = v4.x;
    s[q][1] = v4.y;
    s[q][2] = v4.z;
    s[q][3] = v4.w;
  }

  // Copies the inputs of tokens [t0, t0 + steps) into stage[buffer], 16 bytes at a time.
  // (kQuadsPerToken is a power of two: the index arithmetic is shifts and masks.)
  auto load = [&](int buffer, int64_t t0, int steps) {
    constexpr int kQuadsPerToken = N / 4;
    const float* base = nullptr;
    const int total = steps * kQuadsPerToken;
#pragma unroll
    for (int input = 0; input < kInputs; ++input) {
      base = inputs[input] + (b * length + t0) * d + h * N;
      for (int e = threadIdx.x; e < total; e += kThreads) {
        const int step = e / kQuadsPerToken;
        const int quad = e % kQuadsPerToken;
        __pipeline_memcpy_async(&stage[buffer][input][step][quad * 4], base + step * d + quad * 4,
                                16);
      }
    }
    __pipeline_commit();
  };

  const int64_t chunks = (length + kChunk - 1) / kChunk;
  load(0, 0, static_cast<int>(min(static_cast<int64_t>(kChunk), length)));
  for (int64_t chunk = 0; chunk < chunks; ++chunk) {
    const int buffer = static_cast<int>(chunk & 1);
    const int64_t t0 = chunk * kChunk;
    const int steps = static_cast<int>(min(static_cast<int64_t>(kChunk), length - t0));
    if (chunk + 1 < chunks) {
      const int64_t t1 = t0 + kChunk;
      load(buffer ^ 1, t1, static_cast<int>(min(static_cast<int64_t>(kChunk), length - t1)));
      __pipeline_wait_prior(1);
    } else {
      __pipeline_wait_prior(0);
    }
    __syncthreads();
    // a -> -kappa * a, once per chunk for all rows.
    for (int e = threadIdx.x; e < steps * N; e += kThreads) {
      float& value = stage[buffer][kA][e / N][e % N];
      value = -stage[buffer][kKappa][e / N][e % N] * value;
    }
    __syncthreads();
    for (int step = 0; step < steps; ++step) {
      const float4* kappa4 = reinterpret_cast<const float4*>(stage[buffer][kKappa][step]);
      float dots[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
      for (int q = 0; q < kQuads; ++q) {
        const float4 kq = kappa4[q * 4 + part];
        dots[0] += s[q][0] * kq.x;
        dots[1] += s[q][1] * kq.y;
        dots[2] += s[q][2] * kq.z;
        dots[3] += s[q][3] * kq.w;
      }
      float dot = (dots[0] + dots[1]) + (dots[2] + dots[3]);
      dot += __shfl_xor_sync(0xffffffffu, dot, 1);
      dot += __shfl_xor_sync(0xffffffffu, dot, 2);
      const float value = stage[buffer][kV][step][i];
      const float4* w4 = reinterpret_cast<const float4*>(stage[buffer][kW][step]);
      const float4* k4 = reinterpret_cast<const float4*>(stage[buffer][kK][step]);
      const float4* r4 = reinterpret_cast<const float4*>(stage[buffer][kR][step]);
      const float4* remove4 = reinterpret_cast<const float4*>(stage[buffer][kA][step]);
      float outs[4] = {0.0f, 0.0f, 0.0f, 0.0f};
#pragma unroll
      for (int q = 0; q < kQuads; ++q) {
        const int quad = q * 4 + part;
        const float4 wq = w4[quad], kq = k4[quad], rq = r4[quad], mq = remove4[quad];
        s[q][0] = s[q][0] * wq.x + dot * mq.x + value * kq.x;
        s[q][1] = s[q][1] * wq.y + dot * mq.y + value * kq.y;
        s[q][2] = s[q][2] * wq.z + dot * mq.z + value * kq.z;
        s[q][3] = s[q][3] * wq.w + dot * mq.w + value * kq.w;
        outs[0] += s[q][0] * rq.x;
        outs[1] += s[q][1] * rq.y;
        outs[2] += s[q][2] * rq.z;
        outs[3] += s[q][3] * rq.w;
      }
      partial[step][local][part] = (outs[0] + outs[1]) + (outs[2] + outs[3]);
    }
    __syncthreads();
    for (int e = threadIdx.x; e < steps * kRows; e += kThreads) {
      const int step = e / kRows;
      const int row = e % kRows;
      const float* p = partial[step][row];
      y[(b * length + t0 + step) * d + h * N + row0 + row] = (p[0] + p[1]) + (p[2] + p[3]);
    }
  }
#pragma unroll
  for (int q = 0; q < kQuads; ++q) {
    *reinterpret_cast<float4*>(s_global + q * 16 + part * 4) =
        make_float4(s[q][0], s[q][1], s[q][2], s[q][3]);
  }
}

// The sum of `x` over a block of kThreads threads, returned to every thread (as BlockSum).
template <int kThreads>
__device__ float BlockSumOf(float x, float* scratch) {
  x = WarpSum(x);
  if (threadIdx.x % kWarp == 0) scratch[threadIdx.x / kWarp] = x;
  __syncthreads();
  float total = 0.0f;
#pragma unroll
  for (int i = 0; i < kThreads / kWarp; ++i) total += scratch[i];
  __syncthreads();
  return total;
}

// One block per (sequence, head), N * 4 threads: threads j < N prepare column j, then thread
// (i, part) steps row i of S (the layout of WkvKernel), then threads i < N normalise y_i.
template <int N, typename Act>
__global__ void __launch_bounds__(N * 4)
    WkvDecodeStepKernel(WkvPrepare p, WkvStepNorm norm, float* __restrict__ state, int64_t heads,
                        float eps, Act* __restrict__ out) {
  constexpr int kParts = 4;
  constexpr int kThreads = N * kParts;
  constexpr int kQuads = N / 16;
  FollowPrevious();
  __shared__ __align__(16) float rs[N], ws[N], ks[N], kappas[N], removes[N], vs[N];
  __shared__ float partial[N][kParts];
  __shared__ float scratch[kThreads / kWarp];
  const int64_t h = blockIdx.x;
  const int64_t b = blockIdx.y;
  const int64_t d = heads * N;
  const int tid = threadIdx.x;
  const bool column = tid < N;
  const int64_t c = h * N + tid;  // column within D (for threads j < N)
  const int64_t o = b * d + c;
  // 1. The WKV inputs of this head (PrepareWkvKernel's equations).
  const float scaled_k = column ? p.k[o] * p.k_k[c] : 0.0f;
  const float k_norm = sqrtf(BlockSumOf<kThreads>(scaled_k * scaled_k, scratch));
  if (column) {
    const float kappa = scaled_k / fmaxf(k_norm, 1e-12f);
    const float a = Sigmoid(p.a0[c] + p.a[o]);
    float v = p.v[o];
    if (p.v_gate == nullptr) {
      p.v_first[o] = v;
    } else {
      v += (p.v_first[o] - v) * Sigmoid(p.v0[c] + p.v_gate[o]);
    }
    rs[tid] = norm.r[o];
    ws[tid] = expf(-kDecayScale * Sigmoid(p.w0[c] + p.w[o]));
    ks[tid] = p.k[o] * (1.0f + (a - 1.0f) * p.k_a[c]);
    kappas[tid] = kappa;
    removes[tid] = -kappa * a;
    vs[tid] = v;
  }
  __syncthreads();
  // 2. One step of the recurrence (WkvKernel's, for one token).
  const int i = tid / kParts;
  const int part = tid % kParts;
  float* s_global = state + ((b * heads + h) * N + i) * N;
  const float4* kappa4 = reinterpret_cast<const float4*>(kappas);
  const float4* w4 = reinterpret_cast<const float4*>(ws);
  const float4* k4 = reinterpret_cast<const float4*>(ks);
  const float4* r4 = reinterpret_cast<const float4*>(rs);
  const float4* remove4 = reinterpret_cast<const float4*>(removes);
  float4 s[kQuads];
  float dot = 0.0f;
#pragma unroll
  for (int q = 0; q < kQuads; ++q) {
    s[q] = *reinterpret_cast<const float4*>(s_global + q * 16 + part * 4);
    const float4 kq = kappa4[q * 4 + part];
    dot += s[q].x * kq.x + s[q].y * kq.y + s[q].z * kq.z + s[q].w * kq.w;
  }
  dot += __shfl_xor_sync(0xffffffffu, dot, 1);
  dot += __shfl_xor_sync(0xffffffffu, dot, 2);
  const float value = vs[i];
  float y_part = 0.0f;
#pragma unroll
  for (int q = 0; q < kQuads; ++q) {
    const int quad = q * 4 + part;
    const float4 wq = w4[quad], kq = k4[quad], rq = r4[quad], mq = remove4[quad];
    s[q].x = s[q].x * wq.x + dot * mq.x + value * kq.x;
    s[q].y = s[q].y * wq.y + dot * mq.y + value * kq.y;
    s[q].z = s[q].z * wq.z + dot * mq.z + value * kq.z;
    s[q].w = s[q].w * wq.w + dot * mq.w + value * kq.w;
    y_part += s[q].x * rq.x + s[q].y * rq.y + s[q].z * rq.z + s[q].w * rq.w;
    *reinterpret_cast<float4*>(s_global + q * 16 + part * 4) = s[q];
  }
  partial[i][part] = y_part;
  __syncthreads();
  // 3. Group norm, bonus and gate (GroupNormBonusGateKernel's equations).
  const float y =
      column ? (partial[tid][0] + partial[tid][1]) + (partial[tid][2] + partial[tid][3]) : 0.0f;
  const float mean = BlockSumOf<kThreads>(y, scratch) / static_cast<float>(N);
  const float centred = column ? y - mean : 0.0f;
  const float variance = BlockSumOf<kThreads>(centred * centred, scratch) / static_cast<float>(N);
  const float bonus =
      BlockSumOf<kThreads>(column ? rs[tid] * ks[tid] * norm.r_k[c] : 0.0f, scratch);
  if (column) {
    const float normed =
        centred * rsqrtf(variance + eps * static_cast<float>(N)) * norm.ln_x_weight[c] +
        norm.ln_x_bias[c];
    out[o] = FromFloat<Act>((normed + bonus * vs[tid]) * norm.g[o]);
  }
}

template <typename Act>
__global__ void GroupNormBonusGateKernel(const float* __restrict__ y, const float* __restrict__ r,
                                         const float* __restrict__ k, const float* __restrict__ v,
                                         const float* __restrict__ g,
                                         const float* __restrict__ ln_x_weight,
                                         const float* __restrict__ ln_x_bias,
                                         const float* __restrict__ r_k, int64_t rows, int64_t d,
                                         int64_t head_size, float eps, Act* __restrict__ out) {
  FollowPrevious();
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  const int64_t heads = d / head_size;
  if (warp >= rows * heads) return;
  const int64_t base = (warp / heads) * d + (warp % heads) * head_size;
  const int64_t column0 = (warp % heads) * head_size;
  float sum = 0.0f, bonus = 0.0f;
  for (int64_t j = lane; j < head_size; j += kWarp) {
    sum += y[base + j];
    bonus += r[base + j] * k[base + j] * r_k[column0 + j];
  }
  const float mean = WarpSum(sum) / static_cast<float>(head_size);
  bonus = WarpSum(bonus);
  float squares = 0.0f;
  for (int64_t j = lane; j < head_size; j += kWarp) {
    const float centred = y[base + j] - mean;
    squares += centred * centred;
  }
  const float inverse = rsqrtf(WarpSum(squares) / static_cast<float>(head_size) +
                               eps * static_cast<float>(head_size));
  for (int64_t j = lane; j < head_size; j += kWarp) {
    const int64_t c = column0 + j;
    const float normed = (y[base + j] - mean) * inverse * ln_x_weight[c] + ln_x_bias[c];
    out[base + j] = FromFloat<Act>((normed + bonus * v[base + j]) * g[base + j]);
  }
}

template <typename Act>
__global__ void ActivateKernel(const float* __restrict__ in, int64_t n, SmallLinearInput f,
                               Act* __restrict__ out) {
  FollowPrevious();
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float z = in[i];
    if (f == SmallLinearInput::kFloatTanh) z = tanhf(z);
    if (f == SmallLinearInput::kFloatSigmoid) z = Sigmoid(z);
    out[i] = FromFloat<Act>(z);
  }
}

// 16 bytes a thread per access (8 bf16 or fp16 values, 4 fp32) over the first `vectors` * 16
// bytes of x (the caller passes 0 when x is not 16-byte aligned), one value at a time after
// them: the pass over the [rows, d_ffn] activation is memory-bound, and 2-byte accesses left
// most of the bandwidth unused.
template <typename Act>
__global__ void ReluSquareInPlaceKernel(Act* __restrict__ x, int64_t n, int64_t vectors) {
  FollowPrevious();
  constexpr int kPerVector = 16 / sizeof(Act);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t first = blockIdx.x * int64_t{blockDim.x} + threadIdx.x;
  uint4* words = reinterpret_cast<uint4*>(x);
  for (int64_t i = first; i < vectors; i += stride) {
    uint4 word = words[i];
    Act* values = reinterpret_cast<Act*>(&word);
#pragma unroll
    for (int j = 0; j < kPerVector; ++j) {
      const float z = fmaxf(ToFloat(values[j]), 0.0f);
      values[j] = FromFloat<Act>(z * z);
    }
    words[i] = word;
  }
  for (int64_t i = vectors * kPerVector + first; i < n; i += stride) {
    const float z = fmaxf(ToFloat(x[i]), 0.0f);
    x[i] = FromFloat<Act>(z * z);
  }
}

template <typename Act>
__global__ void LastRowLayerNormKernel(const float* __restrict__ x,
                                       const float* __restrict__ ln_weight,
                                       const float* __restrict__ ln_bias, int64_t length, int64_t d,
                                       float eps, Act* __restrict__ out) {
  FollowPrevious();
  __shared__ float scratch[kRowThreads / kWarp];
  const int64_t b = blockIdx.x;
  const float* row = x + (b * length + length - 1) * d;
  const Moments m = RowMoments(row, d, eps, scratch);
  for (int64_t i = threadIdx.x; i < d; i += kRowThreads) {
    out[b * d + i] =
        FromFloat<Act>((row[i] - m.mean) * m.inverse_deviation * ln_weight[i] + ln_bias[i]);
  }
}

// Eight consecutive values as float: 16 bytes of a 2-byte type, 32 of float.
__device__ __forceinline__ void Load8(const float* p, float out[8]) {
  const float4 a = *reinterpret_cast<const float4*>(p);
  const float4 b = *reinterpret_cast<const float4*>(p + 4);
  out[0] = a.x, out[1] = a.y, out[2] = a.z, out[3] = a.w;
  out[4] = b.x, out[5] = b.y, out[6] = b.z, out[7] = b.w;
}
__device__ __forceinline__ void Load8(const __nv_bfloat16* p, float out[8]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const __nv_bfloat162* pairs = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __bfloat1622float2(pairs[i]);
    out[2 * i] = f.x;
    out[2 * i + 1] = f.y;
  }
}
__device__ __forceinline__ void Load8(const __half* p, float out[8]) {
  const uint4 raw = *reinterpret_cast<const uint4*>(p);
  const __half2* pairs = reinterpret_cast<const __half2*>(&raw);
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 f = __half22float2(pairs[i]);
    out[2 * i] = f.x;
    out[2 * i + 1] = f.y;
  }
}

struct SmallLinearParams {
  SmallLinear problems[kMaxSmallLinears];
  int64_t first_warp[kMaxSmallLinears + 1];  // problem p owns warps [first_warp[p], [p + 1])
  int count;
};

template <typename Act, int R>
__global__ void __launch_bounds__(256) SmallBatchLinearKernel(SmallLinearParams params, int rows) {
  LetDependentsStart();
  const int64_t warp = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / kWarp;
  const int lane = threadIdx.x % kWarp;
  // Constant indices only: a parameter array indexed at run time would be copied to every
  // thread's local memory.
  int p = 0;
#pragma unroll
  for (int q = 1; q <= kMaxSmallLinears; ++q) {
    if (q <= params.count && warp >= params.first_warp[q]) p = q;
  }
  if (p == params.count) return;
  SmallLinear problem;
  int64_t first_warp = 0;
#pragma unroll
  for (int q = 0; q < kMaxSmallLinears; ++q) {
    if (q == p) {
      problem = params.problems[q];
      first_warp = params.first_warp[q];
    }
  }
  const int64_t o = warp - first_warp;
  const Act* weight = static_cast<const Act*>(problem.weight) + o * problem.in;
  float acc[R];
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = 0.0f;
  // Up to kLoads weight loads are issued before the first is used, so a warp waits for memory
  // once per kLoads * 256 inputs rather than once per 256.
  // The first group is loaded before waiting for the kernel before (weights only), so that its
  // memory latency overlaps that kernel's tail.
  constexpr int kLoads = 4;
  float wv[kLoads][8];
  auto load_group = [&](int64_t base) {
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      if (base + u * kWarp * 8 < problem.in) Load8(weight + base + u * kWarp * 8, wv[u]);
    }
  };
  load_group(lane * 8);
  WaitForPrevious();
  for (int64_t base = lane * 8; base < problem.in; base += kWarp * 8 * kLoads) {
    if (base != lane * 8) load_group(base);
#pragma unroll
    for (int u = 0; u < kLoads; ++u) {
      const int64_t i0 = base + u * kWarp * 8;
      if (i0 >= problem.in) break;
#pragma unroll
      for (int r = 0; r < R; ++r) {
        if (r >= rows) break;
        float xv[8];
        if (problem.input == SmallLinearInput::kAct) {
          Load8(static_cast<const Act*>(problem.x) + r * problem.ldx + i0, xv);
        } else {
          Load8(static_cast<const float*>(problem.x) + r * problem.ldx + i0, xv);
          if (problem.input == SmallLinearInput::kFloatTanh) {
#pragma unroll
            for (int e = 0; e < 8; ++e) xv[e] = tanhf(xv[e]);
          } else if (problem.input == SmallLinearInput::kFloatSigmoid) {
#pragma unroll
            for (int e = 0; e < 8; ++e) xv[e] = Sigmoid(xv[e]);
          }
        }
#pragma unroll
        for (int e = 0; e < 8; ++e) acc[r] += wv[u][e] * xv[e];
      }
    }
  }
#pragma unroll
  for (int r = 0; r < R; ++r) acc[r] = WarpSum(acc[r]);
#pragma unroll
  for (int r = 0; r < R; ++r) {
    if (r >= rows || lane != r % kWarp) continue;
    const int64_t at = r * problem.ldy + o;
    switch (problem.output) {
      case SmallLinearOutput::kStore:
        static_cast<float*>(problem.y)[at] = acc[r];
        break;
      case SmallLinearOutput::kAdd:
        static_cast<float*>(problem.y)[at] += acc[r];
        break;
      case SmallLinearOutput::kReluSquareAct: {
        const float z = fmaxf(acc[r], 0.0f);
        static_cast<Act*>(problem.y)[at] = FromFloat<Act>(z * z);
        break;
      }
    }
  }
}

// SplitMix64: a counter-based hash, so each (seed, step, row, index) has its own noise.
__device__ __forceinline__ uint64_t Mix(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// One block per row: the largest key and its lowest index, by a block-wide reduction.
__global__ void SampleTokensKernel(const float* __restrict__ logits, int64_t vocab,
                                   float temperature, uint64_t seed, uint64_t step,
                                   int32_t* __restrict__ tokens) {
  FollowPrevious();
  __shared__ float best_keys[kRowThreads / kWarp];
  __shared__ int32_t best_indices[kRowThreads / kWarp];
  const int64_t b = blockIdx.x;
  const float* row = logits + b * vocab;
  const uint64_t stream = Mix(seed ^ Mix(step ^ Mix(static_cast<uint64_t>(b))));
  float best = -FLT_MAX;
  int32_t index = INT32_MAX;
  for (int64_t i = threadIdx.x; i < vocab; i += kRowThreads) {
    float key = row[i];
    if (temperature > 0.0f) {
      // u in (0, 1): 24 random bits, offset by half a step so neither end is reached.
      const float u = (static_cast<float>(Mix(stream + i) >> 40) + 0.5f) * (1.0f / 16777216.0f);
      key = key / temperature - logf(-logf(u));
    }
    if (key > best) {  // i only grows, so ties keep the lower index
      best = key;
      index = static_cast<int32_t>(i);
    }
  }
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    const float other_key = __shfl_xor_sync(0xffffffffu, best, offset);
    const int32_t other_index = __shfl_xor_sync(0xffffffffu, index, offset);
    if (other_key > best || (other_key == best && other_index < index)) {
      best = other_key;
      index = other_index;
    }
  }
  if (threadIdx.x % kWarp == 0) {
    best_keys[threadIdx.x / kWarp] = best;
    best_indices[threadIdx.x / kWarp] = index;
  }
  __syncthreads();
  if (threadIdx.x != 0) return;
  for (int w = 1; w < kRowThreads / kWarp; ++w) {
    if (best_keys[w] > best || (best_keys[w] == best && best_indices[w] < index)) {
      best = best_keys[w];
      index = best_indices[w];
    }
  }
  tokens[b] = index;
}

// Enough blocks of 256 threads to give each thread a few elements, capped so a grid-stride
// loop covers the rest.
unsigned int ElementwiseBlocks(int64_t n) {
  const int64_t blocks = (n + 1023) / 1024;
  return static_cast<unsigned int>(blocks < 1 ? 1 : (blocks > 65535 ? 65535 : blocks));
}

unsigned int WarpBlocks(int64_t warps) {
  constexpr int64_t kWarpsPerBlock = kRowThreads / kWarp;
  return static_cast<unsigned int>((warps + kWarpsPerBlock - 1) / kWarpsPerBlock);
}

}  // namespace

template <typename Weight>
cudaError_t EmbedLayerNorm(const int32_t* tokens, const Weight* embedding, const float* ln_weight,
                           const float* ln_bias, int64_t rows, int64_t d, float eps, float* x,
                           cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  return Launch(EmbedLayerNormKernel<Weight>, rows, kRowThreads, stream, tokens, embedding,
                ln_weight, ln_bias, d, eps, x);
}

template <typename Act>
cudaError_t NormShiftLerp(const float* x, const float* ln_weight, const float* ln_bias,
                          const float* mu, int lerps, float* shift, int64_t batch, int64_t length,
                          int64_t d, float eps, Act* mixed, cudaStream_t stream) {
  const int64_t rows = batch * length;
  if (rows == 0) return cudaSuccess;
  // A warp per run of rows where each row fits a warp's registers as float4s (d a multiple of
  // 128, up to 1,024) and every pointer allows the vector accesses; else a block a row.
  const auto aligned = [](const void* p, size_t bytes) {
    return reinterpret_cast<uintptr_t>(p) % bytes == 0;
  };
  const bool warp_rows = d % 128 == 0 && d <= 1024 && aligned(x, 16) && aligned(ln_weight, 16) &&
                         aligned(ln_bias, 16) && aligned(mu, 16) && aligned(shift, 16) &&
                         aligned(mixed, 4 * sizeof(Act));
  if (!warp_rows) {
    return Launch(NormShiftLerpKernel<Act>, rows, kRowThreads, stream, x, ln_weight, ln_bias, mu,
                  lerps, shift, length, d, eps, rows, mixed);
  }
  // Runs of 4 rows in blocks of 8 warps for prefills; a row a warp and a warp a block for
  // decode steps, so that their few rows spread over as many SMs (measured on the H200,
  // 2026-12-02: runs of 4 in blocks of 8 warps took RWKV-7 decoding at batch 64 from 55,782 to
  // 51,117 tok/s, 2 blocks for the 64 rows).
  const bool many = rows >= 4096;
  const int run = many ? 4 : 1;
  const int threads = many ? kRowThreads : kWarp;
  const int64_t warps = (rows + run - 1) / run;
  const unsigned int blocks =
      static_cast<unsigned int>((warps + threads / kWarp - 1) / (threads / kWarp));
  auto launch = [&](auto kernel) {
    return Launch(kernel, blocks, threads, stream, x, ln_weight, ln_bias, mu, lerps, shift, length,
                  d, eps, rows, run, mixed);
  };
  switch (d / 128) {
    case 1:
      return launch(NormShiftLerpWarpKernel<Act, 1>);
    case 2:
      return launch(NormShiftLerpWarpKernel<Act, 2>);
    case 3:
      return launch(NormShiftLerpWarpKernel<Act, 3>);
    case 4:
      return launch(NormShiftLerpWarpKernel<Act, 4>);
    case 5:
      return launch(NormShiftLerpWarpKernel<Act, 5>);
    case 6:
      return launch(NormShiftLerpWarpKernel<Act, 6>);
    case 7:
      return launch(NormShiftLerpWarpKernel<Act, 7>);
    default:
      return launch(NormShiftLerpWarpKernel<Act, 8>);
  }
}

cudaError_t PrepareWkv(const WkvPrepare& p, int64_t rows, int64_t d, int64_t head_size,
                       cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  return Launch(PrepareWkvKernel, WarpBlocks(rows * (d / head_size)), kRowThreads, stream, p, rows,
                d, head_size);
}

cudaError_t Wkv(const float* r, const float* w, const float* k, const float* v, const float* kappa,
                const float* a, float* state, int64_t batch, int64_t length, int64_t heads,
                int64_t head_size, float* y, cudaStream_t stream) {
  if (batch == 0 || length == 0) return cudaSuccess;
  // Few sequences: each head's rows go to N / 16 blocks so that every SM gets work (one
  // sequence has only 12 heads). Enough heads to give every SM two blocks: one block per head,
  // which stages each token's inputs once instead of N / 16 times. (Measured on the H200 at
  // 16 x 2048: 16-row blocks beat 32-row blocks, 1.28 ms against 1.40 ms per layer.)
  static const int sms = [] {
    int device = 0, count = 132;  // the H200's, should the query fail
    if (cudaGetDevice(&device) == cudaSuccess) {
      cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device);
    }
    return count;
  }();
  const bool split = batch * heads < 2 * static_cast<int64_t>(sms);
  const auto blocks = [&](int rows) {
    return dim3(static_cast<unsigned int>(heads * (head_size / rows)),
                static_cast<unsigned int>(batch));
  };
#define LLIVE_WKV_CASE(N)                                                                          \
  case N:                                                                                          \
    if (split) {                                                                                   \
      error = Launch(WkvKernel<N, 16>, blocks(16), dim3(16 * 4), stream, r, w, k, v, kappa, a,     \
                     state, length, heads, y);                                                     \
    } else {                                                                                       \
      error = Launch(WkvKernel<N, N>, blocks(N), dim3(N * 4), stream, r, w, k, v, kappa, a, state, \
                     length, heads, y);                                                            \
    }                                                                                              \
    break;
  cudaError_t error = cudaSuccess;
  switch (head_size) {
    LLIVE_WKV_CASE(32)
    LLIVE_WKV_CASE(64)
    LLIVE_WKV_CASE(128)
    default:
      return cudaErrorInvalidValue;
  }
#undef LLIVE_WKV_CASE
  return error;
}

template <typename Act>
cudaError_t WkvDecodeStep(const WkvPrepare& p, const WkvStepNorm& n, float* state, int64_t batch,
                          int64_t heads, int64_t head_size, float eps, Act* out,
                          cudaStream_t stream) {
  if (batch == 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned int>(heads), static_cast<unsigned int>(batch));
  switch (head_size) {
    case 32:
      return Launch(WkvDecodeStepKernel<32, Act>, grid, dim3(32 * 4), stream, p, n, state, heads,
                    eps, out);
    case 64:
      return Launch(WkvDecodeStepKernel<64, Act>, grid, dim3(64 * 4), stream, p, n, state, heads,
                    eps, out);
    case 128:
      return Launch(WkvDecodeStepKernel<128, Act>, grid, dim3(128 * 4), stream, p, n, state, heads,
                    eps, out);
    default:
      return cudaErrorInvalidValue;
  }
}

template <typename Act>
cudaError_t GroupNormBonusGate(const float* y, const float* r, const float* k, const float* v,
                               const float* g, const float* ln_x_weight, const float* ln_x_bias,
                               const float* r_k, int64_t rows, int64_t d, int64_t head_size,
                               float eps, Act* out, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  return Launch(GroupNormBonusGateKernel<Act>, WarpBlocks(rows * (d / head_size)), kRowThreads,
                stream, y, r, k, v, g, ln_x_weight, ln_x_bias, r_k, rows, d, head_size, eps, out);
}

template <typename Act>
cudaError_t ActivateInto(const float* in, int64_t n, SmallLinearInput f, Act* out,
                         cudaStream_t stream) {
  if (f == SmallLinearInput::kAct) return cudaErrorInvalidValue;
  if (n == 0) return cudaSuccess;
  return Launch(ActivateKernel<Act>, ElementwiseBlocks(n), kRowThreads, stream, in, n, f, out);
}

template <typename Act>
cudaError_t ReluSquareInPlace(Act* x, int64_t n, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  constexpr int64_t kPerVector = 16 / sizeof(Act);
  const int64_t vectors = reinterpret_cast<uintptr_t>(x) % 16 == 0 ? n / kPerVector : 0;
  return Launch(ReluSquareInPlaceKernel<Act>, ElementwiseBlocks(std::max(vectors, n % kPerVector)),
                kRowThreads, stream, x, n, vectors);
}

template <typename Act>
cudaError_t LastRowLayerNorm(const float* x, const float* ln_weight, const float* ln_bias,
                             int64_t batch, int64_t length, int64_t d, float eps, Act* out,
                             cudaStream_t stream) {
  if (batch == 0) return cudaSuccess;
  return Launch(LastRowLayerNormKernel<Act>, batch, kRowThreads, stream, x, ln_weight, ln_bias,
                length, d, eps, out);
}

template <typename Act>
cudaError_t SmallBatchLinear(const SmallLinear* problems, int count, int64_t rows,
                             cudaStream_t stream) {
  if (count < 0 || count > kMaxSmallLinears || rows > kMaxSmallLinearRows) {
    return cudaErrorInvalidValue;
  }
  if (rows <= 0 || count == 0) return cudaSuccess;
  SmallLinearParams params;
  params.count = count;
  params.first_warp[0] = 0;
  for (int p = 0; p < count; ++p) {
    const SmallLinear& problem = problems[p];
    const size_t x_bytes = problem.input == SmallLinearInput::kAct ? sizeof(Act) : sizeof(float);
    if (problem.in % 8 != 0 || reinterpret_cast<uintptr_t>(problem.x) % 16 != 0 ||
        reinterpret_cast<uintptr_t>(problem.weight) % 16 != 0 ||
        (problem.ldx * x_bytes) % 16 != 0) {
      return cudaErrorInvalidValue;
    }
    params.problems[p] = problem;
    params.first_warp[p + 1] = params.first_warp[p] + problem.out;
  }
  const int64_t warps = params.first_warp[count];
  const unsigned int blocks = WarpBlocks(warps);
  const int r = static_cast<int>(rows);
  if (rows == 1) {
    return Launch(SmallBatchLinearKernel<Act, 1>, blocks, kRowThreads, stream, params, r);
  }
  if (rows <= 4) {
    return Launch(SmallBatchLinearKernel<Act, 4>, blocks, kRowThreads, stream, params, r);
  }
  if (rows <= 8) {
    return Launch(SmallBatchLinearKernel<Act, 8>, blocks, kRowThreads, stream, params, r);
  }
  return Launch(SmallBatchLinearKernel<Act, 16>, blocks, kRowThreads, stream, params, r);
}

cudaError_t SampleTokens(const float* logits, int64_t batch, int64_t vocab, float temperature,
                         uint64_t seed, uint64_t step, int32_t* tokens, cudaStream_t stream) {
  if (batch == 0) return cudaSuccess;
  return Launch(SampleTokensKernel, batch, kRowThreads, stream, logits, vocab, temperature, seed,
                step, tokens);
}

// The element types the model uses: weights and matrix inputs in fp32, bf16 or fp16.
#define LLIVE_RWKV7_INSTANTIATE(T)                                                                 \
  template cudaError_t EmbedLayerNorm<T>(const int32_t*, const T*, const float*, const float*,     \
                                         int64_t, int64_t, float, float*, cudaStream_t);           \
  template cudaError_t NormShiftLerp<T>(const float*, const float*, const float*, const float*,    \
                                        int, float*, int64_t, int64_t, int64_t, float, T*,         \
                                        cudaStream_t);                                             \
  template cudaError_t GroupNormBonusGate<T>(                                                      \
      const float*, const float*, const float*, const float*, const float*, const float*,          \
      const float*, const float*, int64_t, int64_t, int64_t, float, T*, cudaStream_t);             \
  template cudaError_t ActivateInto<T>(const float*, int64_t, SmallLinearInput, T*, cudaStream_t); \
  template cudaError_t ReluSquareInPlace<T>(T*, int64_t, cudaStream_t);                            \
  template cudaError_t WkvDecodeStep<T>(const WkvPrepare&, const WkvStepNorm&, float*, int64_t,    \
                                        int64_t, int64_t, float, T*, cudaStream_t);                \
  template cudaError_t SmallBatchLinear<T>(const SmallLinear*, int, int64_t, cudaStream_t);        \
  template cudaError_t LastRowLayerNorm<T>(const float*, const float*, const float*, int64_t,      \
                                           int64_t, int64_t, float, T*, cudaStream_t);
LLIVE_RWKV7_INSTANTIATE(float)
LLIVE_RWKV7_INSTANTIATE(__nv_bfloat16)
LLIVE_RWKV7_INSTANTIATE(__half)
#undef LLIVE_RWKV7_INSTANTIATE

}  // namespace llive::backends::cuda::rwkv7
