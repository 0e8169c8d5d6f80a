// HuggingFaceCheckpoint: config.json plus safetensors shards, each memory-mapped.
#include "backends/native/hugging_face_checkpoint.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <unordered_map>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backends/native/dtype.h"
#include "backends/native/mapped_file.h"
#include "backends/native/safetensors.h"
#include "backends/native/tokenizer_factory.h"

namespace llive::backends::native {
namespace {

namespace fs = std::filesystem;

absl::StatusOr<nlohmann::json> ReadJsonFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path.string()));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::DataLossError(absl::StrCat(path.string(), " is not a JSON object"));
  }
  return json;
}

class HuggingFaceCheckpoint : public Checkpoint {
 public:
  HuggingFaceCheckpoint(std::string path, fs::path folder, nlohmann::json config)
      : path_(std::move(path)), folder_(std::move(folder)), config_(std::move(config)) {}

  // Maps `file` and adds its tensors. `wanted`, when given, lists the tensors the index
  // assigns to this file; each must be there.
  absl::Status AddFile(const fs::path& file, const std::vector<std::string>* wanted) {
    absl::StatusOr<std::unique_ptr<MappedFile>> mapped = MappedFile::Open(file.string());
    if (!mapped.ok()) return mapped.status();
    absl::StatusOr<SafetensorsContents> contents =
        ParseSafetensors((*mapped)->data(), (*mapped)->size(), file.string());
    if (!contents.ok()) return contents.status();
    for (TensorRef& tensor : contents->tensors) {
      if (index_.count(tensor.name) != 0) {
        return absl::DataLossError(absl::StrCat("tensor \"", tensor.name, "\" is in ",
                                                file.string(), " and in another shard"));
      }
      index_[tensor.name] = tensors_.size();
      tensors_.push_back(std::make_unique<TensorRef>(std::move(tensor)));
    }
    if (wanted != nullptr) {
      for (const std::string& name : *wanted) {
        if (index_.count(name) == 0) {
          return absl::DataLossError(absl::StrCat("the index places tensor \"", name, "\" in ",
                                                  file.string(), ", which does not hold it"));
        }
      }
    }
    files_.push_back(*std::move(mapped));
    return absl::OkStatus();
  }

  Format format() const override { return Format::kHuggingFace; }
  const std::string& path() const override { return path_; }
  const nlohmann::json& config() const override { return config_; }

  const TensorRef* Find(absl::string_view name) const override {
    auto it = index_.find(std::string(name));
    return it == index_.end() ? nullptr : tensors_[it->second].get();
  }

  std::vector<const TensorRef*> Tensors() const override {
    std::vector<const TensorRef*> out;
    out.reserve(tensors_.size());
    for (const auto& tensor : tensors_) out.push_back(tensor.get());
    return out;
  }

  absl::StatusOr<std::vector<float>> ReadFloat32(const TensorRef& tensor) const override {
    return ConvertToFloat32(tensor.dtype, tensor.data, tensor.elements());
  }

  absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer() const override {
    return LoadTokenizerFromFolder(folder_.string());
  }

 private:
  std::string path_;
  fs::path folder_;
  nlohmann::json config_;
  std::vector<std::unique_ptr<MappedFile>> files_;
  std::vector<std::unique_ptr<TensorRef>> tensors_;
  std::unordered_map<std::string, size_t> index_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Checkpoint>> OpenHuggingFaceCheckpoint(const std::string& path) {
  fs::path given(path);
  bool single_file = !fs::is_directory(given);
  fs::path folder = single_file ? given.parent_path() : given;
  if (folder.empty()) folder = ".";
  fs::path config_path = folder / "config.json";
  nlohmann::json config = nlohmann::json::object();
  if (fs::exists(config_path)) {
    absl::StatusOr<nlohmann::json> parsed = ReadJsonFile(config_path);
    if (!parsed.ok()) return parsed.status();
    config = *std::move(parsed);
  } else if (!single_file) {
    return absl::NotFoundError(absl::StrCat(path,
                                            " has no config.json; a Hugging Face model "
                                            "folder needs config.json and *.safetensors"));
  }
  auto checkpoint = std::make_unique<HuggingFaceCheckpoint>(path, folder, std::move(config));
  if (single_file) {
    if (absl::Status s = checkpoint->AddFile(given, nullptr); !s.ok()) return s;
    return checkpoint;
  }
  fs::path index_path = folder / "model.safetensors.index.json";
  if (fs::exists(index_path)) {
    absl::StatusOr<nlohmann::json> index = ReadJsonFile(index_path);
    if (!index.ok()) return index.status();
    auto map = index->find("weight_map");
    if (map == index->end() || !map->is_object()) {
      return absl::DataLossError(absl::StrCat(index_path.string(),
                                              " has no \"weight_map\" "
                                              "object"));
    }
    std::map<std::string, std::vector<std::string>> shards;
    for (const auto& [tensor, file] : map->items()) {
      if (!file.is_string() || file.get<std::string>().find('/') != std::string::npos) {
        return absl::DataLossError(absl::StrCat(index_path.string(), ": tensor \"", tensor,
                                                "\" maps to something not a file name"));
      }
      shards[file.get<std::string>()].push_back(tensor);
    }
    for (const auto& [file, names] : shards) {
      if (absl::Status s = checkpoint->AddFile(folder / file, &names); !s.ok()) return s;
    }
    return checkpoint;
  }
  fs::path single = folder / "model.safetensors";
  if (!fs::exists(single)) {
    return absl::NotFoundError(
        absl::StrCat(path,
                     " has neither model.safetensors nor model.safetensors.index.json; convert "
                     "PyTorch .bin weights to safetensors first"));
  }
  if (absl::Status s = checkpoint->AddFile(single, nullptr); !s.ok()) return s;
  return checkpoint;
}

}  // namespace llive::backends::native
