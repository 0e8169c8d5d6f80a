// Hashed words and character bigrams for the bag-of-words baseline.
#include "bridge/bag_of_words_baseline.h"

#include <cctype>
#include <cmath>
#include <string>
#include <vector>

namespace llive::bridge {
namespace {

uint64_t Fnv1a(absl::string_view text, uint64_t salt) {
  uint64_t hash = 1469598103934665603ull ^ salt;
  for (unsigned char c : text) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// Splits UTF-8 text into code points (as byte strings); a stray byte is its own code point.
std::vector<absl::string_view> CodePoints(absl::string_view text) {
  std::vector<absl::string_view> points;
  for (size_t i = 0; i < text.size();) {
    const unsigned char lead = static_cast<unsigned char>(text[i]);
    size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
    length = std::min(length, text.size() - i);
    points.push_back(text.substr(i, length));
    i += length;
  }
  return points;
}

}  // namespace

DenseMatrix BagOfWordsFeatures(const std::vector<Exemplar>& corpus) {
  DenseMatrix features(static_cast<int64_t>(corpus.size()), kBagOfWordsDimension);
  for (size_t row = 0; row < corpus.size(); ++row) {
    double* out = features.row(static_cast<int64_t>(row));
    const std::string& text = corpus[row].text;
    std::string word;
    for (size_t i = 0; i <= text.size(); ++i) {
      const unsigned char c = i < text.size() ? static_cast<unsigned char>(text[i]) : ' ';
      if (c < 0x80 && std::isalnum(c)) {
        word.push_back(static_cast<char>(std::tolower(c)));
      } else if (!word.empty()) {
        out[Fnv1a(word, 1) % kBagOfWordsDimension] += 1;
        word.clear();
      }
    }
    const std::vector<absl::string_view> points = CodePoints(text);
    for (size_t i = 0; i + 1 < points.size(); ++i) {
      const std::string bigram = std::string(points[i]) + std::string(points[i + 1]);
      out[Fnv1a(bigram, 2) % kBagOfWordsDimension] += 1;
    }
    double norm = 0;
    for (int64_t j = 0; j < kBagOfWordsDimension; ++j) {
      out[j] = std::log1p(out[j]);
      norm += out[j] * out[j];
    }
    if (norm > 0) {
      for (int64_t j = 0; j < kBagOfWordsDimension; ++j) out[j] /= std::sqrt(norm);
    }
  }
  return features;
}

}  // namespace llive::bridge
