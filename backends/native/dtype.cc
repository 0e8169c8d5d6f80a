// Element types: the safetensors/GGUF names, sizes, and the fp32 conversions every loader uses.
#include "backends/native/dtype.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"

namespace llive::backends::native {
namespace {

struct DTypeInfo {
  DType dtype;
  absl::string_view name;
  size_t element_bytes;  // for Q8_0, the bytes of one block
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kF32, "F32", 4},        {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2},      {DType::kF64, "F64", 8},
    {DType::kI8, "I8", 1},          {DType::kU8, "U8", 1},
    {DType::kI16, "I16", 2},        {DType::kI32, "I32", 4},
    {DType::kI64, "I64", 8},        {DType::kQ8_0, "Q8_0", kQ8_0BlockBytes},
    {DType::kBool, "BOOL", 1},      {DType::kU16, "U16", 2},
    {DType::kU32, "U32", 4},        {DType::kU64, "U64", 8},
    {DType::kF8E4M3, "F8_E4M3", 1}, {DType::kF8E5M2, "F8_E5M2", 1},
};

const DTypeInfo& Info(DType dtype) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.dtype == dtype) return info;
  }
  return kDTypes[0];  // unreachable: every enumerator is in the table
}

template <typename T>
T Load(const uint8_t* data, int64_t index) {
  T value;
  std::memcpy(&value, data + index * sizeof(T), sizeof(T));
  return value;
}

// FP8 E4M3 ("fn": no infinities, 0x7f/0xff are NaN, exponent bias 7).
float F8E4M3ToFloat(uint8_t byte) {
  float sign = (byte & 0x80) ? -1.0f : 1.0f;
  int exponent = (byte >> 3) & 0xf;
  int mantissa = byte & 0x7;
  if (exponent == 0xf && mantissa == 0x7) return std::numeric_limits<float>::quiet_NaN();
  if (exponent == 0) return sign * std::ldexp(static_cast<float>(mantissa), -9);
  return sign * std::ldexp(1.0f + mantissa / 8.0f, exponent - 7);
}

}  // namespace

absl::string_view DTypeName(DType dtype) { return Info(dtype).name; }

std::optional<DType> DTypeFromName(absl::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.name == name) return info.dtype;
  }
  return std::nullopt;
}

std::optional<size_t> DTypeBytes(DType dtype, int64_t elements) {
  if (elements < 0) return std::nullopt;
  uint64_t units = static_cast<uint64_t>(elements);
  if (dtype == DType::kQ8_0) {
    if (units % kQ8_0BlockValues != 0) return std::nullopt;
    units /= kQ8_0BlockValues;
  }
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(units, Info(dtype).element_bytes, &bytes)) return std::nullopt;
  if (bytes > std::numeric_limits<size_t>::max()) return std::nullopt;
  return static_cast<size_t>(bytes);
}

int64_t TensorRef::elements() const {
  int64_t count = 1;
  for (int64_t dim : shape) count *= dim;
  return count;
}

float HalfToFloat(uint16_t half) {
  uint32_t sign = static_cast<uint32_t>(half & 0x8000) << 16;
  uint32_t exponent = (half >> 10) & 0x1f;
  uint32_t mantissa = half & 0x3ff;
  if (exponent == 0) {
    // Zero or subnormal: value = mantissa * 2^-24, exact in fp32.
    float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  uint32_t bits = exponent == 0x1f ? (sign | 0x7f800000u | (mantissa << 13))
                                   : (sign | ((exponent + 112) << 23) | (mantissa << 13));
  return std::bit_cast<float>(bits);
}

uint16_t FloatToHalf(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return sign | 0x7e00;   // NaN stays NaN
  if (magnitude >= 0x477ff000u) return sign | 0x7c00;  // rounds past 65504: infinity
  if (magnitude < 0x38800000u) {
    // Below the smallest normal half: a subnormal, rounded to nearest even on 2^-24 steps.
    float scaled = std::bit_cast<float>(magnitude) * 16777216.0f;  // * 2^24
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  uint32_t rounded = magnitude + 0xfff + ((magnitude >> 13) & 1);
  return sign | static_cast<uint16_t>((rounded - 0x38000000u) >> 13);
}

float BFloat16ToFloat(uint16_t bfloat) {
  return std::bit_cast<float>(static_cast<uint32_t>(bfloat) << 16);
}

uint16_t FloatToBFloat16(float value) {
  uint32_t bits = std::bit_cast<uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  bits += 0x7fff + ((bits >> 16) & 1);
  return static_cast<uint16_t>(bits >> 16);
}

std::vector<float> ConvertToFloat32(DType dtype, const uint8_t* data, int64_t elements) {
  std::vector<float> out(static_cast<size_t>(elements));
  switch (dtype) {
    case DType::kF32:
      if (elements > 0) std::memcpy(out.data(), data, out.size() * sizeof(float));
      break;
    case DType::kF16:
      for (int64_t i = 0; i < elements; ++i) out[i] = HalfToFloat(Load<uint16_t>(data, i));
      break;
    case DType::kBF16:
      for (int64_t i = 0; i < elements; ++i) out[i] = BFloat16ToFloat(Load<uint16_t>(data, i));
      break;
    case DType::kF64:
      for (int64_t i = 0; i < elements; ++i) out[i] = static_cast<float>(Load<double>(data, i));
      break;
    case DType::kI8:
      for (int64_t i = 0; i < elements; ++i) out[i] = Load<int8_t>(data, i);
      break;
    case DType::kU8:
    case DType::kBool:
      for (int64_t i = 0; i < elements; ++i) out[i] = data[i];
      break;
    case DType::kI16:
      for (int64_t i = 0; i < elements; ++i) out[i] = Load<int16_t>(data, i);
      break;
    case DType::kU16:
      for (int64_t i = 0; i < elements; ++i) out[i] = Load<uint16_t>(data, i);
      break;
    case DType::kI32:
      for (int64_t i = 0; i < elements; ++i) out[i] = static_cast<float>(Load<int32_t>(data, i));
      break;
    case DType::kU32:
      for (int64_t i = 0; i < elements; ++i) out[i] = static_cast<float>(Load<uint32_t>(data, i));
      break;
    case DType::kI64:
      for (int64_t i = 0; i < elements; ++i) out[i] = static_cast<float>(Load<int64_t>(data, i));
      break;
    case DType::kU64:
      for (int64_t i = 0; i < elements; ++i) out[i] = static_cast<float>(Load<uint64_t>(data, i));
      break;
    case DType::kF8E4M3:
      for (int64_t i = 0; i < elements; ++i) out[i] = F8E4M3ToFloat(data[i]);
      break;
    case DType::kF8E5M2:
      // E5M2 is the top byte of an IEEE half.
      for (int64_t i = 0; i < elements; ++i) out[i] = HalfToFloat(uint16_t{data[i]} << 8);
      break;
    case DType::kQ8_0:
      for (int64_t block = 0; block < elements / kQ8_0BlockValues; ++block) {
        const uint8_t* base = data + block * kQ8_0BlockBytes;
        float scale = HalfToFloat(Load<uint16_t>(base, 0));
        for (int64_t j = 0; j < kQ8_0BlockValues; ++j) {
          out[block * kQ8_0BlockValues + j] = scale * static_cast<int8_t>(base[2 + j]);
        }
      }
      break;
  }
  return out;
}

absl::StatusOr<std::vector<uint8_t>> ConvertFromFloat32(absl::Span<const float> values,
                                                        DType dtype) {
  std::vector<uint8_t> out;
  auto append = [&out](const auto& value) {
    const auto* bytes = reinterpret_cast<const uint8_t*>(&value);
    out.insert(out.end(), bytes, bytes + sizeof(value));
  };
  switch (dtype) {
    case DType::kF32:
      out.resize(values.size() * sizeof(float));
      if (!values.empty()) std::memcpy(out.data(), values.data(), out.size());
      return out;
    case DType::kF16:
      out.reserve(values.size() * 2);
      for (float v : values) append(FloatToHalf(v));
      return out;
    case DType::kBF16:
      out.reserve(values.size() * 2);
      for (float v : values) append(FloatToBFloat16(v));
      return out;
    case DType::kF64:
      out.reserve(values.size() * 8);
      for (float v : values) append(static_cast<double>(v));
      return out;
    case DType::kQ8_0: {
      if (values.size() % kQ8_0BlockValues != 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "Q8_0 needs a multiple of 32 values per tensor row; got ", values.size(), " values"));
      }
      out.reserve(values.size() / kQ8_0BlockValues * kQ8_0BlockBytes);
      for (size_t block = 0; block < values.size(); block += kQ8_0BlockValues) {
        float max_abs = 0;
        for (size_t j = 0; j < kQ8_0BlockValues; ++j) {
          max_abs = std::max(max_abs, std::fabs(values[block + j]));
        }
        // The scale is stored as fp16; quantize against the stored value so that
        // dequantizing gives back the nearest representable numbers.
        uint16_t scale_half = FloatToHalf(max_abs / 127.0f);
        float scale = HalfToFloat(scale_half);
        append(scale_half);
        for (size_t j = 0; j < kQ8_0BlockValues; ++j) {
          float q = scale == 0 ? 0.0f : std::nearbyint(values[block + j] / scale);
          if (std::isnan(q)) q = 0;  // a NaN weight has no int8 value; store zero
          append(static_cast<int8_t>(std::clamp(q, -127.0f, 127.0f)));
        }
      }
      return out;
    }
    default:
      return absl::InvalidArgumentError(absl::StrCat("cannot store fp32 values as ",
                                                     DTypeName(dtype),
                                                     "; choose F32, F16, BF16, F64 or Q8_0"));
  }
}

}  // namespace llive::backends::native
