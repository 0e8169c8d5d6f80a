// tokenizer.json to llama.cpp's "gpt2" vocabulary metadata.
#include "backends/native/gguf_bpe_vocabulary.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace llive::backends::native {
namespace {

// llama.cpp's llama_token_type values.
constexpr int32_t kTokenNormal = 1;
constexpr int32_t kTokenUnused = 5;
constexpr int32_t kTokenControl = 3;
constexpr int32_t kTokenUserDefined = 4;

}  // namespace

absl::StatusOr<GgufBpeVocabulary> ReadGgufBpeVocabulary(const std::string& path, int64_t rows) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read tokenizer ", path));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::DataLossError(absl::StrCat(path, " is not valid JSON"));
  }
  const nlohmann::json& model = json["model"];
  if (!model.is_object() || !model.contains("type") || model["type"] != "BPE" ||
      !model.contains("vocab") || !model["vocab"].is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a byte-level BPE tokenizer (model.type \"BPE\" with a vocab)"));
  }
  GgufBpeVocabulary out;
  std::vector<bool> filled(rows, false);
  out.tokens.resize(rows);
  out.types.assign(rows, kTokenNormal);
  auto place = [&](const std::string& token, int64_t id, int32_t type) -> absl::Status {
    if (id < 0 || id >= rows) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " has token id ", id, " but the model has only ", rows, " embedding rows"));
    }
    out.tokens[id] = token;
    out.types[id] = type;
    filled[id] = true;
    return absl::OkStatus();
  };
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer()) return absl::DataLossError(absl::StrCat(path, ": bad vocab id"));
    if (absl::Status s = place(token, id.get<int64_t>(), kTokenNormal); !s.ok()) return s;
  }
  if (json.contains("added_tokens") && json["added_tokens"].is_array()) {
    for (const nlohmann::json& added : json["added_tokens"]) {
      if (!added.is_object() || !added["id"].is_number_integer() || !added["content"].is_string()) {
        return absl::DataLossError(absl::StrCat(path, ": bad added_tokens entry"));
      }
      const bool special = added.contains("special") && added["special"].is_boolean() &&
                           added["special"].get<bool>();
      const std::string content = added["content"].get<std::string>();
      if (absl::Status s = place(content, added["id"].get<int64_t>(),
                                 special ? kTokenControl : kTokenUserDefined);
          !s.ok()) {
        return s;
      }
      if (special && content == "<|endoftext|>") {
        out.bos_id = out.eos_id = static_cast<int32_t>(added["id"].get<int64_t>());
      }
    }
  }
  for (int64_t id = 0; id < rows; ++id) {
    if (!filled[id]) {
      out.tokens[id] = absl::StrCat("[PAD", id, "]");
      out.types[id] = kTokenUnused;
    }
  }
  if (model.contains("merges") && model["merges"].is_array()) {
    for (const nlohmann::json& merge : model["merges"]) {
      if (merge.is_string()) {
        out.merges.push_back(merge.get<std::string>());
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
                 merge[1].is_string()) {
        out.merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
      } else {
        return absl::DataLossError(absl::StrCat(path, ": bad merges entry ", merge.dump()));
      }
    }
  }
  return out;
}

void SetGgufBpeVocabulary(const GgufBpeVocabulary& vocabulary, GgufWriter& writer) {
  writer.Set("tokenizer.ggml.model", GgufValue::String("gpt2"));
  writer.Set("tokenizer.ggml.pre", GgufValue::String("gpt-2"));
  writer.Set("tokenizer.ggml.tokens", GgufValue::StringArray(vocabulary.tokens));
  writer.Set("tokenizer.ggml.token_type", GgufValue::Int32Array(vocabulary.types));
  writer.Set("tokenizer.ggml.merges", GgufValue::StringArray(vocabulary.merges));
  if (vocabulary.bos_id >= 0) {
    writer.Set("tokenizer.ggml.bos_token_id",
               GgufValue::Uint32(static_cast<uint32_t>(vocabulary.bos_id)));
    writer.Set("tokenizer.ggml.eos_token_id",
               GgufValue::Uint32(static_cast<uint32_t>(vocabulary.eos_id)));
  }
}

}  // namespace llive::backends::native
