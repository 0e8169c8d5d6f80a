// The RWKV World tokenizer: a fixed vocabulary of byte strings, encoded by greedy longest
// match over the bytes of the text.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/native/tokenizer.h"

namespace llive::backends::native {

// Immutable after creation; safe to share across threads. Id 0 is the end-of-text token
// (no bytes); the vocabulary must hold all 256 single bytes, so any byte string encodes and
// decodes back exactly.
class RwkvWorldTokenizer : public Tokenizer {
 public:
  // Parses the vocabulary file format (rwkv_vocab_v20230424.txt): lines "ID REPR LEN" where
  // REPR is a Python str or bytes literal and LEN its length in bytes. DataLoss naming
  // `source`, the line and the problem for a malformed line, a length that does not match,
  // a duplicate id or token, or a missing single byte.
  static absl::StatusOr<std::unique_ptr<RwkvWorldTokenizer>> FromVocabularyText(
      absl::string_view text, absl::string_view source);

  // From token bytes by id (`tokens[0]`, end of text, is ignored). Same errors.
  static absl::StatusOr<std::unique_ptr<RwkvWorldTokenizer>> FromTokens(
      std::vector<std::string> tokens, absl::string_view source);

  ~RwkvWorldTokenizer() override;

  absl::StatusOr<std::vector<int32_t>> Encode(absl::string_view text) const override;
  std::string Decode(absl::Span<const int32_t> ids) const override;
  std::string TokenBytes(int32_t id) const override;
  int32_t vocab_size() const override;
  int32_t bos_id() const override { return 0; }
  int32_t eos_id() const override { return 0; }

 private:
  struct State;
  explicit RwkvWorldTokenizer(std::unique_ptr<State> state);

  std::unique_ptr<State> state_;
};

// How llama.cpp's GGUF files spell an RWKV World token: Python's repr of the bytes without
// the b'' ("\xff", "\n", "\\", "\'"). Unescape fails (DataLoss) on a malformed escape.
std::string EscapeRwkvGgufToken(absl::string_view bytes);
absl::StatusOr<std::string> UnescapeRwkvGgufToken(absl::string_view text);

}  // namespace llive::backends::native
