// Surprise against recent memory, and Welford's running statistics for the Bayesian gate.
#include "memory/surprise_gate.h"

#include <algorithm>
#include <cmath>
#include <thread>

#include "memory/vector_math.h"

namespace llive::memory {

double SurpriseWindow::Surprise(absl::Span<const float> vector) const {
  if (recent_.empty()) return 1.0;
  float best = -1.0f;
  for (const std::vector<float>& other : recent_) {
    if (other.size() != vector.size()) continue;
    best = std::max(best, DotProduct(vector.data(), other.data(), vector.size()));
  }
  return std::clamp(1.0 - static_cast<double>(best), 0.0, 1.0);
}

void SurpriseWindow::Remember(absl::Span<const float> vector) {
  if (window_ <= 0) return;
  if (static_cast<int>(recent_.size()) >= window_) recent_.pop_front();
  recent_.emplace_back(vector.begin(), vector.end());
}

double SurpriseWindow::SurpriseInBatch(absl::Span<const std::vector<float>> batch, size_t i) const {
  if (window_ <= 0) return 1.0;
  // The window as the batch goes: recent_, then the batch; vector i sees the `window_` before it.
  const size_t window = static_cast<size_t>(window_);
  const size_t from_batch = std::min(i, window);
  const size_t from_recent = std::min(recent_.size(), window - from_batch);
  if (from_batch + from_recent == 0) return 1.0;  // nothing remembered yet
  const std::vector<float>& vector = batch[i];
  float best = -1.0f;
  auto consider = [&](const std::vector<float>& other) {
    if (other.size() != vector.size()) return;
    best = std::max(best, DotProduct(vector.data(), other.data(), vector.size()));
  };
  for (size_t j = recent_.size() - from_recent; j < recent_.size(); ++j) consider(recent_[j]);
  for (size_t j = i - from_batch; j < i; ++j) consider(batch[j]);
  return std::clamp(1.0 - static_cast<double>(best), 0.0, 1.0);
}

std::vector<double> SurpriseWindow::BatchSurprise(
    absl::Span<const std::vector<float>> batch) const {
  std::vector<double> surprises(batch.size());
  auto score = [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) surprises[i] = SurpriseInBatch(batch, i);
  };
  constexpr size_t kParallelFrom = 64;
  if (batch.size() < kParallelFrom) {
    score(0, batch.size());
  } else {
    const size_t half = batch.size() / 2;
    std::thread helper(score, half, batch.size());
    score(0, half);
    helper.join();
  }
  return surprises;
}

void SurpriseWindow::RememberBatch(absl::Span<const std::vector<float>> batch) {
  if (window_ <= 0) return;
  const size_t keep = std::min(batch.size(), static_cast<size_t>(window_));
  for (size_t i = batch.size() - keep; i < batch.size(); ++i) Remember(batch[i]);
}

bool BayesianSurpriseGate::Observe(double surprise) {
  const bool passes = count_ < options_.min_samples ? surprise >= options_.cold_start_theta
                                                    : surprise >= mean_ + options_.z * deviation();
  ++count_;
  const double delta = surprise - mean_;
  mean_ += delta / static_cast<double>(count_);
  m2_ += delta * (surprise - mean_);
  return passes;
}

double BayesianSurpriseGate::deviation() const {
  return count_ > 1 ? std::sqrt(m2_ / static_cast<double>(count_ - 1)) : 0.0;
}

}  // namespace llive::memory
