// Fuzzes byte-level BPE encoding of arbitrary bytes (invalid UTF-8, cut code points, long
// runs) with a vocabulary of all 256 bytes, merges and added tokens: the ids always decode
// back to the input.
#include <cstddef>
#include <cstdint>

#include "backends/native/byte_level_bpe_tokenizer.h"

namespace {

namespace native = llive::backends::native;

const native::ByteLevelBpeTokenizer& Tokenizer() {
  static const std::unique_ptr<native::ByteLevelBpeTokenizer> tokenizer = [] {
    native::ByteLevelBpeSpec spec;
    for (int b = 0; b < 256; ++b) {
      spec.vocab.emplace_back(native::EncodeByteLevel(std::string(1, static_cast<char>(b))), b);
    }
    int32_t id = 256;
    for (const char* pair : {"  ", " t", "he", "th", "e ", "\xe6\x97", "\xff\xff", "in"}) {
      std::string left(1, pair[0]), right(1, pair[1]);
      spec.vocab.emplace_back(native::EncodeByteLevel(left + right), id++);
      spec.merges.emplace_back(native::EncodeByteLevel(left), native::EncodeByteLevel(right));
    }
    spec.vocab.emplace_back(native::EncodeByteLevel(" the"), id++);
    spec.merges.emplace_back(native::EncodeByteLevel(" t"), native::EncodeByteLevel("he"));
    spec.added_tokens.push_back({id++, "<|endoftext|>", true, false});
    spec.added_tokens.push_back({id++, "    ", false, false});
    return *native::ByteLevelBpeTokenizer::Create(std::move(spec), "fuzz");
  }();
  return *tokenizer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<int32_t>> ids = Tokenizer().Encode(text);
  if (!ids.ok() || Tokenizer().Decode(*ids) != text) __builtin_trap();
  return 0;
}
