// Fuzzes the RWKV World vocabulary parser; a vocabulary that loads must encode its own input
// and decode it back byte for byte.
#include <cstddef>
#include <cstdint>

#include "backends/native/rwkv_world_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace native = llive::backends::native;
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::unique_ptr<native::RwkvWorldTokenizer>> tokenizer =
      native::RwkvWorldTokenizer::FromVocabularyText(text, "fuzz.txt");
  if (!tokenizer.ok()) return 0;
  absl::StatusOr<std::vector<int32_t>> ids = (*tokenizer)->Encode(text);
  if (!ids.ok() || (*tokenizer)->Decode(*ids) != text) __builtin_trap();
  return 0;
}
