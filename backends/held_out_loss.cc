// Windowed held-out cross-entropy.
#include "backends/held_out_loss.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "absl/strings/str_cat.h"

namespace llive::backends {

absl::StatusOr<HeldOutLoss> MeasureHeldOutLoss(StatefulBackend& backend,
                                               absl::Span<const int32_t> stream,
                                               const HeldOutLossOptions& options) {
  if (options.window <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the window must be positive, not ", options.window));
  }
  const int64_t length = static_cast<int64_t>(stream.size());
  int64_t windows = length > 0 ? (length - 1) / options.window : 0;
  if (options.max_tokens > 0) windows = std::min(windows, options.max_tokens / options.window);
  if (windows == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("the text has ", length, " tokens; one window needs ", options.window + 1,
                     options.max_tokens > 0 ? " (and --max-tokens at least the window)" : ""));
  }
  const int64_t vocab = backend.Info().vocab_size;
  HeldOutLoss result;
  double total = 0;
  const auto start = std::chrono::steady_clock::now();
  for (int64_t w = 0; w < windows; ++w) {
    absl::Span<const int32_t> window = stream.subspan(w * options.window, options.window + 1);
    absl::StatusOr<std::unique_ptr<ModelState>> state = backend.NewState();
    if (!state.ok()) return state.status();
    absl::StatusOr<std::vector<float>> logits =
        backend.FeedAllPositions(**state, window.first(options.window));
    if (!logits.ok()) return logits.status();
    if (static_cast<int64_t>(logits->size()) != options.window * vocab) {
      return absl::InternalError(absl::StrCat("the backend returned ", logits->size(),
                                              " logits for ", options.window, " positions"));
    }
    double window_total = 0;
    for (int64_t t = 0; t < options.window; ++t) {
      const float* row = logits->data() + t * vocab;
      const int32_t target = window[t + 1];
      if (target < 0 || target >= vocab) {
        return absl::InvalidArgumentError(
            absl::StrCat("token ", target, " is outside the vocabulary of ", vocab));
      }
      double max = row[0];
      for (int64_t v = 1; v < vocab; ++v) max = std::max<double>(max, row[v]);
      double sum = 0;
      for (int64_t v = 0; v < vocab; ++v) sum += std::exp(static_cast<double>(row[v]) - max);
      window_total += max + std::log(sum) - static_cast<double>(row[target]);
    }
    result.per_window.push_back(window_total / options.window);
    total += window_total;
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  result.windows = windows;
  result.tokens = windows * options.window;
  result.cross_entropy = total / static_cast<double>(result.tokens);
  result.perplexity = std::exp(result.cross_entropy);
  return result;
}

}  // namespace llive::backends
