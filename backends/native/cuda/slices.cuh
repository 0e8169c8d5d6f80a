// Adding up the fp32 slices a split product leaves (split_linear.h), for the kernels that
// consume them: the decode step's residual norm and scan staging, and the split product's own
// last block of a tile when it finishes a residual.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

namespace llive::backends::cuda {

// One slice's value at `p`: a float, or four (16-byte aligned). kFromL2: through L2 only
// (.cg), for slices other blocks of the same kernel wrote (this multiprocessor's L1 may not
// see them); else a plain load, for slices an earlier kernel wrote.
template <typename V, bool kFromL2>
__device__ __forceinline__ V LoadSlice(const float* p) {
  if constexpr (sizeof(V) == sizeof(float)) {
    return kFromL2 ? __ldcg(p) : *p;
  } else {
    const float4* q = reinterpret_cast<const float4*>(p);
    return kFromL2 ? __ldcg(q) : *q;
  }
}
__device__ __forceinline__ void Accumulate(float& sum, float value) { sum += value; }
__device__ __forceinline__ void Accumulate(float4& sum, const float4& value) {
  sum.x += value.x, sum.y += value.y, sum.z += value.z, sum.w += value.w;
}

// `sum` plus `count` partial sums `stride` apart from `source` (a split product's slices; V a
// float or a float4 of four columns), added in slice order (so that every consumer agrees to
// the bit), their loads issued eight at a time: a plain loop over a run-time count loads them
// one after another, a memory round trip each.
constexpr int kSliceLoads = 8;
template <typename V, bool kFromL2 = false>
__device__ __forceinline__ V AddSlices(V sum, const float* source, int count, int64_t stride) {
  for (int first = 0; first < count; first += kSliceLoads) {
    V values[kSliceLoads];
#pragma unroll
    for (int p = 0; p < kSliceLoads; ++p) {
      values[p] = first + p < count ? LoadSlice<V, kFromL2>(source + (first + p) * stride) : V{};
    }
#pragma unroll
    for (int p = 0; p < kSliceLoads; ++p) {
      if (first + p < count) Accumulate(sum, values[p]);
    }
  }
  return sum;
}
// The sum of `count` >= 1 slices.
template <typename V>
__device__ __forceinline__ V SumSlices(const float* source, int count, int64_t stride) {
  return AddSlices(LoadSlice<V, false>(source), source + stride, count - 1, stride);
}

}  // namespace llive::backends::cuda
