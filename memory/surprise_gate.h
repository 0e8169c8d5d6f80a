// The gates that decide whether an appended event also becomes a semantic entry.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "absl/types/span.h"

namespace llive::memory {

// Surprise of a vector against a small window of recent vectors of the same agent:
// 1 - max cosine (vectors are L2-normalised, so cosine is the inner product). Never a full
// search: the window holds at most `window` vectors. Not thread-safe.
class SurpriseWindow {
 public:
  explicit SurpriseWindow(int window = 64) : window_(window) {}
  // 1 - max inner product with the window, clamped to [0, 1]; 1 when the window is empty.
  double Surprise(absl::Span<const float> vector) const;
  // Adds `vector`, dropping the oldest when full.
  void Remember(absl::Span<const float> vector);
  // The surprise of each of `batch`'s vectors as calling Surprise then Remember on each in turn
  // would give (against the window and the batch's vectors before it), leaving the window as it
  // is. Batches of 64 or more are split over this thread and one more.
  std::vector<double> BatchSurprise(absl::Span<const std::vector<float>> batch) const;
  // BatchSurprise's value for batch[i] alone (reads batch[0..i] only).
  double SurpriseInBatch(absl::Span<const std::vector<float>> batch, size_t i) const;
  // Remember for each of `batch` in turn (only the last `window` are copied).
  void RememberBatch(absl::Span<const std::vector<float>> batch);
  bool empty() const { return recent_.empty(); }

 private:
  int window_;
  std::deque<std::vector<float>> recent_;
};

// The fixed gate: write when surprise >= theta (DESIGN.md: 0.3, memory.surprise_theta).
inline constexpr double kDefaultSurpriseTheta = 0.3;

// Bayesian surprise gate: keeps the running mean and deviation of an agent's surprise values
// (Welford's algorithm) and lets through values at least `z` deviations above the mean. Until
// `min_samples` values were seen it uses the fixed `cold_start_theta` instead. Not
// thread-safe.
class BayesianSurpriseGate {
 public:
  struct Options {
    int min_samples = 30;  // cold start length
    double z = 1.0;        // deviations above the mean that count as surprising
    double cold_start_theta = kDefaultSurpriseTheta;
  };
  BayesianSurpriseGate() : BayesianSurpriseGate(Options{}) {}
  explicit BayesianSurpriseGate(const Options& options) : options_(options) {}

  // Whether `surprise` passes, judged against the values seen before it; then records it.
  bool Observe(double surprise);
  int64_t count() const { return count_; }
  double mean() const { return mean_; }
  double deviation() const;

 private:
  Options options_;
  int64_t count_ = 0;
  double mean_ = 0;
  double m2_ = 0;  // sum of squared differences from the mean (Welford)
};

}  // namespace llive::memory
