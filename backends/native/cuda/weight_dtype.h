// The element type of model weights on the GPU: bf16 (the default), fp16 or fp32. Host-only and
// CUDA-free so that configuration code of a CPU-only build can parse and print it.
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llive::backends::cuda {

enum class WeightDtype { kBf16, kFp16, kFp32 };

// Parses "bf16", "fp16" or "fp32" (also "bfloat16", "float16", "half", "float32", "float").
// InvalidArgument naming the text and the accepted spellings otherwise.
absl::StatusOr<WeightDtype> ParseWeightDtype(absl::string_view text);

// "bf16", "fp16" or "fp32".
std::string WeightDtypeName(WeightDtype dtype);

// Bytes per element: 2, 2 or 4.
size_t WeightDtypeBytes(WeightDtype dtype);

}  // namespace llive::backends::cuda
