// The hyper-parameters of a Mamba-1 model, read from a Hugging Face config.json or from the
// metadata of a GGUF file of llama.cpp's `mamba` architecture.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace llive::backends::native {

struct MambaConfig {
  int64_t d_model = 0;         // hidden_size
  int64_t n_layer = 0;         // num_hidden_layers
  int64_t d_state = 16;        // state_size
  int64_t d_inner = 0;         // expand * hidden_size (intermediate_size)
  int64_t d_conv = 4;          // conv_kernel
  int64_t dt_rank = 0;         // time_step_rank ("auto": ceil(hidden_size / 16))
  int64_t vocab_size = 0;      // rows of the embedding (which may exceed the tokenizer's size)
  float norm_epsilon = 1e-5f;  // layer_norm_epsilon
  bool use_bias = false;       // in_proj and out_proj have biases
  bool use_conv_bias = true;   // conv1d has a bias
  bool tie_embeddings = true;  // lm_head is the embedding (no lm_head.weight in the checkpoint)

  // Reads a transformers MambaConfig (model_type "mamba"; mamba_ssm's d_model/n_layer
  // spelling is accepted too). InvalidArgument naming the key for a missing or out-of-range
  // value, or for an unsupported variant (falcon_mamba, mamba2, an activation other than silu).
  static absl::StatusOr<MambaConfig> FromHuggingFace(const nlohmann::json& config);

  // Reads the `mamba.*` keys llama.cpp writes. InvalidArgument for another architecture, a
  // missing key, or the dt/B/C RMS-norm variant (Falcon Mamba).
  static absl::StatusOr<MambaConfig> FromGguf(const nlohmann::json& metadata);

  // InvalidArgument naming the field unless every size is positive and consistent.
  absl::Status Validate() const;

  // "d_model=768 n_layer=24 d_state=16 d_inner=1536 d_conv=4 dt_rank=48 vocab=50280".
  std::string ToString() const;
};

}  // namespace llive::backends::native
