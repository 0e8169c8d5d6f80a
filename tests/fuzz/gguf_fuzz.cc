// Fuzzes the GGUF parser: any bytes give metadata and tensors inside the file, or an error;
// a parsed file written again with GgufWriter parses to the same metadata.
#include <cstddef>
#include <cstdint>

#include "backends/native/dtype.h"
#include "backends/native/gguf.h"
#include "backends/native/gguf_writer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace native = llive::backends::native;
  absl::StatusOr<native::GgufContents> contents = native::ParseGguf(data, size, "fuzz.gguf");
  if (!contents.ok()) return 0;
  native::GgufWriter writer;
  for (const auto& [key, value] : contents->metadata) {
    (void)value.ToJson();
    writer.Set(key, value);
  }
  for (const native::GgufTensorInfo& tensor : contents->tensors) {
    if (contents->data_offset + tensor.offset + tensor.bytes > size) __builtin_trap();
    std::optional<native::GgmlTypeTraits> traits = native::GgmlType(tensor.ggml_type);
    if (!traits.has_value()) __builtin_trap();
    if (traits->dtype.has_value()) {
      int64_t elements =
          static_cast<int64_t>(tensor.bytes / traits->block_bytes * traits->block_values);
      (void)native::ConvertToFloat32(*traits->dtype, data + contents->data_offset + tensor.offset,
                                     elements);
    }
  }
  std::string again = writer.Serialize();
  absl::StatusOr<native::GgufContents> reparsed = native::ParseGguf(
      reinterpret_cast<const uint8_t*>(again.data()), again.size(), "fuzz-again.gguf");
  if (!reparsed.ok() || reparsed->metadata != contents->metadata) __builtin_trap();
  return 0;
}
