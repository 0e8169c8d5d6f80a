// llive's own CUDA kernels for Mamba-1 (the projections are cuBLAS GEMMs, cublas_gemm.h).
// Every function launches asynchronously on `stream`, allocates nothing, and is usable inside
// CUDA graph capture; pointers are device memory. Errors: InvalidArgument for sizes a kernel
// does not support, the launch's CUDA error otherwise (cuda_status.h).
//
// Recurrent states live in slot arrays: the state of sequence b is at
//   conv_states + slots[b] * conv_slot_stride    ([d_inner, d_conv - 1] fp32, oldest first)
//   ssm_states + slots[b] * ssm_slot_stride      ([d_inner, d_state] fp32)
// where the caller has already offset the base pointers to the layer. Row r = b * length + t.
// Activations between GEMMs (in_proj's output, u, y) are in the weights' type `gemm_dtype`;
// the residual stream, dt/B/C rows, states and logits are fp32.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "backends/native/cuda/weight_dtype.h"

namespace llive::backends::cuda::mamba {

// x[r, :] = embedding[tokens[r], :] as fp32; embedding is [vocab, d_model] of `dtype`.
absl::Status EmbeddingGather(const int32_t* tokens, int64_t rows, const void* embedding,
                             WeightDtype dtype, int64_t d_model, float* x, cudaStream_t stream);

// out[o, :] = x[s, :] / sqrt(mean(x[s, :]^2) + eps) * weight with s = o * row_step + row_offset
// (row_step 1, offset 0 for every row; row_step = length, offset = length - 1 for each
// sequence's last row). The residual add is not here: it is the beta = 1 of the out_proj GEMM.
absl::Status RmsNorm(const float* x, int64_t out_rows, int64_t row_step, int64_t row_offset,
                     int64_t n, const float* weight, float eps, void* out, WeightDtype out_dtype,
                     cudaStream_t stream);

// The causal depthwise convolution of the SSM input and its SiLU over a chunk of `length`
// tokens: u[r, ch] = SiLU(bias[ch] + sum_k weight[ch, k] * in(t - (d_conv - 1) + k)), where
// in(t) = uz[(b * length + t) * ld_uz + ch] and in(t < 0) comes from the conv state. uz and u
// are in gemm_dtype (in_proj's output, x_proj's and the scan's input); the sum is fp32. Then
// moves the last d_conv - 1 inputs into the state. Two launches for length > 1 (outputs, then
// the state), one fused launch for length == 1 (the decode step). d_conv must be 2..8.
absl::Status CausalConv1d(const void* uz, int64_t ld_uz, int64_t batch, int64_t length,
                          int64_t d_inner, int64_t d_conv, const float* weight, const float* bias,
                          const int32_t* slots, float* conv_states, int64_t conv_slot_stride,
                          void* u, WeightDtype gemm_dtype, cudaStream_t stream);

// The decode step's first half of a block in one launch, for 1..kSkinnyMaxRows rows (one token
// of each of `rows` sequences): RMSNorm of x (fp32 [rows, d_model]) times norm_weight, in_proj
// (weights of `dtype`, [2 * d_inner, d_model]), then for the first d_inner outputs the causal
// convolution step and SiLU exactly as CausalConv1d with length 1 (u [rows, d_inner] in
// dtype; the conv state of slots[r] advanced), the other d_inner outputs (z) stored in
// uz[r * ld_uz + d_inner + ch]. The x half of uz is not written. Same arithmetic and rounding
// as SkinnyNormLinear followed by CausalConv1d. InvalidArgument unless
// DecodeInProjConvApplies and d_conv is 2..8.
absl::Status DecodeInProjConv(const float* x, int64_t rows, int64_t d_model,
                              const float* norm_weight, float eps, const void* in_proj,
                              WeightDtype dtype, int64_t d_inner, int64_t d_conv,
                              const float* conv_weight, const float* conv_bias,
                              const int32_t* slots, float* conv_states, int64_t conv_slot_stride,
                              void* uz, int64_t ld_uz, void* u, cudaStream_t stream);
bool DecodeInProjConvApplies(const float* x, int64_t rows, int64_t d_model, const void* in_proj);

// The decode step's steps around the split products (split_linear.h), for 1..64 rows whose
// products leave `slices` partial sums [slices][rows][width] (slice_stride = rows * width):
//
// DecodeResidualNorm: x[r, :] += the sum of out_proj's slices, in order (none for the first
// layer: slices 0), then out[r, :] = RMSNorm(x[r, :]) * norm_weight in `dtype`, as RmsNorm.
// d_model a multiple of 4 up to 4,096, x, parts and norm_weight 16-byte aligned, slice_stride
// a multiple of 4; InvalidArgument otherwise.
absl::Status DecodeResidualNorm(float* x, int64_t rows, int64_t d_model, const float* parts,
                                int64_t slices, int64_t slice_stride, const float* norm_weight,
                                float eps, void* out, WeightDtype dtype, cudaStream_t stream);

// DecodeConvFromParts: in_proj's output (width 2 * d_inner) summed from its slices, rounded
// to `dtype` as a product stored in it would be; the first d_inner values go through the
// convolution step and SiLU into u [rows, d_inner] (the conv states of `slots` advanced), the
// rest (z) into uz[r * ld_uz + d_inner + ch]: what CausalConv1d does for length 1 after a
// product that wrote uz. d_conv 2..8.
absl::Status DecodeConvFromParts(const float* parts, int64_t slices, int64_t slice_stride,
                                 int64_t rows, int64_t d_inner, int64_t d_conv,
                                 const float* conv_weight, const float* conv_bias,
                                 const int32_t* slots, float* conv_states, int64_t conv_slot_stride,
                                 void* uz, int64_t ld_uz, void* u, WeightDtype dtype,
                                 cudaStream_t stream);

// DecodeProductConv: in_proj's product for 1..64 rows x [rows, d_model] by in_proj [2 d_inner,
// d_model] (bf16 or fp16, 16-byte aligned), not sliced, with what DecodeConvFromParts does in
// its output step: the first d_inner outputs, rounded to `dtype`, through the convolution step
// and SiLU into u [rows, d_inner] (the conv states of `slots` advanced), the rest (z) into
// uz[r * ld_uz + d_inner + ch]. A block covers 16 `tiles` (1 or 2) outputs, so the product and
// the convolution take one launch and leave no slices. A row's results do not depend on the
// other rows or their count. InvalidArgument where DecodeProductConvApplies does not hold.
// With `scale` (its sums given), every product output of row r is first multiplied by the
// row's scale: x holds x * norm_weight unnormalised, and the product then is the RMSNorm's
// (SplitResidual in split_linear.h leaves both).
inline constexpr int64_t kMaxRowScaleSums = 1024;  // rows x tiles a launch
struct RowScale {
  const float* sumsq = nullptr;  // [tiles][rows]; none: outputs unscaled
  int64_t tiles = 0;             // scale = 1 / sqrt(sum over tiles / d_model + eps)
  float eps = 0.0f;
};
//
// With `fold` (its weight given), the launch also does x_proj: each block of u channels
// multiplies its channels of u (as stored, rounded to `dtype`) by theirs of x_proj (fp32 sums)
// into a partial [rows][width], and the last block of each group of u tiles to finish (a
// counter a group) adds its group's partials, in tile order, into sums[group]: the scan step
// then adds `groups` slices (DbcSlices) where x_proj's own launch would have left its slices.
// A launch a layer fewer; the sums do not depend on the other rows either.
struct XProjFold {
  const void* weight = nullptr;  // x_proj [width, d_inner] in `dtype`, 16-byte aligned
  int64_t width = 0;             // dt_rank + 2 d_state: a multiple of 16, at most kMaxFoldWidth
  int64_t groups = 0;            // a divisor of the u tiles' count, d_inner / (16 tiles)
  float* partials = nullptr;     // scratch, [u tiles][rows][width]
  float* sums = nullptr;         // [groups][rows][width], 16-byte aligned
  int* counters = nullptr;       // [groups], zero before the first launch and after every one
};
inline constexpr int64_t kMaxFoldWidth = 256;
bool DecodeProductConvApplies(int64_t rows, int64_t d_model, int64_t d_inner, int64_t d_conv,
                              int64_t tiles, int64_t fold_width = 0);
// Whether `groups` groups of u tiles suit a fold of x_proj at this shape.
bool XProjFoldGroupsValid(int64_t d_inner, int64_t tiles, int64_t groups);
absl::Status DecodeProductConv(const void* x, int64_t rows, int64_t d_model, const void* in_proj,
                               WeightDtype dtype, int64_t d_inner, int64_t d_conv,
                               const float* conv_weight, const float* conv_bias,
                               const int32_t* slots, float* conv_states, int64_t conv_slot_stride,
                               void* uz, int64_t ld_uz, void* u, int64_t tiles, cudaStream_t stream,
                               const RowScale& scale = {}, const XProjFold& fold = {});

// The per-layer parameters the selective scan reads (fp32).
struct ScanWeights {
  const float* dt_proj;       // [d_inner, dt_rank]
  const float* dt_proj_bias;  // [d_inner]
  const float* a;             // [d_inner, d_state], A = -exp(A_log)
  const float* d;             // [d_inner]
};

// Scratch for the chunked scan: at least ScanScratchFloats(batch, length, ...) floats.
int64_t ScanScratchFloats(int64_t batch, int64_t length, int64_t d_inner, int64_t d_state,
                          int64_t chunk_length);

// The selective scan with dt_proj and softplus fused in, over `length` tokens per sequence:
//   dt = softplus(dt_proj . dbc[r, :dt_rank] + dt_proj_bias)
//   h_t = exp(dt A) h_{t-1} + dt B_t u_t;   y_t = (C_t . h_t + D u_t) * SiLU(z_t)
// with dbc[r] = [dt_low (dt_rank), B (d_state), C (d_state)] fp32 rows of stride ld_dbc,
// u [rows, d_inner] and z = uz[r * ld_uz + d_inner + ch] in gemm_dtype, y written in
// gemm_dtype [rows, d_inner]; all arithmetic fp32. The state h is read from and written back
// to the ssm slots. ScanLanes(batch, length, d_inner) threads share a channel (a share of the
// states each); the block's dt_proj rows, and dt/B/C, u and z rows in tiles of time, sit in shared
// memory. Parallel over time: the sequence splits into chunks of `chunk_length` tokens (0 chooses:
// one chunk when batch * d_inner already fills the GPU); each chunk first scans from a zero
// state recording its end state and total decay, then rescans from the exact state composed
// from its predecessors' (two launches; one when there is one chunk, which for length == 1
// is the decode step's state update). d_state must be 4, 8, 16 or 32 and dt_rank at most
// 256 (InvalidArgument otherwise); `scratch` may be null for one chunk.
//
// `slices` > 1 (the decode step, length 1, only; InvalidArgument otherwise): dbc is x_proj's
// output as SplitLinear leaves it, `slices` partial sums `stride` floats apart, added in order
// as the rows are staged.
struct DbcSlices {
  int64_t count = 1;
  int64_t stride = 0;
  // Launches like this one running side by side (a split decode step's branches), with any
  // slice count: the decode step's block shape depends on it (SetScanStepBlock).
  int64_t beside = 1;
};
absl::Status SelectiveScan(const float* dbc, int64_t ld_dbc, int64_t dt_rank, const void* u,
                           const void* uz, int64_t ld_uz, int64_t batch, int64_t length,
                           int64_t d_inner, int64_t d_state, const ScanWeights& weights,
                           const int32_t* slots, float* ssm_states, int64_t ssm_slot_stride,
                           int64_t chunk_length, float* scratch, void* y, WeightDtype gemm_dtype,
                           cudaStream_t stream, const DbcSlices& slices = {});

// Threads a channel of the selective scan: 0 (the default) lets ScanLanes choose by shape
// (2 for prefills of at least 16,384 sequence-channels, 4 otherwise), 2 or 4 force it. A
// process-wide setting for benchmarks that compare them; not thread-safe against running
// scans. InvalidArgument for another count. The decode step (length 1) has its own kernel.
absl::Status SetScanLanes(int lanes);

// The decode step's scan blocks: `channels` channels of `sequences` sequences each, with
// registers for `blocks_per_sm` blocks a multiprocessor (d_state up to 16; 32 states a thread
// always take 2 blocks' worth): 32 x 4 x 5, 64 x 4 x 3 or 32 x 4 x 3 (ScanStepBlocks). By
// default ({0, 0}) a launch of at most 8 sequences, or one of a split step's branches that runs
// beside others (DbcSlices::beside), takes 32 x 4 x 5 and any other 64 x 4 x 3; a process-wide
// setting for checks and benchmarks forces one. Read when a step is launched or captured.
// InvalidArgument for another shape.
struct ScanStepBlock {
  int channels = 0;
  int sequences = 0;
  int blocks_per_sm = 3;
  friend bool operator==(const ScanStepBlock& a, const ScanStepBlock& b) {
    return a.channels == b.channels && a.sequences == b.sequences &&
           a.blocks_per_sm == b.blocks_per_sm;
  }
};
absl::Status SetScanStepBlock(ScanStepBlock block);
absl::Span<const ScanStepBlock> ScanStepBlocks();

// The most groups of sequences the decode step's scan launches side by side (1..32, the
// default 32); more sequences loop inside the blocks. A process-wide setting for benchmarks
// (fewer, longer blocks hold fewer registers while the next kernel of a step waits to start);
// read when a step is launched or captured. InvalidArgument outside 1..32.
absl::Status SetScanStepGroups(int groups);
int ScanLanes(int64_t batch, int64_t length, int64_t d_inner);

// Whether the prefill scan computes dt = dt_proj . dt_low for bf16/fp16 activations on the
// tensor cores (the default; TF32 with each operand split in two, three products: about fp32
// accuracy) or by FMAs (as it always does for fp32 activations and dt_rank above 64). A
// process-wide setting for checks and benchmarks that compare the two; not thread-safe against
// running scans.
void SetScanDtOnTensorCores(bool on);

// The chunk length SelectiveScan chooses for chunk_length = 0.
int64_t AutoScanChunk(int64_t batch, int64_t length, int64_t d_inner, int64_t d_state);

// Next tokens from logits [rows, vocab] fp32: argmax where *temperature == 0 (the lowest index
// among equal maxima, as the CPU Argmax), otherwise a draw from softmax(logits / temperature)
// by the Gumbel-max trick with noise hashed from (seed, counter, row, index), so a replayed
// graph draws fresh noise once the counter moves. `params` = {seed, counter} and
// `temperature` are device pointers read at run time.
//
// Without scratch each row is one block of 1,024 threads, which leaves most of the GPU idle
// for a few rows (about 14 us for one row of 50,280 logits on the H200). With scratch each
// row is split over several blocks (SampleParts) whose last one to finish reduces the parts;
// the tokens are the same either way (for logits without NaN). Calls that share one scratch
// must be ordered on one stream, as the steps of a decode graph are.
struct SampleScratch {
  void* data = nullptr;  // SampleScratchBytes(max_rows, ...) bytes, zero before the first use
                         // (the kernel leaves its counters at zero again)
  int64_t bytes = 0;
  int64_t max_rows = 0;  // rows of the largest call
};

// Bytes of scratch for every call of 1..max_rows rows of `vocab` logits.
int64_t SampleScratchBytes(int64_t max_rows, int64_t vocab);

// Blocks a row is split into with scratch (1: one block writes the token, no scratch used).
int64_t SampleParts(int64_t rows, int64_t vocab);

// With `advance.params` set (and scratch given), the launch also ends the decode step as
// AdvanceDecode does: advance.next_inputs[b] (and advance.record[b], where set) = the token,
// and the last row to finish advances the sampling counter (params[1], which must be the
// `params` sampled with) and puts advance.rows_done (one counter, zero before the first use)
// back to zero: a launch a step fewer.
struct SampleAdvance {
  int32_t* next_inputs = nullptr;
  int32_t* record = nullptr;
  uint64_t* params = nullptr;
  unsigned int* rows_done = nullptr;
};
absl::Status SampleTokens(const float* logits, int64_t rows, int64_t vocab,
                          const float* temperature, const uint64_t* params, int32_t* tokens,
                          cudaStream_t stream, const SampleScratch& scratch = {},
                          const SampleAdvance& advance = {});

// Ends a decode step on the device: next_inputs[b] = sampled[b] for b < rows (and record[b],
// where record is not null: a graph of several steps keeps each step's tokens there), and the
// sampling counter (params[1]) advances by one, so that graph replays chain without the host.
absl::Status AdvanceDecode(const int32_t* sampled, int64_t rows, int32_t* next_inputs,
                           uint64_t* params, cudaStream_t stream, int32_t* record = nullptr);

}  // namespace llive::backends::cuda::mamba
