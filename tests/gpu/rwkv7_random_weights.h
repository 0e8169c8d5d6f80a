// Random RWKV-7 weights of a given shape, at the scales of scripts/reference/rwkv7_reference.py
// (unit-variance embedding, 1/sqrt(fan-in) matrices, norms near 1), for the GPU checks and
// benchmarks: no model file is needed and the activations stay in a realistic range.
#pragma once

#include <cstdint>

#include "backends/native/rwkv7_model.h"

namespace llive::gpu_check {

// The RWKV-7 0.1B (World) shape: hidden 768, 12 layers, head size 64, vocab 65536, ffn 3072,
// low-rank widths decay 64, in-context rate 64, value 32, gate 128.
backends::native::Rwkv7Config Rwkv7Shape01B();

// Deterministic in `seed`. `config` must be valid (positive sizes, d_model a multiple of
// head_size).
backends::native::Rwkv7Weights RandomRwkv7Weights(const backends::native::Rwkv7Config& config,
                                                  uint64_t seed);

// Every weight rounded to bf16 (nearest even) and back, so that the CPU path computes with the
// same weights as a bf16 GPU model and a comparison measures only the arithmetic.
void RoundRwkv7WeightsToBf16(backends::native::Rwkv7Weights& weights);

}  // namespace llive::gpu_check
