// The default all-positions feed: one token at a time through Feed.
#include "backends/stateful_backend.h"

namespace llive::backends {

absl::StatusOr<std::vector<float>> StatefulBackend::FeedAllPositions(
    ModelState& state, absl::Span<const int32_t> tokens) {
  if (tokens.empty()) return absl::InvalidArgumentError("FeedAllPositions got no tokens");
  std::vector<float> all;
  for (size_t i = 0; i < tokens.size(); ++i) {
    absl::StatusOr<std::vector<float>> logits = Feed(state, tokens.subspan(i, 1));
    if (!logits.ok()) return logits.status();
    if (all.empty()) all.reserve(tokens.size() * logits->size());
    all.insert(all.end(), logits->begin(), logits->end());
  }
  return all;
}

}  // namespace llive::backends
