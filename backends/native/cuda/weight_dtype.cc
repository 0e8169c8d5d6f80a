// Names and sizes of the GPU weight types.
#include "backends/native/cuda/weight_dtype.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace llive::backends::cuda {

absl::StatusOr<WeightDtype> ParseWeightDtype(absl::string_view text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "bf16" || lower == "bfloat16") return WeightDtype::kBf16;
  if (lower == "fp16" || lower == "float16" || lower == "half") return WeightDtype::kFp16;
  if (lower == "fp32" || lower == "float32" || lower == "float") return WeightDtype::kFp32;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown weight type \"", text, "\": use bf16, fp16 or fp32"));
}

std::string WeightDtypeName(WeightDtype dtype) {
  switch (dtype) {
    case WeightDtype::kBf16:
      return "bf16";
    case WeightDtype::kFp16:
      return "fp16";
    case WeightDtype::kFp32:
      return "fp32";
  }
  return "unknown";
}

size_t WeightDtypeBytes(WeightDtype dtype) { return dtype == WeightDtype::kFp32 ? 4 : 2; }

}  // namespace llive::backends::cuda
