// Fuzzes tokenizer.json loading: any bytes give a tokenizer or an error; a tokenizer that
// loads encodes a fixed text and its own input to ids inside its vocabulary.
#include <cstddef>
#include <cstdint>

#include "backends/native/byte_level_bpe_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace native = llive::backends::native;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::unique_ptr<native::ByteLevelBpeTokenizer>> tokenizer =
      native::ByteLevelBpeTokenizer::FromTokenizerJson(text, "fuzz.json");
  if (!tokenizer.ok()) return 0;
  for (absl::string_view sample : {absl::string_view("Hello, world! 日本語 e\xcc\x81  x"), text}) {
    absl::StatusOr<std::vector<int32_t>> ids = (*tokenizer)->Encode(sample);
    if (!ids.ok()) continue;
    for (int32_t id : *ids) {
      if (id < 0 || id >= (*tokenizer)->vocab_size()) __builtin_trap();
    }
    (void)(*tokenizer)->Decode(*ids);
  }
  return 0;
}
