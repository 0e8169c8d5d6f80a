// Tokenizer loading by source: file kind by extension or first bytes, folders by the files
// model repositories ship.
#include "backends/native/tokenizer_factory.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backends/native/byte_level_bpe_tokenizer.h"
#include "backends/native/gguf.h"
#include "backends/native/mapped_file.h"
#include "backends/native/rwkv_world_tokenizer.h"

namespace llive::backends::native {
namespace {

namespace fs = std::filesystem;

// GGUF token types (llama.cpp's llama_token_type).
constexpr int64_t kTokenNormal = 1;
constexpr int64_t kTokenControl = 3;
constexpr int64_t kTokenUserDefined = 4;
constexpr int64_t kTokenUnused = 5;

// tokenizer.ggml.pre values whose pre-tokenizer is GPT-2's pattern.
constexpr absl::string_view kGpt2PatternPres[] = {"",     "default",  "gpt-2", "gpt2",
                                                  "olmo", "gpt-neox", "mpt",   "phi-2"};

absl::StatusOr<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return fs::exists(path) ? absl::UnavailableError(absl::StrCat("cannot read ", path))
                            : absl::NotFoundError(absl::StrCat("no tokenizer at ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> StringArray(const nlohmann::json& metadata, const char* key) {
  std::vector<std::string> out;
  auto it = metadata.find(key);
  if (it == metadata.end() || !it->is_array()) return out;
  out.reserve(it->size());
  for (const nlohmann::json& item : *it)
    out.push_back(item.is_string() ? item.get<std::string>() : "");
  return out;
}

int64_t IntField(const nlohmann::json& metadata, const char* key, int64_t otherwise) {
  auto it = metadata.find(key);
  return it != metadata.end() && it->is_number_integer() ? it->get<int64_t>() : otherwise;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Tokenizer>> TokenizerFromGgufMetadata(const nlohmann::json& metadata,
                                                                     absl::string_view source) {
  auto model_it = metadata.find("tokenizer.ggml.model");
  if (model_it == metadata.end() || !model_it->is_string()) {
    return absl::NotFoundError(absl::StrCat(source, " has no tokenizer.ggml.model"));
  }
  std::string model = model_it->get<std::string>();
  std::vector<std::string> tokens = StringArray(metadata, "tokenizer.ggml.tokens");
  if (tokens.empty()) {
    return absl::DataLossError(absl::StrCat(source, ": tokenizer.ggml.tokens is missing or empty"));
  }
  std::vector<int64_t> types(tokens.size(), kTokenNormal);
  if (auto it = metadata.find("tokenizer.ggml.token_type");
      it != metadata.end() && it->is_array()) {
    if (it->size() != tokens.size()) {
      return absl::DataLossError(absl::StrCat(source, ": tokenizer.ggml.token_type has ",
                                              it->size(), " entries for ", tokens.size(),
                                              " tokens"));
    }
    for (size_t i = 0; i < tokens.size(); ++i) {
      types[i] = (*it)[i].is_number_integer() ? (*it)[i].get<int64_t>() : kTokenNormal;
    }
  }
  if (model == "gpt2") {
    ByteLevelBpeSpec spec;
    std::string pre;
    if (auto it = metadata.find("tokenizer.ggml.pre"); it != metadata.end() && it->is_string()) {
      pre = it->get<std::string>();
    }
    if (std::find(std::begin(kGpt2PatternPres), std::end(kGpt2PatternPres), pre) ==
        std::end(kGpt2PatternPres)) {
      return absl::InvalidArgumentError(absl::StrCat(
          source, ": tokenizer.ggml.pre \"", pre,
          "\" is a pre-tokenizer llive does not know; llive reads GPT-2-style ones (gpt-2, olmo, "
          "gpt-neox, ...)"));
    }
    for (size_t id = 0; id < tokens.size(); ++id) {
      spec.vocab.emplace_back(tokens[id], static_cast<int32_t>(id));
      if (types[id] == kTokenControl || types[id] == kTokenUserDefined) {
        spec.added_tokens.push_back({static_cast<int32_t>(id), DecodeByteLevel(tokens[id]),
                                     types[id] == kTokenControl, false});
      }
    }
    for (const std::string& merge : StringArray(metadata, "tokenizer.ggml.merges")) {
      size_t space = merge.find(' ', 1);
      if (space == std::string::npos) {
        return absl::DataLossError(absl::StrCat(source, ": tokenizer.ggml.merges entry \"", merge,
                                                "\" is not two tokens"));
      }
      spec.merges.emplace_back(merge.substr(0, space), merge.substr(space + 1));
    }
    spec.bos_id = static_cast<int32_t>(IntField(metadata, "tokenizer.ggml.bos_token_id", -1));
    spec.eos_id = static_cast<int32_t>(IntField(metadata, "tokenizer.ggml.eos_token_id", -1));
    absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>> tokenizer =
        ByteLevelBpeTokenizer::Create(std::move(spec), source);
    if (!tokenizer.ok()) return tokenizer.status();
    return std::unique_ptr<Tokenizer>(*std::move(tokenizer));
  }
  if (model == "rwkv") {
    std::vector<std::string> bytes(tokens.size());
    for (size_t id = 1; id < tokens.size(); ++id) {
      if (types[id] == kTokenControl || types[id] == kTokenUnused) continue;
      absl::StatusOr<std::string> unescaped = UnescapeRwkvGgufToken(tokens[id]);
      if (!unescaped.ok()) {
        return absl::DataLossError(
            absl::StrCat(source, ": token ", id, ": ", unescaped.status().message()));
      }
      bytes[id] = *std::move(unescaped);
    }
    absl::StatusOr<std::unique_ptr<RwkvWorldTokenizer>> tokenizer =
        RwkvWorldTokenizer::FromTokens(std::move(bytes), source);
    if (!tokenizer.ok()) return tokenizer.status();
    return std::unique_ptr<Tokenizer>(*std::move(tokenizer));
  }
  return absl::InvalidArgumentError(absl::StrCat(
      source, ": tokenizer.ggml.model \"", model,
      "\" is not supported; llive reads \"gpt2\" (byte-level BPE) and \"rwkv\" (RWKV World)"));
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFromFolder(const std::string& folder) {
  fs::path json = fs::path(folder) / "tokenizer.json";
  if (fs::exists(json)) return LoadTokenizer(json.string());
  std::vector<std::string> vocabularies;
  std::error_code error;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder, error)) {
    std::string name = entry.path().filename().string();
    if (absl::StartsWith(name, "rwkv_vocab") && absl::EndsWith(name, ".txt")) {
      vocabularies.push_back(entry.path().string());
    }
  }
  if (vocabularies.empty()) {
    return absl::NotFoundError(absl::StrCat(folder,
                                            " has no tokenizer.json and no "
                                            "rwkv_vocab*.txt"));
  }
  std::sort(vocabularies.begin(), vocabularies.end());
  return LoadTokenizer(vocabularies.front());
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path) {
  std::error_code error;
  if (fs::is_directory(path, error)) return LoadTokenizerFromFolder(path);
  if (!fs::exists(path, error)) return absl::NotFoundError(absl::StrCat("no tokenizer at ", path));
  char magic[4] = {};
  std::ifstream(path, std::ios::binary).read(magic, sizeof(magic));
  if (absl::EndsWith(path, ".gguf") || absl::string_view(magic, 4) == "GGUF") {
    absl::StatusOr<std::unique_ptr<MappedFile>> file = MappedFile::Open(path);
    if (!file.ok()) return file.status();
    absl::StatusOr<GgufContents> contents = ParseGguf((*file)->data(), (*file)->size(), path);
    if (!contents.ok()) return contents.status();
    nlohmann::json metadata = nlohmann::json::object();
    for (const auto& [key, value] : contents->metadata) {
      if (absl::StartsWith(key, "tokenizer.")) metadata[key] = value.ToJson();
    }
    return TokenizerFromGgufMetadata(metadata, path);
  }
  absl::StatusOr<std::string> text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  if (absl::EndsWith(path, ".json") || (!text->empty() && (*text)[0] == '{')) {
    absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>> tokenizer =
        ByteLevelBpeTokenizer::FromTokenizerJson(*text, path);
    if (!tokenizer.ok()) return tokenizer.status();
    return std::unique_ptr<Tokenizer>(*std::move(tokenizer));
  }
  absl::StatusOr<std::unique_ptr<RwkvWorldTokenizer>> tokenizer =
      RwkvWorldTokenizer::FromVocabularyText(*text, path);
  if (!tokenizer.ok()) return tokenizer.status();
  return std::unique_ptr<Tokenizer>(*std::move(tokenizer));
}

}  // namespace llive::backends::native
