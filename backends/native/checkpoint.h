// Checkpoint: the tensors, configuration and vocabulary of a model on disk, read from a
// Hugging Face folder (config.json + *.safetensors) or a GGUF file.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/native/tokenizer.h"
#include "nlohmann/json.hpp"

namespace llive::backends::native {

// Element types. Q8_0 is GGUF's block format (32 int8 values sharing one fp16 scale); the
// rest are plain element types. U16/U32/U64, BOOL and the two FP8 types occur only in
// safetensors files.
enum class DType {
  kF32,
  kF16,
  kBF16,
  kF64,
  kI8,
  kU8,
  kI16,
  kI32,
  kI64,
  kQ8_0,
  kBool,
  kU16,
  kU32,
  kU64,
  kF8E4M3,
  kF8E5M2,
};

// "F32", "F16", "BF16", ... as safetensors and GGUF spell them. See backends/native/dtype.h
// for sizes and conversions.
absl::string_view DTypeName(DType dtype);

// One tensor of a checkpoint. `shape` is row-major (outermost first, as PyTorch and
// safetensors write it); a GGUF tensor's dimensions are reversed into this order.
// `data` points into the memory-mapped file and lives as long as the Checkpoint.
struct TensorRef {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const uint8_t* data = nullptr;
  size_t bytes = 0;

  int64_t elements() const;
};

// A model on disk, opened read-only and memory-mapped. Immutable once opened, so safe to
// share across threads.
class Checkpoint {
 public:
  enum class Format { kHuggingFace, kGguf };

  // Opens a Hugging Face folder (config.json + model.safetensors or a sharded
  // *.safetensors.index.json) or a .gguf file. NotFound for a missing path, DataLoss for a
  // corrupt or truncated file (naming the file and the problem), InvalidArgument for a
  // valid file of an unsupported kind (naming it, e.g. a quantization type).
  static absl::StatusOr<std::unique_ptr<Checkpoint>> Open(const std::string& path);

  virtual ~Checkpoint() = default;

  virtual Format format() const = 0;
  virtual const std::string& path() const = 0;

  // For a Hugging Face folder, config.json. For GGUF, every metadata key-value pair as a
  // flat object ("general.architecture": "mamba", "mamba.block_count": 24, ...), arrays as
  // JSON arrays (tokenizer arrays included).
  virtual const nlohmann::json& config() const = 0;

  // The tensor named `name` (the file's own naming), or nullptr.
  virtual const TensorRef* Find(absl::string_view name) const = 0;
  virtual std::vector<const TensorRef*> Tensors() const = 0;

  // The tensor's values converted to fp32 (F32, F16, BF16, F64, Q8_0 and integer types).
  // InvalidArgument naming the tensor for a type that cannot be converted.
  virtual absl::StatusOr<std::vector<float>> ReadFloat32(const TensorRef& tensor) const = 0;

  // The checkpoint's own tokenizer: tokenizer.json in a Hugging Face folder (or an RWKV
  // vocabulary file beside it), tokenizer.ggml.* in a GGUF. NotFound when it has none.
  virtual absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer() const = 0;
};

}  // namespace llive::backends::native
