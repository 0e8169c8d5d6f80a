// Mamba-1 (selective state space model, Gu & Dao 2023) on the CPU: weights, recurrent state
// and the forward pass over a chunk of tokens for one or several sequences.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/native/checkpoint.h"
#include "backends/native/mamba_config.h"
#include "backends/stateful_backend.h"

namespace llive::backends::native {

// One residual block's weights, fp32, in PyTorch's row-major layout.
struct MambaLayerWeights {
  std::vector<float> norm;           // [d_model]
  std::vector<float> in_proj;        // [2 * d_inner, d_model]: rows for x, then for z
  std::vector<float> in_proj_bias;   // [2 * d_inner] or empty
  std::vector<float> conv;           // [d_inner, d_conv]
  std::vector<float> conv_bias;      // [d_inner] (zeros when the model has none)
  std::vector<float> x_proj;         // [dt_rank + 2 * d_state, d_inner]
  std::vector<float> dt_proj;        // [d_inner, dt_rank]
  std::vector<float> dt_proj_bias;   // [d_inner]
  std::vector<float> a;              // [d_inner, d_state], A = -exp(A_log)
  std::vector<float> d;              // [d_inner]
  std::vector<float> out_proj;       // [d_model, d_inner]
  std::vector<float> out_proj_bias;  // [d_model] or empty
};

struct MambaWeights {
  std::vector<float> embedding;  // [vocab, d_model]
  std::vector<MambaLayerWeights> layers;
  std::vector<float> norm_f;   // [d_model]
  std::vector<float> lm_head;  // [vocab, d_model]; empty when tied to the embedding
};

// The recurrent state of one sequence: per layer the last d_conv-1 inputs of the causal
// convolution and the SSM state h.
class MambaState : public ModelState {
 public:
  MambaState(const MambaConfig& config);
  std::unique_ptr<ModelState> Clone() const override;
  int64_t position() const override { return position_; }

  std::vector<std::vector<float>> conv;  // per layer [d_inner, d_conv - 1], oldest first
  std::vector<std::vector<float>> ssm;   // per layer [d_inner, d_state]
  int64_t position_ = 0;
};

// A loaded model. Immutable after Load, so one instance may run many states on many threads
// (each state on one thread at a time).
class MambaModel {
 public:
  // Reads and checks every tensor: Hugging Face names (backbone.layers.N.mixer.in_proj.weight,
  // ...) or llama.cpp GGUF names (blk.N.ssm_in.weight, ...). InvalidArgument naming the
  // tensor for one that is missing, has the wrong shape, or holds NaN or infinity.
  static absl::StatusOr<std::unique_ptr<MambaModel>> Load(const Checkpoint& checkpoint);

  // Builds a model from weights in memory (tests, benchmarks); checks shapes as Load does.
  static absl::StatusOr<std::unique_ptr<MambaModel>> FromWeights(MambaConfig config,
                                                                 MambaWeights weights);

  const MambaConfig& config() const { return config_; }
  const MambaWeights& weights() const { return weights_; }
  // SHA-256 over the configuration and every weight value (hex).
  const std::string& fingerprint() const { return fingerprint_; }

  // Advances each of `states` by `length` tokens (tokens[b * length + t] for sequence b) and
  // returns the logits after each sequence's last token, [states.size() * vocab]; with
  // `all_positions`, the logits after every token, [states.size() * length * vocab].
  // Token ids must already be checked against the vocabulary.
  std::vector<float> Forward(absl::Span<MambaState* const> states, const int32_t* tokens,
                             int64_t length, bool all_positions) const;

 private:
  MambaModel(MambaConfig config, MambaWeights weights);

  // One residual block over x [rows, d_model], rows = states.size() * length.
  void Block(int layer, absl::Span<MambaState* const> states, int64_t length, float* x) const;

  MambaConfig config_;
  MambaWeights weights_;
  std::string fingerprint_;
};

}  // namespace llive::backends::native
