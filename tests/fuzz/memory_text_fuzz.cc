// Fuzzes the Unicode token rules and the hashing embedder with arbitrary bytes: tokens must lie
// inside the input, and valid UTF-8 must embed to a unit or zero vector.
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"
#include "memory/hashing_embedder.h"
#include "memory/text_segmenter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  llive::memory::SegmentText(text, [&](const llive::memory::Token& token) {
    if (token.start < 0 || token.end > static_cast<int>(size) || token.start >= token.end ||
        token.text.empty()) {
      __builtin_trap();
    }
  });
  static const llive::memory::HashingEmbedder embedder(64);
  absl::StatusOr<std::vector<float>> vector = embedder.Embed(text);
  if (vector.ok() != llive::memory::IsValidUtf8(text)) __builtin_trap();
  if (vector.ok()) {
    double norm = 0;
    for (float v : *vector) norm += static_cast<double>(v) * v;
    if (!(norm == 0 || std::fabs(norm - 1) < 1e-3)) __builtin_trap();
  }
  return 0;
}
