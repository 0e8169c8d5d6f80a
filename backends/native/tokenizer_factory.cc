// Tokenizer loading by source (the concrete tokenizers land in the next change).
#include "backends/native/tokenizer_factory.h"

#include "absl/strings/str_cat.h"

namespace llive::backends::native {

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path) {
  return absl::UnimplementedError(absl::StrCat("cannot load a tokenizer from ", path, " yet"));
}

absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFromFolder(const std::string& folder) {
  return absl::UnimplementedError(absl::StrCat("cannot load a tokenizer from ", folder, " yet"));
}

absl::StatusOr<std::unique_ptr<Tokenizer>> TokenizerFromGgufMetadata(const nlohmann::json& metadata,
                                                                     absl::string_view source) {
  return absl::UnimplementedError(absl::StrCat("cannot load a tokenizer from ", source, " yet"));
}

}  // namespace llive::backends::native
