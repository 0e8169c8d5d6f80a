// Byte-level BPE (GPT-2 style) tokenizers: from a Hugging Face tokenizer.json or from the
// pieces of a GGUF vocabulary (tokenizer.ggml.model "gpt2").
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/native/tokenizer.h"

namespace llive::backends::native {

// GPT-2's pre-tokenizer pattern (also GPT-NeoX's), in the syntax tokenizer.json uses.
inline constexpr absl::string_view kGpt2PreTokenizerPattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// The byte that GPT-2's byte-to-character table maps to the code point `c`, or -1 when `c`
// is not one of its 256 characters; and the code point a byte maps to.
int ByteOfByteLevelChar(char32_t c);
char32_t ByteLevelCharOfByte(uint8_t byte);
// Token text in the byte-level alphabet (as vocabularies store it) to raw bytes.
// Characters outside the alphabet stand for their own UTF-8 bytes.
std::string DecodeByteLevel(absl::string_view token_text);
// Raw bytes to token text in the byte-level alphabet.
std::string EncodeByteLevel(absl::string_view bytes);

// What a byte-level BPE vocabulary is made of, in the form files store it.
struct ByteLevelBpeSpec {
  // Model tokens in the byte-level alphabet, with their ids.
  std::vector<std::pair<std::string, int32_t>> vocab;
  // Merges in rank order, each a pair of byte-level token texts.
  std::vector<std::pair<std::string, std::string>> merges;
  // Tokens matched in the text before pre-tokenization (raw text, not byte-level).
  struct AddedToken {
    int32_t id = 0;
    std::string content;
    bool special = false;
    bool normalized = false;  // matched after normalization instead of in the raw text
  };
  std::vector<AddedToken> added_tokens;
  bool nfc = false;               // apply Unicode NFC before pre-tokenization
  bool add_prefix_space = false;  // prepend a space to each piece not starting with one
  // The pre-tokenizer pattern (tokenizer.json regex syntax, where \s, \d and \w mean what
  // they mean in JavaScript); empty means the whole piece goes to BPE.
  std::string pattern = std::string(kGpt2PreTokenizerPattern);
  int32_t bos_id = -1;
  int32_t eos_id = -1;
};

// Immutable after creation; safe to share across threads.
//
// Encoding follows Hugging Face tokenizers: added tokens that are not `normalized` are
// split off the raw text (leftmost, then longest); the rest is NFC-normalized when asked,
// `normalized` added tokens are split off, the pre-tokenizer pattern cuts the pieces, each
// piece becomes bytes in the byte-level alphabet, and merges apply lowest rank first (ties
// to the leftmost). Bytes that are not valid UTF-8 are never normalized or matched by the
// pattern: each run of them is its own piece, so any byte string round-trips.
class ByteLevelBpeTokenizer : public Tokenizer {
 public:
  // DataLoss naming `source` for a merge naming a token that is not in the vocabulary, a
  // vocabulary missing one of the 256 byte tokens, duplicate ids, or a pattern that does
  // not compile.
  static absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>> Create(ByteLevelBpeSpec spec,
                                                                       absl::string_view source);

  // Parses a Hugging Face tokenizer.json (model type BPE with a ByteLevel pre-tokenizer;
  // normalizer none or NFC). InvalidArgument naming the component for other kinds.
  static absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>> FromTokenizerJson(
      absl::string_view json_text, absl::string_view source);

  ~ByteLevelBpeTokenizer() override;

  absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text) const override;
  std::string Decode(absl::Span<const int32_t> ids) const override;
  std::string TokenBytes(int32_t id) const override;
  int32_t vocab_size() const override;
  int32_t bos_id() const override;
  int32_t eos_id() const override;

 private:
  struct State;
  explicit ByteLevelBpeTokenizer(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

}  // namespace llive::backends::native
