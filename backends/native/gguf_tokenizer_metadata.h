// A Hugging Face folder's tokenizer as GGUF tokenizer.ggml.* metadata, the keys llama.cpp
// reads, for the `llive model convert` converters.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "backends/native/gguf_writer.h"

namespace llive::backends::native {

struct GgufTokenizerOptions {
  // The model's embedding rows; the token list is padded to this many with unused "[PADn]"
  // tokens, since llama.cpp wants one token per row. 0 (the default) pads nothing.
  int64_t vocab_rows = 0;
  // tokenizer.ggml.pre for byte-level BPE: "gpt-2" (the default; GPT-2's pattern) or
  // "olmo" (the same pattern, llama.cpp's name for GPT-NeoX-style vocabularies).
  std::string pre = "gpt-2";
};

// Reads `folder`'s tokenizer.json (byte-level BPE: writes model "gpt2", tokens in the
// byte-level alphabet, token_type, merges, bos/eos ids) or rwkv_vocab*.txt (writes model
// "rwkv": "<s>" then each token escaped as llama.cpp expects) into `writer`. NotFound when
// the folder has neither; the tokenizer loaders' errors for broken files; InvalidArgument
// when vocab_rows is smaller than the vocabulary.
absl::Status AddTokenizerToGguf(const std::string& folder, const GgufTokenizerOptions& options,
                                GgufWriter& writer);

}  // namespace llive::backends::native
