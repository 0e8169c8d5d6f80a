// A Hugging Face byte-level BPE tokenizer.json as llama.cpp's "gpt2" GGUF vocabulary (tokens,
// token types, merges, end-of-text id), shared by the model exporters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backends/native/gguf_writer.h"

namespace llive::backends::native {

// One entry per embedding row: the tokenizer's tokens (added ones typed control or
// user-defined), rows past its last id as "[PADn]" (unused), as llama.cpp's converter writes.
struct GgufBpeVocabulary {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<std::string> merges;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
};

// Reads `path` for a model of `rows` embedding rows. NotFound for an unreadable file; DataLoss
// for broken JSON or entries; InvalidArgument for a tokenizer that is not byte-level BPE or has
// an id past the rows.
absl::StatusOr<GgufBpeVocabulary> ReadGgufBpeVocabulary(const std::string& path, int64_t rows);

// Sets tokenizer.ggml.model "gpt2" (pre-tokenizer "gpt-2"), tokens, types, merges and, when the
// vocabulary has <|endoftext|>, the BOS/EOS ids.
void SetGgufBpeVocabulary(const GgufBpeVocabulary& vocabulary, GgufWriter& writer);

}  // namespace llive::backends::native
