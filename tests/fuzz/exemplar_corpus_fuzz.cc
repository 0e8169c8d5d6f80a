// Fuzzes the exemplar corpus reader: any bytes give exemplars with scores in [0, 1] or an error.
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "bridge/exemplar_corpus.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  auto corpus = llive::bridge::ParseExemplars(text, "fuzz");
  if (corpus.ok()) {
    for (const llive::bridge::Exemplar& exemplar : *corpus) {
      for (float score : exemplar.scores) {
        if (!(score >= 0.0f && score <= 1.0f)) __builtin_trap();
      }
    }
  }
  return 0;
}
