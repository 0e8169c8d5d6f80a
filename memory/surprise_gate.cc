// Surprise against recent memory, and Welford's running statistics for the Bayesian gate.
#include "memory/surprise_gate.h"

#include <algorithm>
#include <cmath>

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
