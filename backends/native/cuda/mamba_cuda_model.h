// A Mamba-1 model on one CUDA GPU: weights uploaded once (bf16 by default), recurrent states
// resident on the device in numbered slots, chunked prefill of many sequences at once, and
// batched decode steps replayed as CUDA graphs (one per batch-size bucket). The interface has
// no CUDA types, so CPU-only builds compile against it; there Create fails saying so.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/native/cuda/weight_dtype.h"
#include "backends/native/mamba_model.h"

namespace llive::backends::cuda {

using native::MambaConfig;
using native::MambaModel;
using native::MambaState;

struct MambaCudaOptions {
  int device = 0;  // CUDA ordinal
  WeightDtype weight_dtype = WeightDtype::kBf16;
  // Tokens of all sequences together per prefill pass; longer inputs are split in time, so
  // activation memory is fixed (about 40 KiB per row at the 130m shape).
  int64_t max_prefill_rows = 32768;
  // The largest decode batch run as one graph; larger batches run in several.
  int max_decode_batch = 256;
  // Rows of logits per pass when every position's logits are wanted.
  int64_t max_logit_rows = 1024;
  // Slots allocated at first; the pool doubles when they run out.
  int initial_slots = 8;
  // Decode buckets of this many rows up to 64 run their three products a layer through llive's
  // split tensor-core kernels (split_linear.h: weights loaded under programmatic launch while
  // the kernel before runs; the norm, convolution and scan add up their slices) instead of
  // cuBLAS; 0: never. bf16 and fp16 weights only. (With the default 2, one row keeps the
  // skinny kernels; 1 sends it through the split path too, which has not been measured.)
  int split_decode_min_rows = 2;
  // The blocks each split product aims at (ChooseSplitLinear): in_proj, x_proj (few: the scan
  // adds up its slices for every row it stages), out_proj.
  int split_in_proj_blocks = 128;
  int split_x_proj_blocks = 8;
  int split_out_proj_blocks = 96;
  // In a split step, in_proj runs unsliced with the convolution step in its output step
  // (mamba::DecodeProductConv, blocks of 16 x this many outputs: 1 or 2) where the shapes suit
  // it, one launch a layer fewer than SplitLinear then DecodeConvFromParts; 0: never.
  int split_product_conv_tiles = 2;
  // In the branches of a split step of at most this many rows, with in_proj + convolution in
  // one launch, out_proj finishes the residual add itself (its tiles' last blocks:
  // SplitResidual in split_linear.h) and the next in_proj scales its rows by their RMS
  // (mamba::RowScale): no residual-norm launch between layers, only before the first and after
  // the last. 0: never. (2026-12-03: a step of 8, 16, 32, 64 sequences in branches of at most
  // 16 took 368, 419, 515, 655 us against 378, 435, 529, 665 with the norm launches; batch 64
  // in two branches of 32, 714 against 668.)
  int fused_residual_norm_rows = 16;
  // In a split step with in_proj + convolution in one launch, x_proj runs inside that launch
  // too (mamba::XProjFold): each block of u channels multiplies its channels by x_proj's, and
  // the last block of each of this many groups of those blocks adds its group's partial sums;
  // the scan step adds the groups' sums as it adds x_proj's slices otherwise. A launch a layer
  // fewer. 0: x_proj in a launch of its own. Must divide d_inner / (16 split_product_conv_tiles)
  // (48 at the mamba-130m shape); other counts, or x_proj widths not a multiple of 16, keep
  // x_proj's own launch. 8: with the scan step's blocks held to 5 a multiprocessor
  // (2026-12-04) it pays, H200, fresh processes: a batch-64 step 630.2-630.7 us against
  // 632.1-634.4 with x_proj's own launch, 8 sequences 357.7 against 367.6, 32 505-507 either
  // way, 16 (one branch) 431.8 against 426.4. (Before those blocks, 2026-12-03 15:31: 653.5
  // against 652.1-652.6 at batch 64, 657.0-657.7 / 675 / 684 / 701 with 6 / 12 / 4 / 3 groups:
  // the groups' last blocks lengthen in_proj by about what x_proj's launch took.)
  int fold_x_proj_groups = 8;
  // Decode steps through the split products whose logits nobody reads (Decode, not Step) run
  // the LM head and the draw as one launch (head_sample.h) instead of cuBLAS's head and
  // SampleTokens; bf16 and fp16 weights. Off: slower so far (2026-12-03, batch 64 at the
  // mamba-130m shape: 691 against 669 us a step; the launch alone 53 against 41 us).
  bool fused_head_sample = false;
  // A split decode step runs as up to this many independent branches of rows (1 to
  // kMaxDecodeBranches, each of at least split_decode_branch_rows rows), side by side in its
  // graph, the LM head and the sampler after them all: each branch's chain of launches fills
  // the gaps of the others'. The defaults split a bucket of 64 rows into four of 16 and one of
  // 32 into two (2026-12-03, batch 64 with graphs of 8 steps: 660 against 666 us a step in two
  // branches of 32; docs/benchmarks.md); the same kernels run either way, and the logits are
  // bit-identical.
  int split_decode_branches = 4;
  int split_decode_branch_rows = 16;
  // Decode replays a graph of this many steps (1 to kMaxDecodeStepsPerGraph; the rest of a
  // call's steps one graph a step), each step's tokens recorded on the device by its last
  // kernel: a graph launch boundary and a copy a step fewer. The same kernels in the same order
  // either way, so the same tokens.
  int decode_steps_per_graph = 8;
  // The sampler ends each decode step itself (the next step's inputs, the recorded tokens, the
  // sampling counter: mamba::SampleAdvance) instead of AdvanceDecode in a launch of its own.
  bool sampler_ends_step = true;
};
inline constexpr int kMaxDecodeStepsPerGraph = 64;
inline constexpr int kMaxDecodeBranches = 8;

// Thread-safe: every call takes the model's lock, so calls from several threads run one
// after another on the model's own CUDA stream. States are slots: NewSlot gives a zeroed one
// that stays valid until ReleaseSlot. The pool may move in device memory when it grows, which
// discards the recorded graphs (the next step records them again).
class MambaCudaModel {
 public:
  // Uploads the weights of `model` (which may be freed afterwards). Errors: FailedPrecondition
  // in a build without CUDA or for a GPU whose architecture was not compiled in;
  // InvalidArgument for what the kernels do not support (projection biases, d_state other
  // than 4/8/16/32, d_conv above 8), a bad device ordinal, or bad options; ResourceExhausted
  // when the GPU's memory does not suffice; Unavailable for other CUDA failures.
  static absl::StatusOr<std::unique_ptr<MambaCudaModel>> Create(const MambaModel& model,
                                                                const MambaCudaOptions& options);
  ~MambaCudaModel();
  MambaCudaModel(const MambaCudaModel&) = delete;
  MambaCudaModel& operator=(const MambaCudaModel&) = delete;

  const MambaConfig& config() const;
  WeightDtype weight_dtype() const;
  // Bytes of weights on the device (what one decode step must read at least once).
  int64_t weight_bytes() const;
  // Bytes of one sequence's recurrent state (conv and ssm, all layers, fp32).
  int64_t state_bytes() const;

  // A slot holding the empty state.
  absl::StatusOr<int> NewSlot();
  // Gives the slot back; unknown or already released slots are ignored.
  void ReleaseSlot(int slot);
  // Copies the state of `from` into `to` (both held).
  absl::Status CopySlot(int from, int to);
  // Host snapshots: the slot's state into `state` (positions are the caller's), and back.
  absl::Status Download(int slot, MambaState& state);
  absl::Status Upload(const MambaState& state, int slot);

  // Advances the state in slots[b] by `length` tokens, tokens[b * length + t], as
  // MambaModel::Forward does, and returns the logits after each sequence's last token
  // [slots.size() * vocab], or with `all_positions` after every token [slots.size() * length
  // * vocab]. InvalidArgument for an unknown or repeated slot or an empty batch; token ids
  // must already be checked against the vocabulary.
  absl::StatusOr<std::vector<float>> Forward(absl::Span<const int> slots, const int32_t* tokens,
                                             int64_t length, bool all_positions);

  // One decode step of slots[b] with tokens[b] through the recorded graph of the batch's
  // bucket (the next power of two); returns the logits [slots.size() * vocab].
  absl::StatusOr<std::vector<float>> Step(absl::Span<const int> slots,
                                          absl::Span<const int32_t> tokens);

  // `steps` decode steps that choose each next token on the device and feed it back without
  // the host: greedy for temperature 0, else drawn from softmax(logits / temperature) with
  // noise from `seed`. Returns the chosen tokens, [steps * slots.size()], step-major.
  absl::StatusOr<std::vector<int32_t>> Decode(absl::Span<const int> slots,
                                              absl::Span<const int32_t> first_tokens, int steps,
                                              float temperature, uint64_t seed);

  // Bytes of device memory this model holds (weights, state pool, activations, graphs'
  // buffers; not the CUDA context).
  int64_t device_bytes() const;

  struct Impl;

 private:
  explicit MambaCudaModel(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace llive::backends::cuda
