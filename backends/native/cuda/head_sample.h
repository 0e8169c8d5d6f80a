// The LM head and the draw of the next tokens in one launch, for decode steps whose logits
// nobody reads: the head's tiles of logits are scored (greedy or Gumbel-max, as SampleTokens
// scores them) where the tensor cores leave them, so the logits never reach memory and the
// sampler's launch and its pass over them go away. Not yet faster than cuBLAS's head and
// SampleTokens at the shapes measured (MambaCudaOptions::fused_head_sample, off by default).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"
#include "backends/native/cuda/weight_dtype.h"

namespace llive::backends::cuda {

inline constexpr int64_t kHeadSampleMaxRows = 64;

// Scratch for HeadSample: the blocks' best (score, index) per row and a counter, zero before
// the first call (the kernel leaves the counter at zero again). Calls that share it must be
// ordered on one stream.
int64_t HeadSampleScratchBytes();

// Whether HeadSample runs rows x d_model on this device (the input rows and at least two
// stages of 16 head rows in shared memory).
bool HeadSampleApplies(int64_t rows, int64_t d_model);

// tokens[r] = the draw from head . x[r] (r < rows, 1..64): x [rows, d_model] and head [vocab,
// d_model] bf16 or fp16 (16-byte aligned, d_model a multiple of 16), fp32 accumulation; argmax
// (the lowest index among equal maxima) where *temperature == 0, else the Gumbel-max draw of
// SampleTokens with params = {seed, counter} (the same noise for the same row and index).
// The same tokens as SampleTokens on the logits of a product with another summation order,
// but for logits within rounding of each other. Asynchronous on `stream`, graph-capturable;
// launched with programmatic dependent launch where `programmatic` (its first weight tiles
// load before it waits).
absl::Status HeadSample(const void* x, int64_t rows, int64_t d_model, const void* head,
                        int64_t vocab, WeightDtype dtype, const float* temperature,
                        const uint64_t* params, int32_t* tokens, void* scratch, bool programmatic,
                        cudaStream_t stream);

}  // namespace llive::backends::cuda
