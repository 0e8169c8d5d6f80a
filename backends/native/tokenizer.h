// Tokenizer: text to token ids and back, for the native models' vocabularies.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace llive::backends::native {

// A loaded vocabulary. Immutable after loading, so safe to share across threads.
class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids for `text`. Any UTF-8 text is encodable, and any byte string where the
  // vocabulary has a token for each byte (GPT-2 and RWKV World have all 256; GPT-NeoX lacks
  // 0xC0, 0xC1 and 0xF5-0xFF, which never occur in UTF-8): InvalidArgument naming the byte
  // and its offset otherwise (InvalidArgument too where NFC normalization composes a byte a
  // vocabulary that lacks bytes of UTF-8 has no token for). Special tokens written in the text
  // (e.g. "<|endoftext|>") encode as those tokens, as Hugging Face tokenizers do.
  virtual absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text) const = 0;

  // The bytes the ids stand for, concatenated; ids out of range are skipped. Decoding
  // the ids of a byte string gives those bytes back, after the vocabulary's normalization
  // (NFC for GPT-NeoX; none for GPT-2 and RWKV World), including bytes that are not UTF-8.
  virtual std::string Decode(absl::Span<const int32_t> ids) const = 0;

  // The bytes of one token: a special token's text (e.g. "<|endoftext|>"); empty for an id
  // out of range or one without text (RWKV World's end-of-text id 0).
  virtual std::string TokenBytes(int32_t id) const = 0;

  virtual int32_t vocab_size() const = 0;
  // Special tokens; -1 where the vocabulary has none.
  virtual int32_t bos_id() const = 0;
  virtual int32_t eos_id() const = 0;
};

}  // namespace llive::backends::native
