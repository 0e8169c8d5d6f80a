// Reading RWKV-7 weights from a checkpoint: the Hugging Face layout of the RWKV-7 `-HF` models
// (flash-linear-attention naming: model.layers.N.attn.r_proj.weight, ...) or a GGUF file of
// llama.cpp's `rwkv7` architecture (blk.N.time_mix_receptance.weight, ...).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "backends/native/checkpoint.h"
#include "backends/native/rwkv7_model.h"

namespace llive::backends::native {

// Converts every tensor to fp32 and checks it. The model's sizes come from config.json (HF) or
// the rwkv7.* metadata (GGUF); the low-rank widths from the tensors themselves. Errors name
// the tensor or the key and what was expected: NotFound for a missing tensor, InvalidArgument
// for a checkpoint of another architecture, a missing or bad size, or a tensor of the wrong
// shape, DataLoss for a NaN or infinite weight.
absl::StatusOr<Rwkv7Weights> LoadRwkv7Weights(const Checkpoint& checkpoint);

// The SHA-256 (hex) of the model's shape and every weight; serialised states carry it so a
// state is only restored into the model that made it.
std::string Rwkv7Fingerprint(const Rwkv7Weights& weights);

}  // namespace llive::backends::native
