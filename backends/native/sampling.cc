// Sampling: repetition penalty, then greedy or temperature + top-k + top-p over a softmax.
#include "backends/native/sampling.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace llive::backends::native {

absl::Status ValidateSamplingOptions(const SamplingOptions& options) {
  if (!std::isfinite(options.temperature) || options.temperature < 0.0f) {
    return absl::InvalidArgumentError(absl::StrCat(
        "temperature ", options.temperature, " is invalid: use 0 for greedy or a positive value"));
  }
  if (options.top_k < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_k ", options.top_k, " is negative: use 0 to keep every token"));
  }
  if (!(options.top_p > 0.0f && options.top_p <= 1.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_p ", options.top_p, " is outside (0, 1]: use 1 to turn it off"));
  }
  if (!(options.repetition_penalty > 0.0f) || !std::isfinite(options.repetition_penalty)) {
    return absl::InvalidArgumentError(absl::StrCat("repetition_penalty ",
                                                   options.repetition_penalty,
                                                   " must be positive: use 1 to turn it off"));
  }
  return absl::OkStatus();
}

int32_t Argmax(absl::Span<const float> logits) {
  return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

Sampler::Sampler(const SamplingOptions& options) : options_(options), random_(options.seed) {}

int32_t Sampler::Sample(absl::Span<const float> logits, absl::Span<const int32_t> history) {
  absl::Span<const float> scores = logits;
  if (options_.repetition_penalty != 1.0f && !history.empty()) {
    penalized_.assign(logits.begin(), logits.end());
    for (int32_t token : history) {
      if (token < 0 || static_cast<size_t>(token) >= penalized_.size()) continue;
      // The logit of `token` in `logits`, not in `penalized_`: a token repeated in the
      // history is penalised once, as in transformers' RepetitionPenaltyLogitsProcessor.
      const float original = logits[token];
      penalized_[token] = original > 0.0f ? original / options_.repetition_penalty
                                          : original * options_.repetition_penalty;
    }
    scores = penalized_;
  }
  if (options_.temperature == 0.0f) {
    return Argmax(scores);
  }

  candidates_.clear();
  candidates_.reserve(scores.size());
  for (size_t i = 0; i < scores.size(); ++i) {
    candidates_.emplace_back(scores[i] / options_.temperature, static_cast<int32_t>(i));
  }
  // Most likely first; ties by lower id so that a seed gives the same tokens everywhere.
  auto more_likely = [](const std::pair<float, int32_t>& a, const std::pair<float, int32_t>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  size_t keep = candidates_.size();
  if (options_.top_k > 0 && static_cast<size_t>(options_.top_k) < keep) {
    keep = static_cast<size_t>(options_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + keep, candidates_.end(),
                      more_likely);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), more_likely);
  }
  candidates_.resize(keep);

  // Softmax over the kept candidates (max subtracted for range).
  const float max_score = candidates_.front().first;
  double total = 0.0;
  for (auto& [score, id] : candidates_) {
    score = std::exp(score - max_score);
    total += score;
  }
  if (options_.top_p < 1.0f) {
    double cumulative = 0.0;
    size_t nucleus = 0;
    while (nucleus < candidates_.size()) {
      cumulative += candidates_[nucleus].first / total;
      ++nucleus;
      if (cumulative >= options_.top_p) break;
    }
    candidates_.resize(nucleus);
    total = 0.0;
    for (const auto& candidate : candidates_) total += candidate.first;
  }
  std::uniform_real_distribution<double> uniform(0.0, total);
  double target = uniform(random_);
  for (const auto& [weight, id] : candidates_) {
    target -= weight;
    if (target < 0.0) return id;
  }
  return candidates_.back().second;
}

}  // namespace llive::backends::native
