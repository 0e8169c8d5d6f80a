// GgufCheckpoint: a parsed, memory-mapped GGUF file with its tensors in row-major order.
#include "backends/native/gguf_checkpoint.h"

#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/native/dtype.h"
#include "backends/native/gguf.h"
#include "backends/native/mapped_file.h"
#include "backends/native/tokenizer_factory.h"

namespace llive::backends::native {
namespace {

class GgufCheckpoint : public Checkpoint {
 public:
  GgufCheckpoint(std::string path, std::unique_ptr<MappedFile> file, nlohmann::json config,
                 std::vector<TensorRef> tensors)
      : path_(std::move(path)),
        file_(std::move(file)),
        config_(std::move(config)),
        tensors_(std::move(tensors)) {
    for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
  }

  Format format() const override { return Format::kGguf; }
  const std::string& path() const override { return path_; }
  const nlohmann::json& config() const override { return config_; }

  const TensorRef* Find(absl::string_view name) const override {
    auto it = index_.find(std::string(name));
    return it == index_.end() ? nullptr : &tensors_[it->second];
  }

  std::vector<const TensorRef*> Tensors() const override {
    std::vector<const TensorRef*> out;
    out.reserve(tensors_.size());
    for (const TensorRef& tensor : tensors_) out.push_back(&tensor);
    return out;
  }

  absl::StatusOr<std::vector<float>> ReadFloat32(const TensorRef& tensor) const override {
    return ConvertToFloat32(tensor.dtype, tensor.data, tensor.elements());
  }

  absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer() const override {
    return TokenizerFromGgufMetadata(config_, path_);
  }

 private:
  std::string path_;
  std::unique_ptr<MappedFile> file_;
  nlohmann::json config_;
  std::vector<TensorRef> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Checkpoint>> OpenGgufCheckpoint(const std::string& path) {
  absl::StatusOr<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
  if (!file.ok()) return file.status();
  absl::StatusOr<GgufContents> contents = ParseGguf((*file)->data(), (*file)->size(), path);
  if (!contents.ok()) return contents.status();

  std::vector<TensorRef> tensors;
  std::vector<std::string> refused;
  for (const GgufTensorInfo& info : contents->tensors) {
    GgmlTypeTraits traits = *GgmlType(info.ggml_type);  // ParseGguf checked it
    if (!traits.dtype.has_value()) {
      refused.push_back(absl::StrCat(info.name, " (", traits.name, ")"));
      continue;
    }
    TensorRef tensor;
    tensor.name = info.name;
    tensor.dtype = *traits.dtype;
    tensor.shape.assign(info.dims.rbegin(), info.dims.rend());
    tensor.data = (*file)->data() + contents->data_offset + info.offset;
    tensor.bytes = static_cast<size_t>(info.bytes);
    tensors.push_back(std::move(tensor));
  }
  if (!refused.empty()) {
    if (refused.size() > 3) {
      refused.resize(3);
      refused.push_back("...");
    }
    return absl::InvalidArgumentError(absl::StrCat(
        path,
        ": llive cannot load tensors of these quantization types: ", absl::StrJoin(refused, ", "),
        "; llive loads F32, F16, BF16, F64, Q8_0 and integer tensors, so convert or "
        "re-quantize the model to one of those (e.g. Q8_0)"));
  }
  nlohmann::json config = nlohmann::json::object();
  for (const auto& [key, value] : contents->metadata) config[key] = value.ToJson();
  return std::unique_ptr<Checkpoint>(
      new GgufCheckpoint(path, *std::move(file), std::move(config), std::move(tensors)));
}

}  // namespace llive::backends::native
