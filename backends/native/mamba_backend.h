// The native Mamba-1 backend: `mamba:PATH` for a Hugging Face folder (config.json +
// *.safetensors) or a llama.cpp GGUF file of the `mamba` architecture. Runs on the CPU, or on
// a CUDA GPU after UseDevice (cuda/mamba_cuda_model.h), with the same interface.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backends/native/checkpoint.h"
#include "backends/native/cuda/weight_dtype.h"
#include "backends/native/mamba_model.h"
#include "backends/native/tokenizer.h"
#include "backends/stateful_backend.h"

namespace llive::backends::cuda {
class MambaCudaModel;
}  // namespace llive::backends::cuda

namespace llive::backends::native {

// Thread-safe: the model is immutable, so Generate, Feed and StepBatch may run concurrently
// on different states (one state is used by one call at a time); on a GPU the calls take
// turns on its stream. On a GPU, Clone of a state returns null only when neither GPU nor
// host memory can hold the copy.
class MambaBackend : public StatefulBackend {
 public:
  // Tokens fed per forward pass by Feed; longer inputs are split into chunks of this size so
  // that the scratch memory of a pass stays bounded whatever the prompt length.
  static constexpr int64_t kPrefillChunkTokens = 256;

  // Opens `path` (folder or .gguf). Errors of Checkpoint::Open and MambaModel::Load (a
  // missing tensor, a wrong shape, NaN weights, an unsupported variant: each named). A
  // checkpoint without a tokenizer opens; Tokenize then fails with FailedPrecondition.
  static absl::StatusOr<std::unique_ptr<MambaBackend>> Open(const std::string& path);

  // A backend over a model built in memory (tests, benchmarks); `tokenizer` may be null.
  static std::unique_ptr<MambaBackend> FromModel(std::unique_ptr<MambaModel> model,
                                                 std::unique_ptr<Tokenizer> tokenizer,
                                                 std::string name);

  const MambaModel& model() const { return *model_; }

  // Moves the computation to `device` ("cpu" keeps it on the CPU; "cuda" or "cuda:N" uploads
  // the weights in `weights` type and keeps every state made from now on in GPU memory,
  // copied to the host only for View, SerializeState and Clone's fallback). Call it before
  // making states: states of the other device are rejected. Errors of
  // cuda::SelectDevice (no CUDA in this build, no GPU, N out of range, architecture not
  // compiled in) and of cuda::MambaCudaModel::Create (shapes its kernels do not support,
  // out of memory). Not thread-safe with other calls.
  absl::Status UseDevice(const std::string& device,
                         cuda::WeightDtype weights = cuda::WeightDtype::kBf16);
  // "cpu" or "cuda:N".
  std::string device() const;

  // Feed, but returning the logits after every token, [tokens.size() * vocab_size] (parity
  // checks against a reference that gives all positions).
  absl::StatusOr<std::vector<float>> FeedAllPositions(ModelState& state,
                                                      absl::Span<const int32_t> tokens);

  // StatefulBackend
  const ModelInfo& Info() const override { return info_; }
  absl::StatusOr<std::unique_ptr<ModelState>> NewState() override;
  absl::StatusOr<std::vector<float>> Feed(ModelState& state,
                                          absl::Span<const int32_t> tokens) override;
  absl::StatusOr<std::vector<std::vector<float>>> StepBatch(
      absl::Span<ModelState* const> states, absl::Span<const int32_t> tokens) override;
  absl::StatusOr<StateView> View(ModelState& state) override;
  absl::StatusOr<std::string> SerializeState(const ModelState& state) override;
  absl::StatusOr<std::unique_ptr<ModelState>> DeserializeState(absl::string_view bytes) override;
  absl::StatusOr<std::vector<int32_t>> Tokenize(absl::string_view text) const override;
  std::string Detokenize(absl::Span<const int32_t> tokens) const override;

  // LLMBackend
  absl::StatusOr<GenerateResponse> Generate(const GenerateRequest& request,
                                            const StreamCallback& on_text = nullptr) override;
  std::string Name() const override { return name_; }

 private:
  MambaBackend(std::unique_ptr<MambaModel> model, std::unique_ptr<Tokenizer> tokenizer,
               std::string name);
  absl::StatusOr<std::vector<float>> FeedChunks(ModelState& state, absl::Span<const int32_t> tokens,
                                                bool all_positions);
  absl::Status CheckTokens(absl::Span<const int32_t> tokens) const;
  // The MambaState behind `state`, or InvalidArgument when another backend (or this backend
  // on another device) made it.
  absl::StatusOr<MambaState*> Own(ModelState& state) const;
  // The GPU path of Feed and StepBatch.
  absl::StatusOr<std::vector<float>> FeedOnDevice(ModelState& state,
                                                  absl::Span<const int32_t> tokens,
                                                  bool all_positions);
  absl::StatusOr<std::vector<std::vector<float>>> StepOnDevice(absl::Span<ModelState* const> states,
                                                               absl::Span<const int32_t> tokens);

  std::unique_ptr<MambaModel> model_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string name_;
  ModelInfo info_;
  // Set by UseDevice for a GPU; shared with the states, whose slots it holds.
  std::shared_ptr<cuda::MambaCudaModel> gpu_;
  int gpu_ordinal_ = 0;
};

}  // namespace llive::backends::native
