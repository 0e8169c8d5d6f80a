// Next-token selection from logits: greedy, temperature, top-k, top-p and repetition penalty,
// reproducible from a seed. Shared by every native model.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"

namespace llive::backends::native {

struct SamplingOptions {
  float temperature = 0.0f;  // 0 is greedy (argmax); otherwise logits are divided by it
  int top_k = 0;             // keep the k most likely tokens; 0 keeps all
  float top_p = 1.0f;        // keep the smallest set whose probability reaches p; 1 keeps all
  float repetition_penalty = 1.0f;  // >1 discourages tokens already in the history; 1 is off
  uint64_t seed = 0;                // the random stream; the same seed gives the same tokens
};

// InvalidArgument naming the field for a negative or non-finite temperature, a negative
// top_k, top_p outside (0, 1] or a repetition penalty that is not positive.
absl::Status ValidateSamplingOptions(const SamplingOptions& options);

// The index of the largest value; the lowest index among equal maxima. `logits` is not empty.
int32_t Argmax(absl::Span<const float> logits);

// Picks tokens one after another. Not thread-safe (it owns a random generator); use one per
// generation.
class Sampler {
 public:
  // `options` must have passed ValidateSamplingOptions.
  explicit Sampler(const SamplingOptions& options);

  // The next token for `logits` (one value per vocabulary entry, not empty). `history` is the
  // tokens the repetition penalty applies to (prompt and generated so far); the penalty
  // divides a positive logit and multiplies a negative one, as in the CTRL paper.
  int32_t Sample(absl::Span<const float> logits, absl::Span<const int32_t> history);

 private:
  SamplingOptions options_;
  std::mt19937_64 random_;
  std::vector<float> penalized_;
  std::vector<std::pair<float, int32_t>> candidates_;
};

}  // namespace llive::backends::native
