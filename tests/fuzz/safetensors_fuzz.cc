// Fuzzes the safetensors parser: any bytes give tensors that lie inside the file or an error.
#include <cstddef>
#include <cstdint>

#include "backends/native/dtype.h"
#include "backends/native/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace native = llive::backends::native;
  absl::StatusOr<native::SafetensorsContents> contents =
      native::ParseSafetensors(data, size, "fuzz.safetensors");
  if (!contents.ok()) return 0;
  for (const native::TensorRef& tensor : contents->tensors) {
    if (tensor.data < data || tensor.data + tensor.bytes > data + size) __builtin_trap();
    // Reading every value touches every byte the header claims.
    std::vector<float> values =
        native::ConvertToFloat32(tensor.dtype, tensor.data, tensor.elements());
    if (static_cast<int64_t>(values.size()) != tensor.elements()) __builtin_trap();
  }
  return 0;
}
