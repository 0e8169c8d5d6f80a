// Writes an RWKV-7 model as a GGUF file of llama.cpp's `rwkv7` architecture (the tensor names,
// shapes, metadata and RWKV World vocabulary llama.cpp's loader expects), so that llama.cpp and
// llive run the same file.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "backends/native/checkpoint.h"
#include "backends/native/rwkv7_model.h"
#include "backends/native/tokenizer.h"

namespace llive::backends::native {

// Writes `weights` to `path`, matrices stored as `store_as` (F32, F16, BF16 or Q8_0; vectors and
// the lerp tensors stay F32, as llama.cpp's converter keeps them). With `bpe_tokenizer_json`
// (a model that tokenizes with a byte-level BPE tokenizer.json, like the shipped
// llive-rwkv7-small) the vocabulary is written as llama.cpp's "gpt2" tokenizer with its merges;
// otherwise `tokenizer` (the RWKV World vocabulary) is written as llama.cpp's "rwkv" tokenizer:
// id 0 "<s>" (control), then each token's bytes escaped the way llama.cpp unescapes them; ids
// past the tokenizer's end become "[PADn]" (unused). FailedPrecondition when there is no
// tokenizer (llama.cpp cannot load a model without a vocabulary) or it has more tokens than the
// model; InvalidArgument for an unsupported `store_as`; Unavailable naming the path when the
// file cannot be written.
absl::Status WriteRwkv7Gguf(const Rwkv7Weights& weights, const Tokenizer* tokenizer,
                            const std::string& path, DType store_as, absl::string_view name,
                            const std::string& bpe_tokenizer_json = "");

// One token's bytes as llama.cpp's RWKV vocabulary stores them: printable ASCII as is, "\\",
// "\t", "\n", "\r" escaped with a backslash, every other byte as "\xhh" (lowercase hex).
std::string EscapeRwkvToken(absl::string_view bytes);

}  // namespace llive::backends::native
