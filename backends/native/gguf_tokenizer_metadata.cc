// tokenizer.json / RWKV World vocabulary to tokenizer.ggml.* metadata.
#include "backends/native/gguf_tokenizer_metadata.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "backends/native/byte_level_bpe_tokenizer.h"
#include "backends/native/rwkv_world_tokenizer.h"
#include "backends/native/tokenizer_factory.h"
#include "nlohmann/json.hpp"

namespace llive::backends::native {
namespace {

namespace fs = std::filesystem;

// llama.cpp's token types.
constexpr int32_t kNormal = 1;
constexpr int32_t kControl = 3;
constexpr int32_t kUserDefined = 4;
constexpr int32_t kUnused = 5;

absl::Status PadTo(int64_t rows, std::vector<std::string>& tokens, std::vector<int32_t>& types) {
  if (rows == 0) return absl::OkStatus();
  if (rows < static_cast<int64_t>(tokens.size())) {
    return absl::InvalidArgumentError(absl::StrCat("the model has ", rows,
                                                   " embedding rows but the vocabulary has ",
                                                   tokens.size(), " tokens"));
  }
  while (static_cast<int64_t>(tokens.size()) < rows) {
    tokens.push_back(absl::StrCat("[PAD", tokens.size(), "]"));
    types.push_back(kUnused);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status AddTokenizerToGguf(const std::string& folder, const GgufTokenizerOptions& options,
                                GgufWriter& writer) {
  fs::path json_path = fs::path(folder) / "tokenizer.json";
  // Loading validates the vocabulary and gives the special ids.
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = LoadTokenizerFromFolder(folder);
  if (!tokenizer.ok()) return tokenizer.status();
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  if (!fs::exists(json_path)) {
    // RWKV World: id 0 is the end-of-text control token.
    tokens.push_back("<s>");
    types.push_back(kControl);
    for (int32_t id = 1; id < (*tokenizer)->vocab_size(); ++id) {
      tokens.push_back(EscapeRwkvGgufToken((*tokenizer)->TokenBytes(id)));
      types.push_back(kNormal);
    }
    if (absl::Status s = PadTo(options.vocab_rows, tokens, types); !s.ok()) return s;
    writer.Set("tokenizer.ggml.model", GgufValue::String("rwkv"));
    writer.Set("tokenizer.ggml.tokens", GgufValue::StringArray(tokens));
    writer.Set("tokenizer.ggml.token_type", GgufValue::Int32Array(types));
    return absl::OkStatus();
  }
  std::ifstream in(json_path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  // Already parsed once by the loader, so this parse succeeds and has these fields.
  nlohmann::json json = nlohmann::json::parse(text.str());
  const nlohmann::json& model = json["model"];
  tokens.assign(static_cast<size_t>((*tokenizer)->vocab_size()), "");
  types.assign(tokens.size(), kUnused);
  for (const auto& [token, id] : model["vocab"].items()) {
    tokens[id.get<size_t>()] = token;
    types[id.get<size_t>()] = kNormal;
  }
  if (json.contains("added_tokens") && json["added_tokens"].is_array()) {
    for (const nlohmann::json& added : json["added_tokens"]) {
      size_t id = added["id"].get<size_t>();
      tokens[id] = added["content"].get<std::string>();
      types[id] =
          added.contains("special") && added["special"].is_boolean() && added["special"].get<bool>()
              ? kControl
              : kUserDefined;
    }
  }
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (tokens[id].empty()) tokens[id] = absl::StrCat("[PAD", id, "]");
  }
  if (absl::Status s = PadTo(options.vocab_rows, tokens, types); !s.ok()) return s;
  std::vector<std::string> merges;
  merges.reserve(model["merges"].size());
  for (const nlohmann::json& merge : model["merges"]) {
    merges.push_back(merge.is_string() ? merge.get<std::string>()
                                       : absl::StrCat(merge[0].get<std::string>(), " ",
                                                      merge[1].get<std::string>()));
  }
  int32_t eos = (*tokenizer)->eos_id();
  int32_t bos = (*tokenizer)->bos_id() >= 0 ? (*tokenizer)->bos_id() : eos;
  writer.Set("tokenizer.ggml.model", GgufValue::String("gpt2"));
  writer.Set("tokenizer.ggml.pre", GgufValue::String(options.pre));
  writer.Set("tokenizer.ggml.tokens", GgufValue::StringArray(tokens));
  writer.Set("tokenizer.ggml.token_type", GgufValue::Int32Array(types));
  writer.Set("tokenizer.ggml.merges", GgufValue::StringArray(merges));
  if (bos >= 0) writer.Set("tokenizer.ggml.bos_token_id", GgufValue::Uint32(bos));
  if (eos >= 0) writer.Set("tokenizer.ggml.eos_token_id", GgufValue::Uint32(eos));
  return absl::OkStatus();
}

}  // namespace llive::backends::native
