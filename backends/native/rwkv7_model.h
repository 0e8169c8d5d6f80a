// RWKV-7 ("Goose") on the CPU: the model's shape, its weights in fp32, the recurrent state of
// one sequence, and the forward pass over blocks of tokens of one or several sequences.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/types/span.h"

namespace llive::backends::native {

// The shape of an RWKV-7 model. Every size is positive; d_model is a multiple of head_size.
struct Rwkv7Config {
  int64_t vocab_size = 0;
  int64_t n_layer = 0;
  int64_t d_model = 0;
  int64_t head_size = 64;
  int64_t d_ffn = 0;       // channel-mix width (4 * d_model in the released models)
  int64_t decay_rank = 0;  // low-rank widths of the w (decay), a (in-context rate),
  int64_t iclr_rank = 0;   // v (value residual) and g (gate) paths
  int64_t value_rank = 0;
  int64_t gate_rank = 0;
  float norm_eps = 1e-5f;  // layer norms; the per-head group norm uses head_size * norm_eps

  int64_t n_head() const { return d_model / head_size; }
};

// One block. Matrices are PyTorch-layout linear weights [out, in], row-major.
struct Rwkv7Layer {
  std::vector<float> attn_norm_weight, attn_norm_bias;  // [D]
  std::vector<float> lerp;                              // [6, D]: r, w, k, v, a, g
  std::vector<float> w0, w1, w2;                        // [D], [Rw, D], [D, Rw]
  std::vector<float> a0, a1, a2;                        // [D], [Ra, D], [D, Ra]
  std::vector<float> v0, v1, v2;                        // [D], [Rv, D], [D, Rv]; empty in layer 0
  std::vector<float> g1, g2;                            // [Rg, D], [D, Rg]
  std::vector<float> k_k, k_a, r_k;                     // [D] (r_k: [heads, head_size])
  std::vector<float> receptance, key, value, output;    // [D, D]
  std::vector<float> ln_x_weight, ln_x_bias;            // [D], the per-head group norm
  std::vector<float> ffn_norm_weight, ffn_norm_bias;    // [D]
  std::vector<float> ffn_lerp_k;                        // [D]
  std::vector<float> ffn_key, ffn_value;                // [F, D], [D, F]
};

struct Rwkv7Weights {
  Rwkv7Config config;
  std::vector<float> embedding;             // [V, D]
  std::vector<float> ln0_weight, ln0_bias;  // [D], applied once to the embedding
  std::vector<Rwkv7Layer> layers;
  std::vector<float> ln_out_weight, ln_out_bias;  // [D]
  std::vector<float> head;                        // [V, D]
};

// Every weight tensor of `weights` in one fixed order: embedding, ln0, ln_out, head, then each
// layer's in declaration order. For passes that treat all weights alike (the fingerprint,
// random redraws, rounding); the order is part of the fingerprint, so never reorder it.
std::vector<std::vector<float>*> Rwkv7Tensors(Rwkv7Weights& weights);
std::vector<const std::vector<float>*> Rwkv7Tensors(const Rwkv7Weights& weights);

// The recurrent state of one sequence, all fp32:
//   wkv       [L, H, N, N]  per head, row i = value index, column j = key index (y = S r)
//   shift_att [L, D]        the last token's attention-normed input (token shift)
//   shift_ffn [L, D]        the last token's ffn-normed input
struct Rwkv7StateData {
  std::vector<float> wkv, shift_att, shift_ffn;
  int64_t position = 0;

  // Zeros of the right sizes for `config`.
  static Rwkv7StateData Zeros(const Rwkv7Config& config);
};

// A run of tokens that advances one state. `logits`, when not null, receives [vocab] logits
// after the last token, or with `all_positions` [tokens.size() * vocab] logits after each.
struct Rwkv7Segment {
  Rwkv7StateData* state = nullptr;
  absl::Span<const int32_t> tokens;
  float* logits = nullptr;
  bool all_positions = false;
};

// Advances every segment's state over its tokens (all token ids already checked to lie in
// [0, vocab_size)). The segments' tokens go through each layer together, so that the
// projections are matrix products over all of them. Segments must use distinct states.
// Thread-compatible: concurrent calls must use distinct states; the weights are only read.
void Rwkv7Forward(const Rwkv7Weights& weights, absl::Span<const Rwkv7Segment> segments);

}  // namespace llive::backends::native
