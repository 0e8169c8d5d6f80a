// Element types of checkpoint tensors: names, storage sizes, and conversion to and from fp32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "backends/native/checkpoint.h"

namespace llive::backends::native {

// Q8_0 packs this many values per block: a little-endian fp16 scale, then 32 int8 values.
inline constexpr int64_t kQ8_0BlockValues = 32;
inline constexpr size_t kQ8_0BlockBytes = 2 + 32;

// The DType whose DTypeName is `name` ("F32", "BF16", "F8_E4M3", ...), or nullopt.
std::optional<DType> DTypeFromName(absl::string_view name);

// Bytes that `elements` values of `dtype` occupy, or nullopt when that overflows or (for
// Q8_0) `elements` is not a whole number of blocks.
std::optional<size_t> DTypeBytes(DType dtype, int64_t elements);

// IEEE half and bfloat16 to and from fp32. The narrowing conversions round to nearest even
// and keep NaN a NaN.
float HalfToFloat(uint16_t half);
uint16_t FloatToHalf(float value);
float BFloat16ToFloat(uint16_t bfloat);
uint16_t FloatToBFloat16(float value);

// `elements` values of `dtype` stored little-endian at `data` (DTypeBytes(dtype, elements)
// bytes), as fp32. Every DType converts; integers convert exactly where fp32 can hold them.
std::vector<float> ConvertToFloat32(DType dtype, const uint8_t* data, int64_t elements);

// `values` stored as `dtype` (F32, F16, BF16, F64 or Q8_0; Q8_0 needs a multiple of 32
// values). InvalidArgument naming the type for any other.
absl::StatusOr<std::vector<uint8_t>> ConvertFromFloat32(absl::Span<const float> values,
                                                        DType dtype);

}  // namespace llive::backends::native
