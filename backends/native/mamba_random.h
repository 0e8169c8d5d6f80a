// Random Mamba-1 weights of any shape, for tests and benchmarks that need a model of a real
// size without downloading one.
#pragma once

#include <cstdint>

#include "backends/native/mamba_model.h"

namespace llive::backends::native {

struct RandomMambaOptions {
  uint64_t seed = 1;
  // Multiplies the LM head (or the tied embedding's output use): larger values spread the
  // logits, which makes greedy decoding decisive (large top-2 margins).
  float logit_scale = 1.0f;
  bool tie_embeddings = true;
};

// Weights drawn so that activations stay of order one through any depth: projections
// N(0, 1/fan_in), A = -(1..d_state) with noise as in the paper's S4D-real initialisation,
// dt biases giving dt in [0.001, 0.1], D near 1. Deterministic for a seed.
MambaWeights RandomMambaWeights(const MambaConfig& config, const RandomMambaOptions& options);

}  // namespace llive::backends::native
