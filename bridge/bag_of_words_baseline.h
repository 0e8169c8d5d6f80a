// The bag-of-words baseline of the fit report: features a probe can read from the text alone
// (hashed words and character bigrams, so that Japanese without spaces works), to show how much
// of a probe's quality a model's state adds over the words themselves.
#pragma once

#include "absl/strings/string_view.h"
#include "bridge/dense_matrix.h"
#include "bridge/exemplar_corpus.h"

namespace llive::bridge {

// Hashing dimension of the baseline features.
inline constexpr int64_t kBagOfWordsDimension = 4096;

// One row per exemplar: counts of lower-cased ASCII words and of character bigrams (UTF-8 code
// points, punctuation and spaces included), hashed (FNV-1a) into kBagOfWordsDimension buckets,
// log1p, L2-normalised.
DenseMatrix BagOfWordsFeatures(const std::vector<Exemplar>& corpus);

}  // namespace llive::bridge
