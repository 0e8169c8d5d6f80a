// Tokenizers named by where they come from: a tokenizer.json, an RWKV World vocabulary
// file, a GGUF file's tokenizer.ggml.* metadata, or a model folder holding one of these.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/native/tokenizer.h"
#include "nlohmann/json.hpp"

namespace llive::backends::native {

// Loads the tokenizer at `path`: a Hugging Face tokenizer.json (any *.json), an RWKV World
// vocabulary (*.txt, lines "ID REPR LEN"), a .gguf file, or a folder (see
// LoadTokenizerFromFolder). NotFound for a missing path; DataLoss naming the file, line or
// field for a corrupt one; InvalidArgument for a valid file of a kind llive does not
// support (naming the kind).
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::string& path);

// The tokenizer of a model folder: tokenizer.json, else an rwkv_vocab*.txt file. NotFound
// when the folder has neither.
absl::StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFromFolder(const std::string& folder);

// The tokenizer described by GGUF metadata (a flat object of key-value pairs as
// Checkpoint::config gives it): tokenizer.ggml.model "gpt2" (byte-level BPE: tokens,
// merges, token_type, bos/eos ids) or "rwkv" (RWKV World tokens). NotFound when there are
// no tokenizer.ggml.* keys; `source` names the file in errors.
absl::StatusOr<std::unique_ptr<Tokenizer>> TokenizerFromGgufMetadata(const nlohmann::json& metadata,
                                                                     absl::string_view source);

}  // namespace llive::backends::native
