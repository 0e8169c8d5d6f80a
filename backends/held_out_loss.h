// Held-out cross-entropy of a stateful model over a token stream: the protocol the training
// script uses (scripts/train/train.py heldout_loss), so llive's number and PyTorch's compare.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/stateful_backend.h"

namespace llive::backends {

struct HeldOutLossOptions {
  int64_t window = 512;    // tokens predicted per window, each window from an empty state
  int64_t max_tokens = 0;  // stop after this many predicted tokens (whole windows); 0: all
};

struct HeldOutLoss {
  int64_t windows = 0;
  int64_t tokens = 0;              // predicted tokens: windows * window
  double cross_entropy = 0;        // mean nats per predicted token
  double perplexity = 0;           // exp(cross_entropy)
  double seconds = 0;              // wall time of the model passes
  std::vector<double> per_window;  // mean nats per token of each window
};

// Splits `stream` into consecutive windows of window + 1 tokens (window i starts at
// i * window; the last token of one window is the first of the next), feeds each window's
// first `window` tokens into a fresh state and scores the next token at every position,
// log-softmax in double. InvalidArgument when the stream is shorter than one window or the
// window is not positive; token ids are checked by the backend.
absl::StatusOr<HeldOutLoss> MeasureHeldOutLoss(StatefulBackend& backend,
                                               absl::Span<const int32_t> stream,
                                               const HeldOutLossOptions& options = {});

}  // namespace llive::backends
