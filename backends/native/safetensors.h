// The safetensors format: an 8-byte little-endian header length, a JSON header naming each
// tensor's dtype, shape and byte range, then the tensor bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/native/checkpoint.h"

namespace llive::backends::native {

// Headers larger than this are refused as corrupt (the reference implementation's limit).
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

struct SafetensorsContents {
  // Every tensor, sorted by its position in the file; `data` points into the parsed bytes.
  std::vector<TensorRef> tensors;
  // The optional "__metadata__" string map.
  std::map<std::string, std::string> metadata;
};

// Parses and validates a whole safetensors file held in `file` (`size` bytes). Checks the
// header length against the file, the JSON, every dtype and shape, that each byte range
// lies inside the data and holds exactly shape x dtype bytes, and that no two ranges
// overlap. DataLoss naming `file_name`, the tensor and the problem for a corrupt file;
// InvalidArgument for a dtype llive does not know.
absl::StatusOr<SafetensorsContents> ParseSafetensors(const uint8_t* file, size_t size,
                                                     absl::string_view file_name);

}  // namespace llive::backends::native
