// Checkpoint for a Hugging Face folder: config.json and one or more safetensors files.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backends/native/checkpoint.h"

namespace llive::backends::native {

// Opens `path`: a folder with config.json and model.safetensors, or with a sharded
// model.safetensors.index.json; or one .safetensors file (config.json beside it is read
// when present). Errors as Checkpoint::Open.
absl::StatusOr<std::unique_ptr<Checkpoint>> OpenHuggingFaceCheckpoint(const std::string& path);

}  // namespace llive::backends::native
