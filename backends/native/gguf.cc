// GGUF reading: a bounds-checked cursor over the mapped bytes; nothing is trusted until
// checked against the file's size.
#include "backends/native/gguf.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <unordered_set>

#include "absl/strings/str_cat.h"

namespace llive::backends::native {
namespace {

constexpr int kMaxArrayDepth = 8;

constexpr GgmlTypeTraits kGgmlTypes[] = {
    {0, "F32", 1, 4, DType::kF32},          {1, "F16", 1, 2, DType::kF16},
    {2, "Q4_0", 32, 18, std::nullopt},      {3, "Q4_1", 32, 20, std::nullopt},
    {6, "Q5_0", 32, 22, std::nullopt},      {7, "Q5_1", 32, 24, std::nullopt},
    {8, "Q8_0", 32, 34, DType::kQ8_0},      {9, "Q8_1", 32, 36, std::nullopt},
    {10, "Q2_K", 256, 84, std::nullopt},    {11, "Q3_K", 256, 110, std::nullopt},
    {12, "Q4_K", 256, 144, std::nullopt},   {13, "Q5_K", 256, 176, std::nullopt},
    {14, "Q6_K", 256, 210, std::nullopt},   {15, "Q8_K", 256, 292, std::nullopt},
    {16, "IQ2_XXS", 256, 66, std::nullopt}, {17, "IQ2_XS", 256, 74, std::nullopt},
    {18, "IQ3_XXS", 256, 98, std::nullopt}, {19, "IQ1_S", 256, 50, std::nullopt},
    {20, "IQ4_NL", 32, 18, std::nullopt},   {21, "IQ3_S", 256, 110, std::nullopt},
    {22, "IQ2_S", 256, 82, std::nullopt},   {23, "IQ4_XS", 256, 136, std::nullopt},
    {24, "I8", 1, 1, DType::kI8},           {25, "I16", 1, 2, DType::kI16},
    {26, "I32", 1, 4, DType::kI32},         {27, "I64", 1, 8, DType::kI64},
    {28, "F64", 1, 8, DType::kF64},         {29, "IQ1_M", 256, 56, std::nullopt},
    {30, "BF16", 1, 2, DType::kBF16},       {34, "TQ1_0", 256, 54, std::nullopt},
    {35, "TQ2_0", 256, 66, std::nullopt},   {39, "MXFP4", 32, 17, std::nullopt},
};

// Reads little-endian values from [data, data + size), failing instead of running past.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size, absl::string_view file_name)
      : data_(data), size_(size), file_name_(file_name) {}

  size_t position() const { return position_; }
  size_t remaining() const { return size_ - position_; }

  absl::Status Corrupt(absl::string_view problem) const {
    return absl::DataLossError(absl::StrCat(file_name_, ": not a valid GGUF file: ", problem,
                                            " (at byte ", position_,
                                            "); the file is damaged or truncated"));
  }

  template <typename T>
  absl::Status Read(T& out, absl::string_view what) {
    if (remaining() < sizeof(T)) {
      return Corrupt(absl::StrCat("the file ends inside ", what));
    }
    std::memcpy(&out, data_ + position_, sizeof(T));
    position_ += sizeof(T);
    return absl::OkStatus();
  }

  // Counts `count` more metadata values against kGgufMaxMetadataValues.
  absl::Status TakeValues(uint64_t count, absl::string_view key) {
    if (count > values_left_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          file_name_, ": metadata \"", key, "\" (at byte ", position_,
          ") takes the file's metadata past ", kGgufMaxMetadataValues,
          " values, the most llive expands (a tokenizer of 256k tokens needs about a million)"));
    }
    values_left_ -= count;
    return absl::OkStatus();
  }

  absl::Status ReadString(std::string& out, absl::string_view what) {
    uint64_t length = 0;
    if (absl::Status s = Read(length, what); !s.ok()) return s;
    if (length > remaining()) {
      return Corrupt(
          absl::StrCat(what, " claims ", length, " bytes but only ", remaining(), " remain"));
    }
    out.assign(reinterpret_cast<const char*>(data_ + position_), static_cast<size_t>(length));
    position_ += static_cast<size_t>(length);
    return absl::OkStatus();
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t position_ = 0;
  absl::string_view file_name_;
  uint64_t values_left_ = kGgufMaxMetadataValues;
};

// The fewest bytes one value of `type` occupies, to bound array counts by the file size.
size_t MinimumBytes(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
    case GgufType::kInt8:
    case GgufType::kBool:
      return 1;
    case GgufType::kUint16:
    case GgufType::kInt16:
      return 2;
    case GgufType::kUint32:
    case GgufType::kInt32:
    case GgufType::kFloat32:
      return 4;
    case GgufType::kString:
    case GgufType::kUint64:
    case GgufType::kInt64:
    case GgufType::kFloat64:
      return 8;
    case GgufType::kArray:
      return 12;
  }
  return 1;
}

bool KnownType(uint32_t type) { return type <= static_cast<uint32_t>(GgufType::kFloat64); }

absl::Status ReadValue(Cursor& cursor, GgufType type, const std::string& key, int depth,
                       GgufValue& out) {
  out.type = type;
  std::string what = absl::StrCat("the value of \"", key, "\"");
  switch (type) {
    case GgufType::kUint8: {
      uint8_t v = 0;
      if (absl::Status s = cursor.Read(v, what); !s.ok()) return s;
      out.unsigned_value = v;
      return absl::OkStatus();
    }
    case GgufType::kInt8: {
      int8_t v = 0;
      if (absl::Status s = cursor.Read(v, what); !s.ok()) return s;
      out.signed_value = v;
      return absl::OkStatus();
    }
    case GgufType::kUint16: {
      uint16_t v = 0;
      if (absl::Status s = cursor.Read(v, what); !s.ok()) return s;
      out.unsigned_value = v;
      return absl::OkStatus();
    }
    case GgufType::kInt16: {
      int16_t v = 0;
      if (absl::Status s = cursor.Read(v, what); !s.ok()) return s;
      out.signed_value = v;
      return absl::OkStatus();
    }
    case GgufType::kUint32: {
      uint32_t v = 0;
      if (absl::Status s = cursor.Read(v, what); !s.ok()) return s;
      out.unsigned_value = v;
      return absl::OkStatus();
    }
    case GgufType::kInt32: {
      int32_t v = 0;
      if (absl::Status s = cursor.Read(v, what); !s.ok()) return s;
      out.signed_value = v;
      return absl::OkStatus();
    }
    case GgufType::kUint64:
      return cursor.Read(out.unsigned_value, what);
    case GgufType::kInt64:
      return cursor.Read(out.signed_value, what);
    case GgufType::kFloat32:
    case GgufType::kFloat64: {
      if (type == GgufType::kFloat32) {
        float v = 0;
        if (absl::Status s = cursor.Read(v, what); !s.ok()) return s;
        out.float_value = v;
      } else if (absl::Status s = cursor.Read(out.float_value, what); !s.ok()) {
        return s;
      }
      if (!std::isfinite(out.float_value)) {
        return cursor.Corrupt(absl::StrCat("metadata \"", key, "\" holds a ",
                                           std::isnan(out.float_value) ? "NaN" : "infinite",
                                           " float"));
      }
      return absl::OkStatus();
    }
    case GgufType::kBool: {
      uint8_t v = 0;
      if (absl::Status s = cursor.Read(v, what); !s.ok()) return s;
      if (v > 1) {
        return cursor.Corrupt(absl::StrCat("metadata \"", key, "\" holds the bool value ", v));
      }
      out.bool_value = v == 1;
      return absl::OkStatus();
    }
    case GgufType::kString:
      return cursor.ReadString(out.string_value, what);
    case GgufType::kArray: {
      if (depth >= kMaxArrayDepth) {
        return cursor.Corrupt(absl::StrCat("metadata \"", key, "\" nests arrays more than ",
                                           kMaxArrayDepth, " deep"));
      }
      uint32_t element_type = 0;
      uint64_t count = 0;
      if (absl::Status s = cursor.Read(element_type, what); !s.ok()) return s;
      if (!KnownType(element_type)) {
        return cursor.Corrupt(
            absl::StrCat("metadata \"", key, "\" is an array of unknown type ", element_type));
      }
      if (absl::Status s = cursor.Read(count, what); !s.ok()) return s;
      out.element_type = static_cast<GgufType>(element_type);
      if (count > cursor.remaining() / MinimumBytes(out.element_type)) {
        return cursor.Corrupt(absl::StrCat("metadata \"", key, "\" claims ", count, " ",
                                           GgufTypeName(out.element_type),
                                           " items, more than the rest of the file can hold"));
      }
      if (absl::Status s = cursor.TakeValues(count, key); !s.ok()) return s;
      out.items.resize(static_cast<size_t>(count));
      for (GgufValue& item : out.items) {
        if (absl::Status s = ReadValue(cursor, out.element_type, key, depth + 1, item); !s.ok()) {
          return s;
        }
      }
      return absl::OkStatus();
    }
  }
  return cursor.Corrupt(absl::StrCat("metadata \"", key, "\" has an unknown type"));
}

}  // namespace

absl::string_view GgufTypeName(GgufType type) {
  switch (type) {
    case GgufType::kUint8:
      return "UINT8";
    case GgufType::kInt8:
      return "INT8";
    case GgufType::kUint16:
      return "UINT16";
    case GgufType::kInt16:
      return "INT16";
    case GgufType::kUint32:
      return "UINT32";
    case GgufType::kInt32:
      return "INT32";
    case GgufType::kFloat32:
      return "FLOAT32";
    case GgufType::kBool:
      return "BOOL";
    case GgufType::kString:
      return "STRING";
    case GgufType::kArray:
      return "ARRAY";
    case GgufType::kUint64:
      return "UINT64";
    case GgufType::kInt64:
      return "INT64";
    case GgufType::kFloat64:
      return "FLOAT64";
  }
  return "UNKNOWN";
}

GgufValue GgufValue::Uint8(uint8_t value) {
  GgufValue v;
  v.type = GgufType::kUint8;
  v.unsigned_value = value;
  return v;
}
GgufValue GgufValue::Int8(int8_t value) {
  GgufValue v;
  v.type = GgufType::kInt8;
  v.signed_value = value;
  return v;
}
GgufValue GgufValue::Uint16(uint16_t value) {
  GgufValue v;
  v.type = GgufType::kUint16;
  v.unsigned_value = value;
  return v;
}
GgufValue GgufValue::Int16(int16_t value) {
  GgufValue v;
  v.type = GgufType::kInt16;
  v.signed_value = value;
  return v;
}
GgufValue GgufValue::Uint32(uint32_t value) {
  GgufValue v;
  v.type = GgufType::kUint32;
  v.unsigned_value = value;
  return v;
}
GgufValue GgufValue::Int32(int32_t value) {
  GgufValue v;
  v.type = GgufType::kInt32;
  v.signed_value = value;
  return v;
}
GgufValue GgufValue::Uint64(uint64_t value) {
  GgufValue v;
  v.type = GgufType::kUint64;
  v.unsigned_value = value;
  return v;
}
GgufValue GgufValue::Int64(int64_t value) {
  GgufValue v;
  v.type = GgufType::kInt64;
  v.signed_value = value;
  return v;
}
GgufValue GgufValue::Float32(float value) {
  GgufValue v;
  v.type = GgufType::kFloat32;
  v.float_value = value;
  return v;
}
GgufValue GgufValue::Float64(double value) {
  GgufValue v;
  v.type = GgufType::kFloat64;
  v.float_value = value;
  return v;
}
GgufValue GgufValue::Bool(bool value) {
  GgufValue v;
  v.type = GgufType::kBool;
  v.bool_value = value;
  return v;
}
GgufValue GgufValue::String(std::string value) {
  GgufValue v;
  v.type = GgufType::kString;
  v.string_value = std::move(value);
  return v;
}
GgufValue GgufValue::Array(GgufType element_type, std::vector<GgufValue> items) {
  GgufValue v;
  v.type = GgufType::kArray;
  v.element_type = element_type;
  v.items = std::move(items);
  return v;
}
GgufValue GgufValue::StringArray(absl::Span<const std::string> values) {
  std::vector<GgufValue> items;
  items.reserve(values.size());
  for (const std::string& value : values) items.push_back(String(value));
  return Array(GgufType::kString, std::move(items));
}
GgufValue GgufValue::Int32Array(absl::Span<const int32_t> values) {
  std::vector<GgufValue> items;
  items.reserve(values.size());
  for (int32_t value : values) items.push_back(Int32(value));
  return Array(GgufType::kInt32, std::move(items));
}
GgufValue GgufValue::Float32Array(absl::Span<const float> values) {
  std::vector<GgufValue> items;
  items.reserve(values.size());
  for (float value : values) items.push_back(Float32(value));
  return Array(GgufType::kFloat32, std::move(items));
}

nlohmann::json GgufValue::ToJson() const {
  switch (type) {
    case GgufType::kUint8:
    case GgufType::kUint16:
    case GgufType::kUint32:
    case GgufType::kUint64:
      return unsigned_value;
    case GgufType::kInt8:
    case GgufType::kInt16:
    case GgufType::kInt32:
    case GgufType::kInt64:
      return signed_value;
    case GgufType::kFloat32:
    case GgufType::kFloat64:
      return float_value;
    case GgufType::kBool:
      return bool_value;
    case GgufType::kString:
      return string_value;
    case GgufType::kArray: {
      nlohmann::json array = nlohmann::json::array();
      for (const GgufValue& item : items) array.push_back(item.ToJson());
      return array;
    }
  }
  return nullptr;
}

std::optional<GgmlTypeTraits> GgmlType(uint32_t id) {
  for (const GgmlTypeTraits& traits : kGgmlTypes) {
    if (traits.id == id) return traits;
  }
  return std::nullopt;
}

std::optional<uint32_t> GgmlTypeOf(DType dtype) {
  for (const GgmlTypeTraits& traits : kGgmlTypes) {
    if (traits.dtype == dtype) return traits.id;
  }
  return std::nullopt;
}

const GgufValue* GgufContents::Find(absl::string_view key) const {
  for (const auto& [name, value] : metadata) {
    if (name == key) return &value;
  }
  return nullptr;
}

absl::StatusOr<GgufContents> ParseGguf(const uint8_t* file, size_t size,
                                       absl::string_view file_name) {
  Cursor cursor(file, size, file_name);
  GgufContents contents;
  uint32_t magic = 0;
  if (absl::Status s = cursor.Read(magic, "the magic number"); !s.ok()) return s;
  if (magic != kGgufMagic) {
    return absl::DataLossError(absl::StrCat(file_name,
                                            ": not a GGUF file (its first four bytes are not "
                                            "\"GGUF\")"));
  }
  if (absl::Status s = cursor.Read(contents.version, "the version"); !s.ok()) return s;
  if (contents.version != 2 && contents.version != 3) {
    return absl::InvalidArgumentError(absl::StrCat(file_name, ": GGUF version ", contents.version,
                                                   " is not supported; llive reads versions 2 "
                                                   "and 3"));
  }
  uint64_t tensor_count = 0, metadata_count = 0;
  if (absl::Status s = cursor.Read(tensor_count, "the tensor count"); !s.ok()) return s;
  if (absl::Status s = cursor.Read(metadata_count, "the metadata count"); !s.ok()) return s;
  // Each pair takes at least a key length, a type and a one-byte value; each tensor info a
  // name length, a dimension count, a type and an offset.
  if (metadata_count > cursor.remaining() / 13) {
    return cursor.Corrupt(
        absl::StrCat("the metadata count ", metadata_count, " is more than the file can hold"));
  }
  if (tensor_count > cursor.remaining() / 24) {
    return cursor.Corrupt(
        absl::StrCat("the tensor count ", tensor_count, " is more than the file can hold"));
  }
  std::unordered_set<std::string> keys;
  for (uint64_t i = 0; i < metadata_count; ++i) {
    std::string key;
    if (absl::Status s = cursor.ReadString(key, "a metadata key"); !s.ok()) return s;
    if (!keys.insert(key).second) {
      return cursor.Corrupt(absl::StrCat("metadata key \"", key, "\" appears twice"));
    }
    uint32_t type = 0;
    if (absl::Status s = cursor.Read(type, "a metadata type"); !s.ok()) return s;
    if (!KnownType(type)) {
      return cursor.Corrupt(absl::StrCat("metadata \"", key, "\" has unknown type ", type));
    }
    if (absl::Status s = cursor.TakeValues(1, key); !s.ok()) return s;
    GgufValue value;
    if (absl::Status s = ReadValue(cursor, static_cast<GgufType>(type), key, 0, value); !s.ok()) {
      return s;
    }
    contents.metadata.emplace_back(std::move(key), std::move(value));
  }
  if (const GgufValue* alignment = contents.Find("general.alignment")) {
    if (alignment->type != GgufType::kUint32 || alignment->unsigned_value == 0 ||
        (alignment->unsigned_value & (alignment->unsigned_value - 1)) != 0 ||
        alignment->unsigned_value > kGgufMaxAlignment) {
      return cursor.Corrupt(absl::StrCat("general.alignment is ",
                                         alignment->type == GgufType::kUint32
                                             ? absl::StrCat(alignment->unsigned_value)
                                             : absl::StrCat("a ", GgufTypeName(alignment->type)),
                                         ", not a UINT32 power of two up to ", kGgufMaxAlignment));
    }
    contents.alignment = static_cast<uint32_t>(alignment->unsigned_value);
  }

  std::unordered_set<std::string> names;
  for (uint64_t i = 0; i < tensor_count; ++i) {
    GgufTensorInfo info;
    if (absl::Status s = cursor.ReadString(info.name, "a tensor name"); !s.ok()) return s;
    if (!names.insert(info.name).second) {
      return cursor.Corrupt(absl::StrCat("tensor \"", info.name, "\" appears twice"));
    }
    uint32_t dim_count = 0;
    if (absl::Status s = cursor.Read(dim_count, "a dimension count"); !s.ok()) return s;
    if (dim_count > kGgufMaxDims) {
      return cursor.Corrupt(absl::StrCat("tensor \"", info.name, "\" has ", dim_count,
                                         " dimensions; GGUF allows at most ", kGgufMaxDims));
    }
    uint64_t elements = 1;
    for (uint32_t d = 0; d < dim_count; ++d) {
      uint64_t dim = 0;
      if (absl::Status s = cursor.Read(dim, "a dimension"); !s.ok()) return s;
      // Checked on its own as well: after a zero dimension the product stays 0, and llive
      // keeps shapes as int64_t.
      if (dim > static_cast<uint64_t>(INT64_MAX)) {
        return cursor.Corrupt(absl::StrCat("tensor \"", info.name, "\" has dimension ", d, " of ",
                                           dim, ", more than 2^63 - 1"));
      }
      if (__builtin_mul_overflow(elements, dim, &elements) ||
          elements > static_cast<uint64_t>(INT64_MAX)) {
        return cursor.Corrupt(
            absl::StrCat("tensor \"", info.name, "\" has more elements than fit in 64 bits"));
      }
      info.dims.push_back(dim);
    }
    if (absl::Status s = cursor.Read(info.ggml_type, "a tensor type"); !s.ok()) return s;
    if (absl::Status s = cursor.Read(info.offset, "a tensor offset"); !s.ok()) return s;
    std::optional<GgmlTypeTraits> traits = GgmlType(info.ggml_type);
    if (!traits.has_value()) {
      return cursor.Corrupt(
          absl::StrCat("tensor \"", info.name, "\" has unknown ggml type ", info.ggml_type));
    }
    uint64_t row = info.dims.empty() ? 1 : info.dims[0];
    if (row % traits->block_values != 0) {
      return cursor.Corrupt(absl::StrCat("tensor \"", info.name, "\" of type ", traits->name,
                                         " has rows of ", row, " values, not a multiple of its ",
                                         traits->block_values, "-value blocks"));
    }
    if (__builtin_mul_overflow(elements / traits->block_values, uint64_t{traits->block_bytes},
                               &info.bytes)) {
      return cursor.Corrupt(absl::StrCat("tensor \"", info.name, "\" is too large"));
    }
    if (info.offset % contents.alignment != 0) {
      return cursor.Corrupt(absl::StrCat("tensor \"", info.name, "\" starts at offset ",
                                         info.offset, ", not a multiple of the alignment ",
                                         contents.alignment));
    }
    contents.tensors.push_back(std::move(info));
  }
  uint64_t data_offset = cursor.position();
  data_offset = (data_offset + contents.alignment - 1) / contents.alignment * contents.alignment;
  contents.data_offset = data_offset;
  if (data_offset > size && !contents.tensors.empty()) {
    return cursor.Corrupt(absl::StrCat("the tensor data would start at byte ", data_offset,
                                       ", past the end of the file (", size, " bytes)"));
  }
  uint64_t data_bytes = data_offset <= size ? size - data_offset : 0;

  std::vector<size_t> order(contents.tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return contents.tensors[a].offset < contents.tensors[b].offset;
  });
  uint64_t covered_end = 0;
  const GgufTensorInfo* covering = nullptr;
  for (size_t index : order) {
    const GgufTensorInfo& info = contents.tensors[index];
    if (info.offset > data_bytes || info.bytes > data_bytes - info.offset) {
      return absl::DataLossError(absl::StrCat(
          file_name, ": not a valid GGUF file: tensor \"", info.name, "\" (bytes ", info.offset,
          " to ", info.offset + info.bytes, " of the data section) runs past the end of the file (",
          data_bytes, " data bytes); the file is truncated"));
    }
    if (covering != nullptr && info.offset < covered_end && info.bytes > 0) {
      return absl::DataLossError(absl::StrCat(file_name, ": not a valid GGUF file: tensors \"",
                                              covering->name, "\" and \"", info.name,
                                              "\" overlap"));
    }
    if (info.offset + info.bytes > covered_end) {
      covered_end = info.offset + info.bytes;
      covering = &info;
    }
  }
  return contents;
}

}  // namespace llive::backends::native
