// Checkpoint for a GGUF file.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backends/native/checkpoint.h"

namespace llive::backends::native {

// Opens the GGUF file at `path`. Besides ParseGguf's checks, refuses (InvalidArgument)
// tensors of ggml types llive cannot convert, naming each type: llive loads F32, F16, BF16,
// F64, Q8_0, I8, I16, I32 and I64, and refuses Q4_0, Q4_1, Q5_0, Q5_1, Q8_1, the K-quants
// (Q2_K ... Q8_K), the IQ types, TQ1_0, TQ2_0 and MXFP4.
absl::StatusOr<std::unique_ptr<Checkpoint>> OpenGgufCheckpoint(const std::string& path);

}  // namespace llive::backends::native
