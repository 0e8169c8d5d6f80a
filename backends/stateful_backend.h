// StatefulBackend: a language model whose whole context lives in a recurrent state that
// llive can feed, step, inspect, change, save and restore (Mamba, RWKV-7).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "backends/llm_backend.h"

namespace llive::backends {

// The recurrent state of one sequence. Created by StatefulBackend::NewState or
// DeserializeState of one backend and usable only with that backend. Not thread-safe:
// one state is advanced by one call at a time.
class ModelState {
 public:
  virtual ~ModelState() = default;
  // A deep copy (same device).
  virtual std::unique_ptr<ModelState> Clone() const = 0;
  // Tokens fed into this state since it was created empty.
  virtual int64_t position() const = 0;
};

// One tensor of a state, as fp32 values in host memory, row-major.
struct StateTensor {
  std::string name;  // e.g. "layers.3.ssm", "layers.0.wkv", "layers.0.conv"
  int layer = 0;
  std::string kind;  // "ssm" [d_inner, d_state], "conv" [d_inner, d_conv-1],
                     // "wkv" [heads, 64, 64], "shift_att" / "shift_ffn" [d_model]
  std::vector<int64_t> shape;
  float* data = nullptr;  // shape's product of elements; writable
};

// The tensors of one state. Valid until the state is next fed, stepped or destroyed;
// writes through `data` take effect at the state's next Feed or Step.
struct StateView {
  std::vector<StateTensor> tensors;
};

// What a stateful model is.
struct ModelInfo {
  std::string architecture;  // "mamba" or "rwkv7"
  int64_t vocab_size = 0;
  int64_t n_layer = 0;
  int64_t d_model = 0;
  std::string fingerprint;  // hex digest of shapes and weights; state files carry it
};

class StatefulBackend : public LLMBackend {
 public:
  virtual const ModelInfo& Info() const = 0;

  // An empty state (the state before any token).
  virtual absl::StatusOr<std::unique_ptr<ModelState>> NewState() = 0;

  // Feeds `tokens` into `state` (chunked prefill of any length) and returns the
  // logits after the last token, [vocab_size]. InvalidArgument for an empty list or a
  // token id outside the vocabulary.
  virtual absl::StatusOr<std::vector<float>> Feed(ModelState& state,
                                                  absl::Span<const int32_t> tokens) = 0;

  // Feeds `tokens` like Feed and returns the logits after every token,
  // [tokens.size() * vocab_size] (held-out loss, perplexity). Same errors as Feed. The
  // default feeds one token at a time; native backends override it with one chunked pass.
  virtual absl::StatusOr<std::vector<float>> FeedAllPositions(ModelState& state,
                                                              absl::Span<const int32_t> tokens);

  // Advances several independent states by one token each in one batched call.
  // logits[i] is state i's next-token logits. Same errors as Feed.
  virtual absl::StatusOr<std::vector<std::vector<float>>> StepBatch(
      absl::Span<ModelState* const> states, absl::Span<const int32_t> tokens) = 0;

  // A host view of `state` for reading and writing (the bridge).
  virtual absl::StatusOr<StateView> View(ModelState& state) = 0;

  // The state as bytes: format version, model fingerprint, position, tensors,
  // checksum. The caller owns the bytes (e.g. stores them in the parameter layer).
  virtual absl::StatusOr<std::string> SerializeState(const ModelState& state) = 0;

  // Restores a serialised state. DataLoss for a corrupt or truncated blob,
  // FailedPrecondition when it was made by a different model (fingerprint).
  virtual absl::StatusOr<std::unique_ptr<ModelState>> DeserializeState(absl::string_view bytes) = 0;

  // Text to token ids and back, with the model's own tokenizer.
  virtual absl::StatusOr<std::vector<int32_t>> Tokenize(absl::string_view text) const = 0;
  virtual std::string Detokenize(absl::Span<const int32_t> tokens) const = 0;
};

}  // namespace llive::backends
