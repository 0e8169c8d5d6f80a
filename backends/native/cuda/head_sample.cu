// HeadSample: the LM head on the tensor cores with the draw in its epilogue (head_sample.h).
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <algorithm>
#include <climits>
#include <cmath>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "backends/native/cuda/async_copy.cuh"
#include "backends/native/cuda/cuda_status.h"
#include "backends/native/cuda/head_sample.h"
#include "backends/native/cuda/mma_tile.cuh"
#include "backends/native/cuda/programmatic_launch.cuh"
#include "backends/native/cuda/sample_score.cuh"

namespace llive::backends::cuda {
namespace {

// A block a multiprocessor. The input rows stay in shared memory; the head does not go
// through it: a warp owns groups of 16 head rows (every total-warps-th group) and multiplies
// all the input rows by a group, its lanes loading the head's bytes from memory straight into
// the tensor-core operands (16 bytes a lane a load, kBatch loads of each of its two rows in
// flight). A lane of the mma's B fragment needs elements 2 (lane % 4) + {0, 1} and
// 8 + 2 (lane % 4) + {0, 1} of a step of 16; loading 8 consecutive elements of its head row
// instead (elements 8 (lane % 4) + [0, 8) of a chunk of 32) feeds two steps at once if the
// input rows' elements sit in the same order: they are stored permuted in shared memory
// (Permuted), and a dot product does not depend on the order of its terms. Each warp keeps,
// for each input row, the best (score, index) it has seen.
//
// (The first versions staged the head's tiles through shared memory, 8 warps each
// multiplying 16 rows by 16 head rows: 59 and 82 us for 64 rows at the mamba-130m head where
// cuBLAS and SampleTokens take 39, and as long for 1 row, 2026-12-03: each warp's chain of
// 576 dependent steps, not memory, set the time.)
constexpr int kThreads = 384;
constexpr int kWarps = kThreads / 32;
constexpr int kGroup = 16;  // head rows a warp multiplies at once
constexpr int kChunk = 32;  // elements of d_model per 16-byte load of 8 and two mma steps
constexpr int kBatch = 8;   // chunks a lane loads before it multiplies them
constexpr int kPad = 8;  // an odd number of 16-byte words a shared row: ldmatrix without conflicts
constexpr int kMaxBlocks = 1024;
constexpr int64_t kCounterBytes = 16;

int64_t SharedBytes(int64_t rows, int64_t d_model) {
  const int64_t row_tiles = (rows + 15) / 16;
  return 16 * row_tiles * (d_model + kPad) * 2 +
         int64_t{kWarps} * kHeadSampleMaxRows * static_cast<int64_t>(sizeof(int2));
}

// Where element p of a chunk of 32 goes in shared memory: the lane of p / 8 (as a lane
// q = p / 8 loads it) holds elements 8 q + [0, 8) as b0 b1 of step 0, then b0 b1 of step 1,
// two elements each; b0 of a step is virtual element 2 q + {0, 1}, b1 8 + 2 q + {0, 1}.
__device__ __forceinline__ int Permuted(int p) {
  const int q = p / 8, pair = (p % 8) / 2;  // pair: b0 step 0, b1 step 0, b0 step 1, b1 step 1
  return 16 * (pair / 2) + 8 * (pair % 2) + 2 * q + p % 2;
}

// Packs (score, index) for the scratch; -1 as the index of nothing seen.
__device__ __forceinline__ int2 Pack(float score, int32_t index) {
  return make_int2(__float_as_int(score), index);
}

__device__ __forceinline__ void Take(float score, int32_t index, float& best, int32_t& best_index) {
  if (index >= 0 && (best_index < 0 || SampleBetter(score, index, best, best_index))) {
    best = score;
    best_index = index;
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads, 1)
    HeadSampleKernel(const T* x, int rows, int d_model, const T* head, int64_t vocab,
                     const float* temperature, const uint64_t* params, int32_t* tokens,
                     unsigned int* counter, int2* parts) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  const int stride = d_model + kPad;
  const int row_tiles = (rows + 15) / 16;
  T* s_x = reinterpret_cast<T*>(shared_bytes);
  int2* s_best = reinterpret_cast<int2*>(s_x + 16 * row_tiles * stride);  // [kWarps][64]
  __shared__ bool s_last;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t groups = (vocab + kGroup - 1) / kGroup;
  const int64_t total_warps = int64_t{gridDim.x} * kWarps;
  const int chunks = d_model / kChunk;

  // A batch of a group's chunks [c0, c0 + kBatch) into w[chunk][n-tile] (zeros past the
  // vocabulary or d_model).
  uint4 w[kBatch][2];
  auto load = [&](int64_t group, int c0) {
#pragma unroll
    for (int t = 0; t < 2; ++t) {
      const int64_t v = group * kGroup + 8 * t + lane / 4;
      const T* row = head + (v < vocab ? v : 0) * d_model + 8 * (lane % 4);
#pragma unroll
      for (int i = 0; i < kBatch; ++i) {
        const bool valid = v < vocab && c0 + i < chunks;
        w[i][t] = valid ? __ldcs(reinterpret_cast<const uint4*>(row + (c0 + i) * kChunk))
                        : make_uint4(0, 0, 0, 0);
      }
    }
  };
  // The first batch before the wait: weights.
  int64_t group = int64_t{blockIdx.x} * kWarps + warp;
  if (group < groups) load(group, 0);
  WaitThenRelease();
  // The input rows, each chunk's elements permuted (zeros for the padding rows).
  for (int p = threadIdx.x; p < 16 * row_tiles * (d_model / 8); p += kThreads) {
    const int row = p / (d_model / 8), piece = p % (d_model / 8);
    uint4 v = make_uint4(0, 0, 0, 0);
    if (row < rows) v = *reinterpret_cast<const uint4*>(x + int64_t{row} * d_model + piece * 8);
    const uint32_t pairs[4] = {v.x, v.y, v.z, v.w};
    const int chunk = piece / 4, q = piece % 4;
    auto* target = reinterpret_cast<uint32_t*>(s_x + row * stride) + chunk * (kChunk / 2);
#pragma unroll
    for (int m = 0; m < 4; ++m) target[Permuted(8 * q + 2 * m) / 2] = pairs[m];
  }
  __syncthreads();

  const float temp = *temperature;
  // Rows this lane scores: 16 rt + lane / 4 + 8 h for row tile rt and h in {0, 1}.
  float best[4][2];
  int32_t best_index[4][2];
#pragma unroll
  for (int rt = 0; rt < 4; ++rt) {
    best[rt][0] = best[rt][1] = 0.0f;
    best_index[rt][0] = best_index[rt][1] = -1;
  }
  for (; group < groups; group += total_warps) {
    float acc[4][2][4] = {};
    for (int c0 = 0; c0 < chunks; c0 += kBatch) {
      if (c0 > 0) load(group, c0);
#pragma unroll
      for (int i = 0; i < kBatch; ++i) {
        if (c0 + i >= chunks) break;
#pragma unroll
        for (int step = 0; step < 2; ++step) {
          const uint32_t b0[2] = {step == 0 ? w[i][0].x : w[i][0].z,
                                  step == 0 ? w[i][1].x : w[i][1].z};
          const uint32_t b1[2] = {step == 0 ? w[i][0].y : w[i][0].w,
                                  step == 0 ? w[i][1].y : w[i][1].w};
#pragma unroll
          for (int rt = 0; rt < 4; ++rt) {
            if (rt >= row_tiles) break;
            uint32_t a[4];
            LoadMatrices(a, s_x + (rt * 16 + lane % 16) * stride + (c0 + i) * kChunk + 16 * step +
                                (lane / 16) * 8);
            Mma<T>(acc[rt][0], a, b0[0], b1[0]);
            Mma<T>(acc[rt][1], a, b0[1], b1[1]);
          }
        }
      }
    }
    // The next group's first batch in flight while this one is scored.
    const int64_t next = group + total_warps;
    if (next < groups) load(next, 0);
      // acc[rt][t]: rows 16 rt + lane / 4 (elements 0, 1) and + 8 (2, 3), head rows
      // 16 group + 8 t + 2 (lane % 4) and the next.
#pragma unroll
    for (int rt = 0; rt < 4; ++rt) {
      if (rt >= row_tiles) break;
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        const int row = rt * 16 + lane / 4 + 8 * h;
        const uint64_t key = temp > 0.0f ? SampleStreamKey(params, row) : 0;
#pragma unroll
        for (int t = 0; t < 2; ++t) {
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int64_t v = group * kGroup + 8 * t + 2 * (lane % 4) + e;
            if (v >= vocab) continue;
            Take(SampleScore(acc[rt][t][2 * h + e], temp, key, v), static_cast<int32_t>(v),
                 best[rt][h], best_index[rt][h]);
          }
        }
      }
    }
  }

  // The block's best per row: the four lanes of a row, then the warps.
#pragma unroll
  for (int rt = 0; rt < 4; ++rt) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
#pragma unroll
      for (int offset = 1; offset < 4; offset *= 2) {
        const float other = __shfl_xor_sync(0xffffffffu, best[rt][h], offset);
        const int32_t other_index = __shfl_xor_sync(0xffffffffu, best_index[rt][h], offset);
        Take(other, other_index, best[rt][h], best_index[rt][h]);
      }
      if (lane % 4 == 0) {
        s_best[warp * kHeadSampleMaxRows + rt * 16 + lane / 4 + 8 * h] =
            Pack(best[rt][h], best_index[rt][h]);
      }
    }
  }
  __syncthreads();
  for (int r = threadIdx.x; r < rows; r += kThreads) {
    float score = 0.0f;
    int32_t index = -1;
    for (int w2 = 0; w2 < kWarps; ++w2) {
      const int2 part = s_best[w2 * kHeadSampleMaxRows + r];
      Take(__int_as_float(part.x), part.y, score, index);
    }
    parts[int64_t{blockIdx.x} * kHeadSampleMaxRows + r] = Pack(score, index);
  }
  // The last block to finish reduces the blocks' parts.
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) s_last = atomicAdd(counter, 1u) == gridDim.x - 1;
  __syncthreads();
  if (!s_last) return;
  __threadfence();
  // Four threads a row (the first 256 threads), each through every fourth block, then the four
  // together.
  constexpr int kLanesPerRow = 4;
  static_assert(kThreads >= kLanesPerRow * kHeadSampleMaxRows);
  if (threadIdx.x >= kLanesPerRow * kHeadSampleMaxRows) return;  // whole warps
  const int r = threadIdx.x / kLanesPerRow, quarter = threadIdx.x % kLanesPerRow;
  float score = 0.0f;
  int32_t index = -1;
  if (r < rows) {
    for (int b = quarter; b < static_cast<int>(gridDim.x); b += kLanesPerRow) {
      const int2 part = __ldcg(parts + int64_t{b} * kHeadSampleMaxRows + r);
      Take(__int_as_float(part.x), part.y, score, index);
    }
  }
#pragma unroll
  for (int offset = 1; offset < kLanesPerRow; offset *= 2) {
    const float other = __shfl_xor_sync(0xffffffffu, score, offset);
    const int32_t other_index = __shfl_xor_sync(0xffffffffu, index, offset);
    Take(other, other_index, score, index);
  }
  if (r < rows && quarter == 0) tokens[r] = index >= 0 ? index : 0;  // 0: every logit NaN
  if (threadIdx.x == 0) *counter = 0;                                // for the next call
}

template <typename T>
cudaError_t Launch(const void* x, int64_t rows, int64_t d_model, const void* head, int64_t vocab,
                   const float* temperature, const uint64_t* params, int32_t* tokens, void* scratch,
                   bool programmatic, cudaStream_t stream) {
  const int64_t bytes = SharedBytes(rows, d_model);
  auto* kernel = HeadSampleKernel<T>;
  if (bytes > 48 * 1024) {
    const cudaError_t raised = cudaFuncSetAttribute(
        kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    if (raised != cudaSuccess) return raised;
  }
  const int64_t groups = (vocab + kGroup - 1) / kGroup;
  const int64_t blocks =
      std::min<int64_t>({(groups + kWarps - 1) / kWarps, kMaxBlocks,
                         std::max(1, CurrentDeviceAttribute(cudaDevAttrMultiProcessorCount, 1))});
  auto* counter = static_cast<unsigned int*>(scratch);
  auto* parts = reinterpret_cast<int2*>(static_cast<char*>(scratch) + kCounterBytes);
  return LaunchKernel(programmatic, kernel, dim3(static_cast<unsigned int>(blocks)), dim3(kThreads),
                      static_cast<size_t>(bytes), stream, static_cast<const T*>(x),
                      static_cast<int>(rows), static_cast<int>(d_model),
                      static_cast<const T*>(head), vocab, temperature, params, tokens, counter,
                      parts);
}

}  // namespace

int64_t HeadSampleScratchBytes() {
  return kCounterBytes +
         int64_t{kMaxBlocks} * kHeadSampleMaxRows * static_cast<int64_t>(sizeof(int2));
}

bool HeadSampleApplies(int64_t rows, int64_t d_model) {
  return rows >= 1 && rows <= kHeadSampleMaxRows && d_model > 0 && d_model % 16 == 0 &&
         d_model % kChunk == 0 &&
         SharedBytes(rows, d_model) <=
             CurrentDeviceAttribute(cudaDevAttrMaxSharedMemoryPerBlockOptin, 0);
}

absl::Status HeadSample(const void* x, int64_t rows, int64_t d_model, const void* head,
                        int64_t vocab, WeightDtype dtype, const float* temperature,
                        const uint64_t* params, int32_t* tokens, void* scratch, bool programmatic,
                        cudaStream_t stream) {
  if (!HeadSampleApplies(rows, d_model) || vocab < 1 || vocab > INT32_MAX ||
      dtype == WeightDtype::kFp32 || reinterpret_cast<uintptr_t>(x) % 16 != 0 ||
      reinterpret_cast<uintptr_t>(head) % 16 != 0 || scratch == nullptr ||
      reinterpret_cast<uintptr_t>(scratch) % 16 != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "head + sample: takes 1..", kHeadSampleMaxRows,
        " rows of bf16 or fp16 (16-byte aligned), d_model a multiple of 32 whose rows fit in "
        "shared memory, and scratch; got rows ",
        rows, ", d_model ", d_model, ", vocab ", vocab, ", ", WeightDtypeName(dtype)));
  }
  const cudaError_t launched =
      dtype == WeightDtype::kBf16
          ? Launch<__nv_bfloat16>(x, rows, d_model, head, vocab, temperature, params, tokens,
                                  scratch, programmatic, stream)
          : Launch<__half>(x, rows, d_model, head, vocab, temperature, params, tokens, scratch,
                           programmatic, stream);
  return CudaStatus(launched, "launch of the head + sample kernel");
}

}  // namespace llive::backends::cuda
