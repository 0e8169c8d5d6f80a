// Writes GGUF version 3 files: metadata and tensors gathered in memory, then written in one
// pass, the layout llama.cpp's loader expects.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "backends/native/checkpoint.h"
#include "backends/native/gguf.h"

namespace llive::backends::native {

// Not thread-safe; one writer per output file.
//
//   GgufWriter writer;
//   writer.Set("general.architecture", GgufValue::String("mamba"));
//   writer.Set("mamba.block_count", GgufValue::Uint32(24));
//   RETURN_IF_ERROR(writer.AddFloat32Tensor("token_embd.weight", {50280, 768}, values,
//                                           DType::kF32));
//   RETURN_IF_ERROR(writer.WriteFile("model.gguf"));
class GgufWriter {
 public:
  // `alignment` (a power of two) pads the data section and each tensor; anything but the
  // default 32 is recorded as general.alignment.
  explicit GgufWriter(uint32_t alignment = kGgufDefaultAlignment);

  // Sets `key` to `value`, replacing an earlier value of the same key (which keeps its
  // place). Keys are written in the order first set.
  void Set(absl::string_view key, GgufValue value);

  // Adds a tensor whose bytes are already in `dtype` (F32, F16, BF16, F64, Q8_0, I8, I16,
  // I32, I64). `shape` is row-major, outermost first (as in TensorRef); it is written
  // reversed, innermost first, as GGUF wants. InvalidArgument for a duplicate name, a type
  // GGUF lacks, more than 4 dimensions, a Q8_0 row that is not a multiple of 32, or a byte
  // count that does not match the shape.
  absl::Status AddTensor(absl::string_view name, DType dtype, std::vector<int64_t> shape,
                         std::vector<uint8_t> bytes);
  // The same, without copying: `bytes` must stay valid until WriteFile/Serialize return
  // (e.g. a TensorRef of an open Checkpoint).
  absl::Status AddTensorView(absl::string_view name, DType dtype, std::vector<int64_t> shape,
                             absl::Span<const uint8_t> bytes);
  // fp32 values stored as `store_as` (F32, F16, BF16 or Q8_0).
  absl::Status AddFloat32Tensor(absl::string_view name, std::vector<int64_t> shape,
                                absl::Span<const float> values, DType store_as);

  size_t tensor_count() const { return tensors_.size(); }

  // Writes the file through a temporary beside `path`, renamed into place when complete.
  // Unavailable naming the path on an I/O error.
  absl::Status WriteFile(const std::string& path) const;
  // The whole file as bytes (for tests and small files).
  std::string Serialize() const;

 private:
  struct Tensor {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> owned;
    absl::Span<const uint8_t> bytes;
  };

  absl::Status Check(absl::string_view name, DType dtype, const std::vector<int64_t>& shape,
                     size_t bytes) const;
  template <typename Sink>
  void Emit(Sink& sink) const;

  uint32_t alignment_;
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  std::vector<Tensor> tensors_;
};

}  // namespace llive::backends::native
