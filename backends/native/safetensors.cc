// Safetensors parsing: every field of the header is checked before a byte of data is used.
#include "backends/native/safetensors.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/native/dtype.h"
#include "nlohmann/json.hpp"

namespace llive::backends::native {
namespace {

absl::Status Corrupt(absl::string_view file_name, absl::string_view problem) {
  return absl::DataLossError(
      absl::StrCat(file_name, ": not a valid safetensors file: ", problem,
                   "; the file is damaged or truncated, download or convert it again"));
}

// Reads a non-negative JSON integer.
bool ReadCount(const nlohmann::json& value, uint64_t& out) {
  if (value.is_number_unsigned()) {
    out = value.get<uint64_t>();
    return true;
  }
  if (value.is_number_integer() && value.get<int64_t>() >= 0) {
    out = static_cast<uint64_t>(value.get<int64_t>());
    return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<SafetensorsContents> ParseSafetensors(const uint8_t* file, size_t size,
                                                     absl::string_view file_name) {
  if (size < 8) {
    return Corrupt(file_name, absl::StrCat("it is ", size,
                                           " bytes, shorter than the 8-byte "
                                           "header length"));
  }
  uint64_t header_bytes = 0;
  std::memcpy(&header_bytes, file, 8);
  if (header_bytes > size - 8) {
    return Corrupt(file_name, absl::StrCat("the header length ", header_bytes,
                                           " runs past the end of the file (", size, " bytes)"));
  }
  if (header_bytes > kMaxSafetensorsHeaderBytes) {
    return Corrupt(file_name, absl::StrCat("the header length ", header_bytes, " exceeds the ",
                                           kMaxSafetensorsHeaderBytes, "-byte limit"));
  }
  const char* header_begin = reinterpret_cast<const char*>(file + 8);
  nlohmann::json header =
      nlohmann::json::parse(header_begin, header_begin + header_bytes, nullptr, false);
  if (header.is_discarded() || !header.is_object()) {
    return Corrupt(file_name, "the header is not a JSON object");
  }
  const uint8_t* data = file + 8 + header_bytes;
  uint64_t data_bytes = size - 8 - header_bytes;

  SafetensorsContents contents;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto item = header.begin(); item != header.end(); ++item) {
    const std::string& name = item.key();
    const nlohmann::json& entry = item.value();
    if (name == "__metadata__") {
      if (!entry.is_object()) return Corrupt(file_name, "__metadata__ is not a JSON object");
      for (const auto& [key, value] : entry.items()) {
        if (!value.is_string()) {
          return Corrupt(file_name,
                         absl::StrCat("__metadata__ value \"", key, "\" is not a string"));
        }
        contents.metadata[key] = value.get<std::string>();
      }
      continue;
    }
    auto problem = [&](absl::string_view what) {
      return Corrupt(file_name, absl::StrCat("tensor \"", name, "\": ", what));
    };
    if (!entry.is_object()) return problem("its entry is not a JSON object");
    auto dtype_it = entry.find("dtype");
    auto shape_it = entry.find("shape");
    auto offsets_it = entry.find("data_offsets");
    if (dtype_it == entry.end() || !dtype_it->is_string()) return problem("no \"dtype\" string");
    if (shape_it == entry.end() || !shape_it->is_array()) return problem("no \"shape\" array");
    if (offsets_it == entry.end() || !offsets_it->is_array() || offsets_it->size() != 2) {
      return problem("\"data_offsets\" is not a [begin, end] pair");
    }
    TensorRef tensor;
    tensor.name = name;
    std::string dtype_name = dtype_it->get<std::string>();
    std::optional<DType> dtype = DTypeFromName(dtype_name);
    if (!dtype.has_value() || *dtype == DType::kQ8_0) {
      return absl::InvalidArgumentError(absl::StrCat(
          file_name, ": tensor \"", name, "\" has dtype \"", dtype_name,
          "\", which llive does not read; supported: F64 F32 F16 BF16 F8_E4M3 F8_E5M2 I64 I32 "
          "I16 I8 U64 U32 U16 U8 BOOL"));
    }
    tensor.dtype = *dtype;
    uint64_t elements = 1;
    for (const nlohmann::json& dim : *shape_it) {
      uint64_t extent = 0;
      if (!ReadCount(dim, extent)) return problem("a shape entry is not a non-negative integer");
      // Checked on its own as well: after a 0 the product stays 0, and shapes are int64_t.
      if (extent > static_cast<uint64_t>(INT64_MAX)) {
        return problem(absl::StrCat("shape entry ", tensor.shape.size(), " is ", extent,
                                    ", more than 2^63 - 1"));
      }
      if (__builtin_mul_overflow(elements, extent, &elements) ||
          elements > static_cast<uint64_t>(INT64_MAX)) {
        return problem("its shape has more elements than fit in 64 bits");
      }
      tensor.shape.push_back(static_cast<int64_t>(extent));
    }
    uint64_t begin = 0, end = 0;
    if (!ReadCount((*offsets_it)[0], begin) || !ReadCount((*offsets_it)[1], end) || begin > end) {
      return problem("\"data_offsets\" are not integers with begin <= end");
    }
    if (end > data_bytes) {
      return problem(absl::StrCat("its bytes [", begin, ", ", end,
                                  ") run past the end of the data (", data_bytes, " bytes)"));
    }
    std::optional<size_t> expected = DTypeBytes(tensor.dtype, static_cast<int64_t>(elements));
    if (!expected.has_value() || *expected != end - begin) {
      return problem(absl::StrCat("shape [", absl::StrJoin(tensor.shape, ", "), "] of ", dtype_name,
                                  " needs ",
                                  expected.has_value() ? absl::StrCat(*expected) : "too many",
                                  " bytes but its data_offsets hold ", end - begin));
    }
    tensor.data = data + begin;
    tensor.bytes = static_cast<size_t>(end - begin);
    contents.tensors.push_back(std::move(tensor));
    ranges.emplace_back(begin, end);
  }
  // Sort tensors by their offsets and refuse any two byte ranges that share a byte.
  std::vector<size_t> order(contents.tensors.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ranges[a] < ranges[b]; });
  std::vector<TensorRef> sorted;
  sorted.reserve(order.size());
  uint64_t covered_end = 0;  // the furthest byte any earlier tensor reaches
  size_t covering = 0;       // the tensor that reaches it
  for (size_t k = 0; k < order.size(); ++k) {
    const auto& [begin, end] = ranges[order[k]];
    if (begin < covered_end && begin < end) {
      return Corrupt(file_name, absl::StrCat("tensors \"", contents.tensors[covering].name,
                                             "\" and \"", contents.tensors[order[k]].name,
                                             "\" overlap (byte ", begin, " belongs to both)"));
    }
    if (end > covered_end) {
      covered_end = end;
      covering = order[k];
    }
  }
  for (size_t index : order) sorted.push_back(std::move(contents.tensors[index]));
  contents.tensors = std::move(sorted);
  return contents;
}

}  // namespace llive::backends::native
