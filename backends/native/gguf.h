// The GGUF format (version 3, as llama.cpp writes it): typed metadata key-value pairs,
// tensor infos, then the aligned tensor data. Reading here; writing in gguf_writer.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "backends/native/checkpoint.h"
#include "nlohmann/json.hpp"

namespace llive::backends::native {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" little-endian
inline constexpr uint32_t kGgufVersion = 3;
inline constexpr uint32_t kGgufDefaultAlignment = 32;
// The largest general.alignment llive reads: files use 32, and 16 MiB leaves room for huge
// pages. Without a bound a 33-byte file declaring 2^31 made GgufWriter pad 2 GiB.
inline constexpr uint32_t kGgufMaxAlignment = 1u << 24;
inline constexpr uint32_t kGgufMaxDims = 4;  // llama.cpp's GGML_MAX_DIMS

// Metadata value types, numbered as in the file.
enum class GgufType : uint32_t {
  kUint8 = 0,
  kInt8 = 1,
  kUint16 = 2,
  kInt16 = 3,
  kUint32 = 4,
  kInt32 = 5,
  kFloat32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kUint64 = 10,
  kInt64 = 11,
  kFloat64 = 12,
};

// "UINT8", "STRING", "ARRAY", ...
absl::string_view GgufTypeName(GgufType type);

// One metadata value. `type` says which field holds it: unsigned integers in
// `unsigned_value`, signed in `signed_value`, both float widths in `float_value`, and so on.
struct GgufValue {
  GgufType type = GgufType::kUint32;
  uint64_t unsigned_value = 0;
  int64_t signed_value = 0;
  double float_value = 0;
  bool bool_value = false;
  std::string string_value;                  // bytes, not necessarily UTF-8
  GgufType element_type = GgufType::kUint8;  // arrays only
  std::vector<GgufValue> items;              // arrays only

  static GgufValue Uint8(uint8_t value);
  static GgufValue Int8(int8_t value);
  static GgufValue Uint16(uint16_t value);
  static GgufValue Int16(int16_t value);
  static GgufValue Uint32(uint32_t value);
  static GgufValue Int32(int32_t value);
  static GgufValue Uint64(uint64_t value);
  static GgufValue Int64(int64_t value);
  static GgufValue Float32(float value);
  static GgufValue Float64(double value);
  static GgufValue Bool(bool value);
  static GgufValue String(std::string value);
  // An array whose items all have `element_type` (the caller keeps them consistent).
  static GgufValue Array(GgufType element_type, std::vector<GgufValue> items);
  static GgufValue StringArray(absl::Span<const std::string> values);
  static GgufValue Int32Array(absl::Span<const int32_t> values);
  static GgufValue Float32Array(absl::Span<const float> values);

  // Numbers, booleans and strings as JSON scalars, arrays as JSON arrays. Strings keep
  // their bytes; dump such JSON with nlohmann::json::error_handler_t::replace.
  nlohmann::json ToJson() const;
  bool operator==(const GgufValue& other) const = default;
};

// Tensor element types, numbered as ggml numbers them.
struct GgmlTypeTraits {
  uint32_t id;
  absl::string_view name;      // "F32", "Q4_K", ...
  uint32_t block_values;       // values per block (1 for plain types)
  uint32_t block_bytes;        // bytes per block
  std::optional<DType> dtype;  // set for the types llive loads
};

// The traits of ggml type `id`, or nullopt for a number llive does not know.
std::optional<GgmlTypeTraits> GgmlType(uint32_t id);
// The ggml type number of `dtype`, or nullopt when GGUF has no such type (U8, BOOL, ...).
std::optional<uint32_t> GgmlTypeOf(DType dtype);

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // GGUF order: innermost (contiguous) dimension first
  uint32_t ggml_type = 0;
  uint64_t offset = 0;  // from the start of the data section
  uint64_t bytes = 0;
};

struct GgufContents {
  uint32_t version = kGgufVersion;
  uint32_t alignment = kGgufDefaultAlignment;
  std::vector<std::pair<std::string, GgufValue>> metadata;  // in file order
  std::vector<GgufTensorInfo> tensors;                      // in file order
  uint64_t data_offset = 0;  // where the data section starts in the file

  // The metadata value under `key`, or nullptr.
  const GgufValue* Find(absl::string_view key) const;
};

// The most metadata values ParseGguf expands into GgufValues, array items included (each
// takes about 100 bytes of memory, however few bytes it has in the file): a tokenizer of
// 256k tokens with scores, types and merges needs about a million.
inline constexpr uint64_t kGgufMaxMetadataValues = uint64_t{1} << 24;

// Parses and validates a whole GGUF file (`size` bytes at `file`): magic, version 2 or 3,
// every metadata value (strings and arrays bounded by the file, NaN and infinite floats
// refused, arrays nested at most 8 deep, at most kGgufMaxMetadataValues values in all),
// general.alignment, every tensor info (known ggml type, at most 4 dimensions, whole blocks,
// aligned and inside the file, no overlap, unique names). DataLoss naming `file_name` and the
// problem for a corrupt file; ResourceExhausted for more metadata values than the limit.
// Tensors of types llive cannot load are returned (their names say what they are);
// Checkpoint::Open refuses them.
absl::StatusOr<GgufContents> ParseGguf(const uint8_t* file, size_t size,
                                       absl::string_view file_name);

}  // namespace llive::backends::native
