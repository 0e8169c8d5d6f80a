// The RWKV-7 kernels; rwkv7_cuda_kernels.h states what each computes.
#include <cfloat>

#include "backends/native/cuda/rwkv7_cuda_kernels.h"

namespace llive::backends::cuda::rwkv7 {
namespace {

constexpr int kRowThreads = 256;  // one block per row for the row-wise norms
constexpr int kWarp = 32;
// exp(-0.5): the decay is w = exp(-exp(-0.5) * sigmoid(.)), as on the CPU.
constexpr float kDecayScale = 0.60653065971263342f;

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
  for (int offset = kWarp / 2; offset > 0; offset /= 2) x += __shfl_xor_sync(0xffffffffu, x, offset);
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
                                    const float* __restrict__ ln_bias,
                                    const float* __restrict__ mu, int lerps,
                                    float* __restrict__ shift, int64_t length, int64_t d,
                                    float eps, int64_t rows, Act* __restrict__ mixed) {
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
    const float prev = t > 0 ? (cur[i - d] - mp.mean) * mp.inverse_deviation * ln_weight[i] +
                                   ln_bias[i]
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

template <typename Act>
struct LowRankOut {
  Act* out[4];
};

// blockIdx.y picks the path; 0: tanh (w), 1 and 2: identity (a, v), 3: sigmoid (g).
template <typename Act>
__global__ void LowRankActivationsKernel(LowRankBuffers in, LowRankOut<Act> out, int64_t rows) {
  const int path = blockIdx.y;
  const float* down = in.down[path];
  if (down == nullptr) return;
  const int64_t n = rows * in.rank[path];
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    float z = down[i];
    if (path == 0) z = tanhf(z);
    if (path == 3) z = Sigmoid(z);
    out.out[path][i] = FromFloat<Act>(z);
  }
}

// One warp per (row, head); each lane holds head_size / 32 of the head's values.
__global__ void PrepareWkvKernel(WkvPrepare p, int64_t rows, int64_t d, int64_t head_size) {
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

// The recurrence. Thread (i, part) holds row i of S at columns j = c * kParts + part, so the
// kParts threads of a row read neighbouring shared-memory words (no bank conflicts) and
// combine their partial dot products with two shuffles.
template <int N>
__global__ void __launch_bounds__(N * 4) WkvKernel(const float* __restrict__ r,
                                                   const float* __restrict__ w,
                                                   const float* __restrict__ k,
                                                   const float* __restrict__ v,
                                                   const float* __restrict__ kappa,
                                                   const float* __restrict__ a,
                                                   float* __restrict__ state, int64_t length,
                                                   int64_t heads, float* __restrict__ y) {
  constexpr int kParts = 4;
  constexpr int kColumns = N / kParts;
  constexpr int kChunk = 1024 / N;  // tokens staged at once: 24 KiB of shared memory
  __shared__ float rs[kChunk][N], ws[kChunk][N], ks[kChunk][N], vs[kChunk][N];
  __shared__ float kappas[kChunk][N], removes[kChunk][N], ys[kChunk][N];
  const int64_t h = blockIdx.x;
  const int64_t b = blockIdx.y;
  const int64_t d = heads * N;
  const int i = threadIdx.x / kParts;
  const int part = threadIdx.x % kParts;
  float* s_global = state + ((b * heads + h) * N + i) * N;
  float s[kColumns];
#pragma unroll
  for (int c = 0; c < kColumns; ++c) s[c] = s_global[c * kParts + part];

  for (int64_t t0 = 0; t0 < length; t0 += kChunk) {
    const int steps = static_cast<int>(min(static_cast<int64_t>(kChunk), length - t0));
    for (int e = threadIdx.x; e < steps * N; e += N * kParts) {
      const int step = e / N;
      const int j = e % N;
      const int64_t o = (b * length + t0 + step) * d + h * N + j;
      rs[step][j] = r[o];
      ws[step][j] = w[o];
      ks[step][j] = k[o];
      vs[step][j] = v[o];
      kappas[step][j] = kappa[o];
      removes[step][j] = -kappa[o] * a[o];
    }
    __syncthreads();
    for (int step = 0; step < steps; ++step) {
      float dot = 0.0f;
#pragma unroll
      for (int c = 0; c < kColumns; ++c) dot += s[c] * kappas[step][c * kParts + part];
      dot += __shfl_xor_sync(0xffffffffu, dot, 1);
      dot += __shfl_xor_sync(0xffffffffu, dot, 2);
      const float value = vs[step][i];
      float out = 0.0f;
#pragma unroll
      for (int c = 0; c < kColumns; ++c) {
        const int j = c * kParts + part;
        s[c] = s[c] * ws[step][j] + dot * removes[step][j] + value * ks[step][j];
        out += s[c] * rs[step][j];
      }
      out += __shfl_xor_sync(0xffffffffu, out, 1);
      out += __shfl_xor_sync(0xffffffffu, out, 2);
      if (part == 0) ys[step][i] = out;
    }
    __syncthreads();
    for (int e = threadIdx.x; e < steps * N; e += N * kParts) {
      const int step = e / N;
      const int j = e % N;
      y[(b * length + t0 + step) * d + h * N + j] = ys[step][j];
    }
  }
#pragma unroll
  for (int c = 0; c < kColumns; ++c) s_global[c * kParts + part] = s[c];
}

template <typename Act>
__global__ void GroupNormBonusGateKernel(const float* __restrict__ y, const float* __restrict__ r,
                                         const float* __restrict__ k, const float* __restrict__ v,
                                         const float* __restrict__ g,
                                         const float* __restrict__ ln_x_weight,
                                         const float* __restrict__ ln_x_bias,
                                         const float* __restrict__ r_k, int64_t rows, int64_t d,
                                         int64_t head_size, float eps, Act* __restrict__ out) {
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
  const float inverse =
      rsqrtf(WarpSum(squares) / static_cast<float>(head_size) + eps * static_cast<float>(head_size));
  for (int64_t j = lane; j < head_size; j += kWarp) {
    const int64_t c = column0 + j;
    const float normed = (y[base + j] - mean) * inverse * ln_x_weight[c] + ln_x_bias[c];
    out[base + j] = FromFloat<Act>((normed + bonus * v[base + j]) * g[base + j]);
  }
}

template <typename Act>
__global__ void ReluSquareKernel(const float* __restrict__ hidden, int64_t n,
                                 Act* __restrict__ out) {
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float z = fmaxf(hidden[i], 0.0f);
    out[i] = FromFloat<Act>(z * z);
  }
}

template <typename Act>
__global__ void LastRowLayerNormKernel(const float* __restrict__ x,
                                       const float* __restrict__ ln_weight,
                                       const float* __restrict__ ln_bias, int64_t length,
                                       int64_t d, float eps, Act* __restrict__ out) {
  __shared__ float scratch[kRowThreads / kWarp];
  const int64_t b = blockIdx.x;
  const float* row = x + (b * length + length - 1) * d;
  const Moments m = RowMoments(row, d, eps, scratch);
  for (int64_t i = threadIdx.x; i < d; i += kRowThreads) {
    out[b * d + i] = FromFloat<Act>((row[i] - m.mean) * m.inverse_deviation * ln_weight[i] +
                                    ln_bias[i]);
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
  EmbedLayerNormKernel<Weight>
      <<<rows, kRowThreads, 0, stream>>>(tokens, embedding, ln_weight, ln_bias, d, eps, x);
  return cudaGetLastError();
}

template <typename Act>
cudaError_t NormShiftLerp(const float* x, const float* ln_weight, const float* ln_bias,
                          const float* mu, int lerps, float* shift, int64_t batch, int64_t length,
                          int64_t d, float eps, Act* mixed, cudaStream_t stream) {
  const int64_t rows = batch * length;
  if (rows == 0) return cudaSuccess;
  NormShiftLerpKernel<Act><<<rows, kRowThreads, 0, stream>>>(x, ln_weight, ln_bias, mu, lerps,
                                                             shift, length, d, eps, rows, mixed);
  return cudaGetLastError();
}

template <typename Act>
cudaError_t LowRankActivations(const LowRankBuffers& buffers, int64_t rows, Act* const out[4],
                               cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  int64_t widest = 0;
  for (int64_t rank : buffers.rank) widest = rank > widest ? rank : widest;
  LowRankOut<Act> outputs = {{out[0], out[1], out[2], out[3]}};
  const dim3 grid(ElementwiseBlocks(rows * widest), 4);
  LowRankActivationsKernel<Act><<<grid, kRowThreads, 0, stream>>>(buffers, outputs, rows);
  return cudaGetLastError();
}

cudaError_t PrepareWkv(const WkvPrepare& p, int64_t rows, int64_t d, int64_t head_size,
                       cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  PrepareWkvKernel<<<WarpBlocks(rows * (d / head_size)), kRowThreads, 0, stream>>>(p, rows, d,
                                                                                   head_size);
  return cudaGetLastError();
}

cudaError_t Wkv(const float* r, const float* w, const float* k, const float* v,
                const float* kappa, const float* a, float* state, int64_t batch, int64_t length,
                int64_t heads, int64_t head_size, float* y, cudaStream_t stream) {
  if (batch == 0 || length == 0) return cudaSuccess;
  const dim3 grid(static_cast<unsigned int>(heads), static_cast<unsigned int>(batch));
  switch (head_size) {
    case 32:
      WkvKernel<32><<<grid, 32 * 4, 0, stream>>>(r, w, k, v, kappa, a, state, length, heads, y);
      break;
    case 64:
      WkvKernel<64><<<grid, 64 * 4, 0, stream>>>(r, w, k, v, kappa, a, state, length, heads, y);
      break;
    case 128:
      WkvKernel<128><<<grid, 128 * 4, 0, stream>>>(r, w, k, v, kappa, a, state, length, heads, y);
      break;
    default:
      return cudaErrorInvalidValue;
  }
  return cudaGetLastError();
}

template <typename Act>
cudaError_t GroupNormBonusGate(const float* y, const float* r, const float* k, const float* v,
                               const float* g, const float* ln_x_weight, const float* ln_x_bias,
                               const float* r_k, int64_t rows, int64_t d, int64_t head_size,
                               float eps, Act* out, cudaStream_t stream) {
  if (rows == 0) return cudaSuccess;
  GroupNormBonusGateKernel<Act><<<WarpBlocks(rows * (d / head_size)), kRowThreads, 0, stream>>>(
      y, r, k, v, g, ln_x_weight, ln_x_bias, r_k, rows, d, head_size, eps, out);
  return cudaGetLastError();
}

template <typename Act>
cudaError_t ReluSquare(const float* hidden, int64_t n, Act* out, cudaStream_t stream) {
  if (n == 0) return cudaSuccess;
  ReluSquareKernel<Act><<<ElementwiseBlocks(n), kRowThreads, 0, stream>>>(hidden, n, out);
  return cudaGetLastError();
}

template <typename Act>
cudaError_t LastRowLayerNorm(const float* x, const float* ln_weight, const float* ln_bias,
                             int64_t batch, int64_t length, int64_t d, float eps, Act* out,
                             cudaStream_t stream) {
  if (batch == 0) return cudaSuccess;
  LastRowLayerNormKernel<Act>
      <<<batch, kRowThreads, 0, stream>>>(x, ln_weight, ln_bias, length, d, eps, out);
  return cudaGetLastError();
}

cudaError_t SampleTokens(const float* logits, int64_t batch, int64_t vocab, float temperature,
                         uint64_t seed, uint64_t step, int32_t* tokens, cudaStream_t stream) {
  if (batch == 0) return cudaSuccess;
  SampleTokensKernel<<<batch, kRowThreads, 0, stream>>>(logits, vocab, temperature, seed, step,
                                                        tokens);
  return cudaGetLastError();
}

// The element types the model uses: weights and matrix inputs in fp32, bf16 or fp16.
#define LLIVE_RWKV7_INSTANTIATE(T)                                                              \
  template cudaError_t EmbedLayerNorm<T>(const int32_t*, const T*, const float*, const float*, \
                                         int64_t, int64_t, float, float*, cudaStream_t);       \
  template cudaError_t NormShiftLerp<T>(const float*, const float*, const float*, const float*, \
                                        int, float*, int64_t, int64_t, int64_t, float, T*,     \
                                        cudaStream_t);                                          \
  template cudaError_t LowRankActivations<T>(const LowRankBuffers&, int64_t, T* const[4],       \
                                             cudaStream_t);                                     \
  template cudaError_t GroupNormBonusGate<T>(const float*, const float*, const float*,          \
                                             const float*, const float*, const float*,          \
                                             const float*, const float*, int64_t, int64_t,      \
                                             int64_t, float, T*, cudaStream_t);                 \
  template cudaError_t ReluSquare<T>(const float*, int64_t, T*, cudaStream_t);                  \
  template cudaError_t LastRowLayerNorm<T>(const float*, const float*, const float*, int64_t,   \
                                           int64_t, int64_t, float, T*, cudaStream_t);
LLIVE_RWKV7_INSTANTIATE(float)
LLIVE_RWKV7_INSTANTIATE(__nv_bfloat16)
LLIVE_RWKV7_INSTANTIATE(__half)
#undef LLIVE_RWKV7_INSTANTIATE

}  // namespace llive::backends::cuda::rwkv7
