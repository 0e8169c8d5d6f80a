// Feature-hashing embedder over the tokens of text_segmenter.h.
#include "memory/hashing_embedder.h"

#include <cmath>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "memory/text_segmenter.h"

namespace llive::memory {
namespace {

// FNV-1a with a final avalanche (from SplitMix64), so low bits are usable as a bucket.
uint64_t Hash(absl::string_view bytes, uint64_t seed) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ull;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebull;
  h ^= h >> 31;
  return h;
}

// Feature families get distinct seeds so "ab" the word and "ab" the trigram differ.
constexpr uint64_t kWordSeed = 1, kTrigramSeed = 2, kCjkSeed = 3, kCjkCharSeed = 4, kSymbolSeed = 5;

}  // namespace

std::string Embedder::tag() const { return absl::StrCat(id(), "@", version(), "/", dim()); }

HashingEmbedder::HashingEmbedder(int dim) : dim_(dim) {}

absl::StatusOr<std::vector<float>> HashingEmbedder::Embed(absl::string_view text) const {
  if (!IsValidUtf8(text)) {
    return absl::InvalidArgumentError("text to embed is not valid UTF-8");
  }
  std::vector<float> vector(static_cast<size_t>(dim_), 0.0f);
  auto add = [&](absl::string_view feature, uint64_t seed, float weight) {
    uint64_t h = Hash(feature, seed);
    vector[h % static_cast<uint64_t>(dim_)] += (h >> 63) != 0 ? -weight : weight;
  };
  std::string padded;
  SegmentText(text, [&](const Token& token) {
    switch (token.kind) {
      case TokenKind::kWord: {
        add(token.text, kWordSeed, 1.0f);
        padded.clear();
        padded.push_back('\x02');
        padded.append(token.text.data(), token.text.size());
        padded.push_back('\x03');
        // Trigrams over bytes are fine for hashing: the same word always gives the same ones.
        for (size_t i = 0; i + 3 <= padded.size(); ++i) {
          add(absl::string_view(padded).substr(i, 3), kTrigramSeed, 0.5f);
        }
        break;
      }
      case TokenKind::kCjk: {
        const auto lead = static_cast<unsigned char>(token.text[0]);
        const size_t first_bytes = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
        // Hiragana alone (particles, inflections) and a bigram across scripts (a noun and
        // its particle) say little about the topic.
        const float weight =
            IsHiraganaOnly(token.text) || IsMixedScriptBigram(token.text) ? 0.25f : 1.0f;
        if (first_bytes >= token.text.size()) {  // a CJK character standing alone
          add(token.text, kCjkCharSeed, weight);
          break;
        }
        add(token.text, kCjkSeed, weight);
        // Inner characters are in two bigrams, so each gets 0.5 in all.
        add(token.text.substr(0, first_bytes), kCjkCharSeed, 0.25f);
        add(token.text.substr(first_bytes), kCjkCharSeed, 0.25f);
        break;
      }
      case TokenKind::kSymbol:
        add(token.text, kSymbolSeed, 1.0f);
        break;
    }
  });
  double norm = 0;
  for (float& v : vector) {
    if (v == 0.0f) continue;  // most buckets of a short text are empty
    v = std::copysign(std::log1p(std::fabs(v)), v);
    norm += static_cast<double>(v) * v;
  }
  if (norm > 0) {
    const float scale = static_cast<float>(1.0 / std::sqrt(norm));
    for (float& v : vector) v *= scale;
  }
  return vector;
}

}  // namespace llive::memory
