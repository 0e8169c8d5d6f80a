// Writes a Mamba-1 model as a GGUF file of llama.cpp's `mamba` architecture (its metadata keys,
// tensor names and shapes, and a "gpt2" byte-level BPE vocabulary), so that llama.cpp and llive
// run the same file.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "backends/native/checkpoint.h"
#include "backends/native/mamba_model.h"

namespace llive::backends::native {

// Writes `model` to `path`. The four projection matrices, the embedding and the head are
// stored as `store_as` (F32, F16, BF16, or Q8_0 where a row is a multiple of 32 values, else
// F32); norms, conv, A, D and biases stay F32 as llama.cpp's converter keeps them. A is stored
// as A itself (-exp(A_log)), the conv weight as [d_inner, d_conv].
//
// The vocabulary comes from the Hugging Face `tokenizer_json` file (byte-level BPE: vocab,
// merges, added tokens); rows of the embedding past the tokenizer's last id get "[PADn]"
// tokens, as llama.cpp's converter writes them. Errors: FailedPrecondition when
// `tokenizer_json` is empty (llama.cpp cannot load a model without a vocabulary);
// InvalidArgument for a tokenizer that is not byte-level BPE, has more tokens than the model
// has rows, or a model with in/out projection biases (llama.cpp's mamba has none), or an
// unsupported `store_as`; NotFound/DataLoss for an unreadable tokenizer file; Unavailable
// naming the path when the file cannot be written.
absl::Status WriteMambaGguf(const MambaModel& model, const std::string& tokenizer_json,
                            const std::string& path, DType store_as, absl::string_view name);

}  // namespace llive::backends::native
