// The built-in embedder: feature hashing of Unicode words, CJK bigrams and character n-grams.
#pragma once

#include "memory/embedder.h"

namespace llive::memory {

// Deterministic, model-free vectors that work across scripts. Features (from SegmentText):
// each word (weight 1), character trigrams of each word with boundary marks (weight 0.5, so
// inflections and typos still overlap), each CJK bigram (1, or 0.25 across scripts such as kanji +
// particle or of Hiragana alone, which in Japanese is mostly particles and inflections) and each
// CJK character (0.5, so Japanese text without spaces matches on characters),
// each symbol/emoji (1). Each feature is hashed (64-bit) to a signed bucket; bucket values v become
// sign(v) * log1p(|v|) and the vector is L2-normalised. Text with no features (empty, only
// punctuation) gets a zero vector. Thread-safe; stateless after construction.
class HashingEmbedder : public Embedder {
 public:
  // `dim` from 16 to 8192 (config key memory.embedding_dim).
  explicit HashingEmbedder(int dim = 512);
  std::string id() const override { return "hashing"; }
  std::string version() const override { return "3"; }
  int dim() const override { return dim_; }
  absl::StatusOr<std::vector<float>> Embed(absl::string_view text) const override;

 private:
  int dim_;
};

}  // namespace llive::memory
