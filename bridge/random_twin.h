// The "random weights" baseline of a bridge fit: a backend of the same architecture and shape
// as a given one whose weights are drawn afresh, so that a probe fitted on its states shows
// what the architecture alone (a random recurrent projection of the tokens) gives.
#pragma once

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"
#include "backends/stateful_backend.h"

namespace llive::bridge {

// Mamba: RandomMambaWeights of the same configuration (the S4D-real initialisation).
// RWKV-7: every weight tensor redrawn from a normal distribution with that tensor's own mean
// and standard deviation (so scales stay those of the model). The twin has no tokenizer: feed
// it the original backend's token ids. InvalidArgument for another backend class.
absl::StatusOr<std::unique_ptr<backends::StatefulBackend>> MakeRandomTwin(
    backends::StatefulBackend& backend, uint64_t seed);

}  // namespace llive::bridge
