// Small random Mamba models for the native backend tests, in memory or written out in the
// Hugging Face layout.
#pragma once

#include <cmath>
#include <fstream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "backends/native/mamba_backend.h"
#include "backends/native/mamba_random.h"
#include "gtest/gtest.h"
#include "tests/testing/safetensors_file.h"

namespace llive::testing {

// Odd sizes everywhere, so that no code path can rely on powers of two.
inline backends::native::MambaConfig SmallMambaConfig() {
  backends::native::MambaConfig config;
  config.d_model = 24;
  config.n_layer = 3;
  config.d_state = 5;
  config.d_inner = 48;
  config.d_conv = 3;
  config.dt_rank = 3;
  config.vocab_size = 61;
  return config;
}

inline std::unique_ptr<backends::native::MambaBackend> SmallMambaBackend(uint64_t seed = 1) {
  auto config = SmallMambaConfig();
  backends::native::RandomMambaOptions options;
  options.seed = seed;
  auto model =
      backends::native::MambaModel::FromWeights(config, RandomMambaWeights(config, options));
  EXPECT_TRUE(model.ok()) << model.status();
  return backends::native::MambaBackend::FromModel(*std::move(model), nullptr, "mamba:test");
}

// The builder of a Hugging Face folder (config.json + model.safetensors) for `weights`, so
// that tests can break it before writing.
inline SafetensorsBuilder HuggingFaceTensors(const backends::native::MambaConfig& c,
                                             const backends::native::MambaWeights& w) {
  SafetensorsBuilder builder;
  builder.AddFloats("backbone.embeddings.weight", {c.vocab_size, c.d_model}, w.embedding);
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const auto& l = w.layers[i];
    const std::string p = absl::StrCat("backbone.layers.", i, ".");
    std::vector<float> a_log(l.a.size());
    for (size_t j = 0; j < a_log.size(); ++j) a_log[j] = std::log(-l.a[j]);
    builder.AddFloats(p + "norm.weight", {c.d_model}, l.norm)
        .AddFloats(p + "mixer.in_proj.weight", {2 * c.d_inner, c.d_model}, l.in_proj)
        .AddFloats(p + "mixer.conv1d.weight", {c.d_inner, 1, c.d_conv}, l.conv)
        .AddFloats(p + "mixer.conv1d.bias", {c.d_inner}, l.conv_bias)
        .AddFloats(p + "mixer.x_proj.weight", {c.dt_rank + 2 * c.d_state, c.d_inner}, l.x_proj)
        .AddFloats(p + "mixer.dt_proj.weight", {c.d_inner, c.dt_rank}, l.dt_proj)
        .AddFloats(p + "mixer.dt_proj.bias", {c.d_inner}, l.dt_proj_bias)
        .AddFloats(p + "mixer.A_log", {c.d_inner, c.d_state}, a_log)
        .AddFloats(p + "mixer.D", {c.d_inner}, l.d)
        .AddFloats(p + "mixer.out_proj.weight", {c.d_model, c.d_inner}, l.out_proj);
  }
  builder.AddFloats("backbone.norm_f.weight", {c.d_model}, w.norm_f);
  if (!w.lm_head.empty()) builder.AddFloats("lm_head.weight", {c.vocab_size, c.d_model}, w.lm_head);
  return builder;
}

inline nlohmann::json HuggingFaceConfig(const backends::native::MambaConfig& c, bool tied) {
  return {{"model_type", "mamba"},      {"architectures", {"MambaForCausalLM"}},
          {"hidden_size", c.d_model},   {"num_hidden_layers", c.n_layer},
          {"state_size", c.d_state},    {"expand", c.d_inner / c.d_model},
          {"conv_kernel", c.d_conv},    {"time_step_rank", c.dt_rank},
          {"vocab_size", c.vocab_size}, {"layer_norm_epsilon", c.norm_epsilon},
          {"use_bias", false},          {"use_conv_bias", true},
          {"tie_word_embeddings", tied}};
}

inline void WriteHuggingFaceFolder(const std::string& folder,
                                   const backends::native::MambaConfig& config,
                                   const backends::native::MambaWeights& weights) {
  std::ofstream(folder + "/config.json") << HuggingFaceConfig(config, weights.lm_head.empty());
  HuggingFaceTensors(config, weights).Write(folder + "/model.safetensors");
}

}  // namespace llive::testing
