// Rwkv7Backend: an RWKV-7 language model on the CPU or a CUDA GPU, behind LLMBackend and
// StatefulBackend.
// Named `rwkv7:PATH`, PATH a Hugging Face folder (config.json + *.safetensors, RWKV-7 -HF
// naming) or an `rwkv7` GGUF file.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "backends/device.h"
#include "backends/native/cuda/weight_dtype.h"
#include "backends/native/rwkv7_device_forward.h"
#include "backends/native/rwkv7_model.h"
#include "backends/native/tokenizer.h"
#include "backends/stateful_backend.h"

namespace llive::backends::native {

// Thread-safe: the weights and the tokenizer are immutable after Open, and every call keeps
// its working memory to itself. A ModelState is advanced by one call at a time (see
// ModelState); states of one backend may be advanced concurrently by different threads.
class Rwkv7Backend final : public StatefulBackend {
 public:
  // Loads the model at `path` and its tokenizer (the RWKV World vocabulary beside a Hugging
  // Face folder, or the one inside a GGUF). Errors of Checkpoint::Open and LoadRwkv7Weights,
  // each naming the file and the tensor or key at fault; a model without a tokenizer loads
  // (Tokenize then fails with FailedPrecondition) so that token-level use still works.
  static absl::StatusOr<std::unique_ptr<Rwkv7Backend>> Open(const std::string& path);

  // A backend over weights already in memory. `tokenizer` may be null.
  static std::unique_ptr<Rwkv7Backend> FromWeights(Rwkv7Weights weights,
                                                   std::unique_ptr<Tokenizer> tokenizer,
                                                   std::string name);

  // Runs every later forward pass on `device` (bf16 weights on a GPU; states stay in the CPU
  // format and move to the GPU and back per call). Call before sharing the backend; not
  // thread-safe. OK and nothing changes for the CPU. FailedPrecondition in a build without
  // the CUDA part; the errors of cuda::Rwkv7CudaModel::Create otherwise.
  absl::Status MoveToDevice(const Device& device,
                            cuda::WeightDtype gpu_weights = cuda::WeightDtype::kBf16);
  const Device& device() const { return device_; }

  const Rwkv7Weights& weights() const { return weights_; }
  // The tokenizer, or null when the checkpoint has none.
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }

  // LLMBackend: generation from an empty state through the shared sampling loop.
  absl::StatusOr<GenerateResponse> Generate(const GenerateRequest& request,
                                            const StreamCallback& on_text = nullptr) override;
  std::string Name() const override { return name_; }

  // StatefulBackend. States from another backend instance are refused with InvalidArgument.
  const ModelInfo& Info() const override { return info_; }
  absl::StatusOr<std::unique_ptr<ModelState>> NewState() override;
  absl::StatusOr<std::vector<float>> Feed(ModelState& state,
                                          absl::Span<const int32_t> tokens) override;
  absl::StatusOr<std::vector<float>> FeedAllPositions(ModelState& state,
                                                      absl::Span<const int32_t> tokens) override;
  absl::StatusOr<std::vector<std::vector<float>>> StepBatch(
      absl::Span<ModelState* const> states, absl::Span<const int32_t> tokens) override;
  // Per layer i: "layers.i.wkv" (kind "wkv", [heads, 64, 64], row = value index, column =
  // key index), "layers.i.shift_att" and "layers.i.shift_ffn" ([d_model]).
  absl::StatusOr<StateView> View(ModelState& state) override;
  absl::StatusOr<std::string> SerializeState(const ModelState& state) override;
  absl::StatusOr<std::unique_ptr<ModelState>> DeserializeState(absl::string_view bytes) override;
  absl::StatusOr<std::vector<int32_t>> Tokenize(absl::string_view text) const override;
  std::string Detokenize(absl::Span<const int32_t> tokens) const override;

 private:
  Rwkv7Backend(Rwkv7Weights weights, std::unique_ptr<Tokenizer> tokenizer, std::string name);

  absl::Status CheckTokens(absl::Span<const int32_t> tokens) const;
  // Rwkv7Forward, on the device when there is one.
  absl::Status RunForward(absl::Span<const Rwkv7Segment> segments);

  Rwkv7Weights weights_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string name_;
  ModelInfo info_;
  Device device_;
  std::unique_ptr<Rwkv7DeviceForward> device_forward_;  // null on the CPU
};

// Makes `rwkv7:PATH` resolve through backends::CreateNativeBackend on the device of the options
// ("cpu", "cuda", "cuda:N"; cuda::SelectDevice says why a GPU cannot be used). Call once at
// start-up; safe to call again.
void RegisterRwkv7Backend();

}  // namespace llive::backends::native
