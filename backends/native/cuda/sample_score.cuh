// The device sampler's scores (mamba_cuda_kernels.h, SampleTokens), shared by every kernel
// that draws tokens, so that they draw the same ones bit for bit.
#pragma once

#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>

namespace llive::backends::cuda {

uint64_t __device__ __forceinline__ Mix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The row's noise key for the Gumbel-max draw.
__device__ __forceinline__ uint64_t SampleStreamKey(const uint64_t* params, int64_t row) {
  return Mix(Mix(params[0] ^ Mix(params[1])) ^ static_cast<uint64_t>(row));
}

// The score the draw maximises for logit `value` at index i: the logit itself at temperature
// 0, else value / temp plus Gumbel noise. Both sampling kernels use this, so they agree bit for
// bit.
__device__ __forceinline__ float SampleScore(float value, float temp, uint64_t stream_key,
                                             int64_t i) {
  if (!(temp > 0.0f)) return value;
  // Uniform in (0, 1) from the top 24 bits, then Gumbel noise.
  const float uniform =
      (static_cast<float>(Mix(stream_key ^ static_cast<uint64_t>(i)) >> 40) + 0.5f) *
      (1.0f / 16777216.0f);
  return value / temp - logf(-logf(uniform));
}

// (score, index) beats (best, best_index): a higher score, or the lower index of equal ones.
__device__ __forceinline__ bool SampleBetter(float score, int64_t index, float best,
                                             int64_t best_index) {
  return score > best || (score == best && index < best_index);
}

}  // namespace llive::backends::cuda
