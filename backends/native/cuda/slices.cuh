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

// A last-block reduction's count, called by every thread of a block once it has stored its
// part: after the barrier one thread counts the block on `counter` (one of `blocks` that share
// it) with a release-acquire atomic at device scope (cumulative: it publishes the whole block's
// stores, and the block that completes the count sees every other block's). True in every
// thread of the block that completed it, which also puts the counter back at zero for the next
// launch; that block then reads the others' parts through L2 (LoadSlice<V, true>).
__device__ __forceinline__ bool LastBlockToFinish(int* counter, int blocks) {
  __shared__ bool last;
  __syncthreads();
  if (threadIdx.x == 0) {
    int before;
    asm volatile("atom.acq_rel.gpu.global.add.s32 %0, [%1], 1;"
                 : "=r"(before)
                 : "l"(counter)
                 : "memory");
    last = before + 1 == blocks;
    if (last) *counter = 0;
  }
  __syncthreads();
  return last;
}

}  // namespace llive::backends::cuda
