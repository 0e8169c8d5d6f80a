// Rwkv7Backend: state bookkeeping around Rwkv7Forward, the shared state format and the shared
// generation loop.
#include "backends/native/rwkv7_backend.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/native/checkpoint.h"
#include "backends/native/cpu_threads.h"
#include "backends/native/cuda/device_selection.h"
#include "backends/native/generation.h"
#include "backends/native/rwkv7_weights.h"
#include "backends/native/state_format.h"
#include "backends/native_backend_registry.h"

namespace llive::backends::native {
namespace {

// Prefill runs in chunks of this many tokens, which bounds the working memory of one call
// (about 40 floats per token and model width) while keeping the projections matrix products.
constexpr size_t kPrefillChunk = 256;

class Rwkv7State final : public ModelState {
 public:
  Rwkv7State(const Rwkv7Backend* owner, Rwkv7StateData data)
      : owner_(owner), data_(std::move(data)) {}

  std::unique_ptr<ModelState> Clone() const override {
    return std::make_unique<Rwkv7State>(owner_, data_);
  }
  int64_t position() const override { return data_.position; }

  const Rwkv7Backend* owner() const { return owner_; }
  Rwkv7StateData& data() { return data_; }

 private:
  const Rwkv7Backend* owner_;
  Rwkv7StateData data_;
};

StateView MakeView(const Rwkv7Config& c, Rwkv7StateData& data) {
  StateView view;
  const int64_t n = c.head_size;
  const int64_t heads = c.n_head();
  for (int64_t i = 0; i < c.n_layer; ++i) {
    view.tensors.push_back({absl::StrCat("layers.", i, ".wkv"),
                            static_cast<int>(i),
                            "wkv",
                            {heads, n, n},
                            data.wkv.data() + i * heads * n * n});
    view.tensors.push_back({absl::StrCat("layers.", i, ".shift_att"),
                            static_cast<int>(i),
                            "shift_att",
                            {c.d_model},
                            data.shift_att.data() + i * c.d_model});
    view.tensors.push_back({absl::StrCat("layers.", i, ".shift_ffn"),
                            static_cast<int>(i),
                            "shift_ffn",
                            {c.d_model},
                            data.shift_ffn.data() + i * c.d_model});
  }
  return view;
}

}  // namespace

Rwkv7Backend::Rwkv7Backend(Rwkv7Weights weights, std::unique_ptr<Tokenizer> tokenizer,
                           std::string name)
    : weights_(std::move(weights)), tokenizer_(std::move(tokenizer)), name_(std::move(name)) {
  info_.architecture = "rwkv7";
  info_.vocab_size = weights_.config.vocab_size;
  info_.n_layer = weights_.config.n_layer;
  info_.d_model = weights_.config.d_model;
  info_.fingerprint = Rwkv7Fingerprint(weights_);
}

absl::StatusOr<std::unique_ptr<Rwkv7Backend>> Rwkv7Backend::Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(path);
  if (!checkpoint.ok()) return checkpoint.status();
  absl::StatusOr<Rwkv7Weights> weights = LoadRwkv7Weights(**checkpoint);
  if (!weights.ok()) return weights.status();
  absl::StatusOr<std::unique_ptr<Tokenizer>> tokenizer = (*checkpoint)->LoadTokenizer();
  std::unique_ptr<Tokenizer> loaded;
  if (tokenizer.ok()) {
    loaded = *std::move(tokenizer);
  } else if (!absl::IsNotFound(tokenizer.status()) && !absl::IsUnimplemented(tokenizer.status())) {
    return tokenizer.status();
  }
  return FromWeights(*std::move(weights), std::move(loaded), absl::StrCat("rwkv7:", path));
}

std::unique_ptr<Rwkv7Backend> Rwkv7Backend::FromWeights(Rwkv7Weights weights,
                                                        std::unique_ptr<Tokenizer> tokenizer,
                                                        std::string name) {
  return std::unique_ptr<Rwkv7Backend>(
      new Rwkv7Backend(std::move(weights), std::move(tokenizer), std::move(name)));
}

absl::Status Rwkv7Backend::MoveToDevice(const Device& device, cuda::WeightDtype gpu_weights) {
  if (device.kind == Device::Kind::kCpu) {
    device_forward_.reset();
    device_ = device;
    return absl::OkStatus();
  }
  absl::StatusOr<std::unique_ptr<Rwkv7DeviceForward>> forward =
      CreateRwkv7CudaForward(weights_, device.index, gpu_weights);
  if (!forward.ok()) return forward.status();
  device_forward_ = *std::move(forward);
  device_ = device;
  return absl::OkStatus();
}

absl::Status Rwkv7Backend::RunForward(absl::Span<const Rwkv7Segment> segments) {
  if (device_forward_ != nullptr) return device_forward_->Forward(segments);
  Rwkv7Forward(weights_, segments);
  return absl::OkStatus();
}

absl::StatusOr<GenerateResponse> Rwkv7Backend::Generate(const GenerateRequest& request,
                                                        const StreamCallback& on_text) {
  if (tokenizer_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(name_, " has no tokenizer; put rwkv_vocab_v20230424.txt beside config.json"));
  }
  GenerationVocabulary vocabulary;
  vocabulary.bos_id = tokenizer_->bos_id();
  vocabulary.eos_id = tokenizer_->eos_id();
  absl::StatusOr<GenerateResponse> response =
      GenerateWithState(*this, vocabulary, request, on_text);
  if (response.ok()) {
    response->backend = "rwkv7";
    response->model = name_;
  }
  return response;
}

absl::StatusOr<std::unique_ptr<ModelState>> Rwkv7Backend::NewState() {
  return std::make_unique<Rwkv7State>(this, Rwkv7StateData::Zeros(weights_.config));
}

absl::Status Rwkv7Backend::CheckTokens(absl::Span<const int32_t> tokens) const {
  if (tokens.empty()) {
    return absl::InvalidArgumentError("no tokens to feed; pass at least one token id");
  }
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= weights_.config.vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat("token id ", tokens[i], " at index ", i,
                                                     " is outside the vocabulary [0, ",
                                                     weights_.config.vocab_size, ") of ", name_));
    }
  }
  return absl::OkStatus();
}

namespace {

// The RWKV-7 state behind `state`, or InvalidArgument when another backend made it.
absl::StatusOr<Rwkv7State*> OwnState(ModelState& state, const Rwkv7Backend* owner) {
  auto* own = dynamic_cast<Rwkv7State*>(&state);
  if (own == nullptr || own->owner() != owner) {
    return absl::InvalidArgumentError(absl::StrCat("the state was not made by ", owner->Name(),
                                                   "; use a state from its NewState"));
  }
  return own;
}

}  // namespace

absl::StatusOr<std::vector<float>> Rwkv7Backend::Feed(ModelState& state,
                                                      absl::Span<const int32_t> tokens) {
  absl::StatusOr<Rwkv7State*> own = OwnState(state, this);
  if (!own.ok()) return own.status();
  if (absl::Status s = CheckTokens(tokens); !s.ok()) return s;
  std::vector<float> logits(weights_.config.vocab_size);
  // The GPU path bounds its own working memory (Rwkv7CudaModel::kMaxRows): one call.
  const size_t chunk = device_forward_ != nullptr ? tokens.size() : kPrefillChunk;
  for (size_t begin = 0; begin < tokens.size(); begin += chunk) {
    const size_t count = std::min(chunk, tokens.size() - begin);
    const bool last = begin + count == tokens.size();
    const Rwkv7Segment segment{&(*own)->data(), tokens.subspan(begin, count),
                               last ? logits.data() : nullptr};
    if (absl::Status s = RunForward(absl::MakeConstSpan(&segment, 1)); !s.ok()) return s;
  }
  return logits;
}

absl::StatusOr<std::vector<float>> Rwkv7Backend::FeedAllPositions(
    ModelState& state, absl::Span<const int32_t> tokens) {
  absl::StatusOr<Rwkv7State*> own = OwnState(state, this);
  if (!own.ok()) return own.status();
  if (absl::Status s = CheckTokens(tokens); !s.ok()) return s;
  const size_t vocab = static_cast<size_t>(weights_.config.vocab_size);
  std::vector<float> logits(tokens.size() * vocab);
  for (size_t begin = 0; begin < tokens.size(); begin += kPrefillChunk) {
    const size_t count = std::min(kPrefillChunk, tokens.size() - begin);
    const Rwkv7Segment segment{&(*own)->data(), tokens.subspan(begin, count),
                               logits.data() + begin * vocab, true};
    Rwkv7Forward(weights_, absl::MakeConstSpan(&segment, 1));
  }
  return logits;
}

absl::StatusOr<std::vector<std::vector<float>>> Rwkv7Backend::StepBatch(
    absl::Span<ModelState* const> states, absl::Span<const int32_t> tokens) {
  if (states.size() != tokens.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("StepBatch got ", states.size(), " states but ", tokens.size(), " tokens"));
  }
  if (absl::Status s = CheckTokens(tokens); !s.ok()) return s;
  std::vector<std::vector<float>> logits(states.size(),
                                         std::vector<float>(weights_.config.vocab_size));
  std::vector<Rwkv7Segment> segments;
  std::unordered_set<const ModelState*> seen;
  for (size_t i = 0; i < states.size(); ++i) {
    if (states[i] == nullptr || !seen.insert(states[i]).second) {
      return absl::InvalidArgumentError(absl::StrCat(
          "StepBatch state ", i, " is null or appears twice; each state advances once"));
    }
    absl::StatusOr<Rwkv7State*> own = OwnState(*states[i], this);
    if (!own.ok()) return own.status();
    segments.push_back({&(*own)->data(), tokens.subspan(i, 1), logits[i].data()});
  }
  if (absl::Status s = RunForward(segments); !s.ok()) return s;
  return logits;
}

absl::StatusOr<StateView> Rwkv7Backend::View(ModelState& state) {
  absl::StatusOr<Rwkv7State*> own = OwnState(state, this);
  if (!own.ok()) return own.status();
  return MakeView(weights_.config, (*own)->data());
}

absl::StatusOr<std::string> Rwkv7Backend::SerializeState(const ModelState& state) {
  // The view only reads here; MakeView wants writable pointers because View hands them out.
  absl::StatusOr<Rwkv7State*> own = OwnState(const_cast<ModelState&>(state), this);
  if (!own.ok()) return own.status();
  const StateView view = MakeView(weights_.config, (*own)->data());
  return SerializeStateView(info_, (*own)->position(), view);
}

absl::StatusOr<std::unique_ptr<ModelState>> Rwkv7Backend::DeserializeState(
    absl::string_view bytes) {
  auto state = std::make_unique<Rwkv7State>(this, Rwkv7StateData::Zeros(weights_.config));
  StateView view = MakeView(weights_.config, state->data());
  absl::StatusOr<int64_t> position = DeserializeStateView(bytes, info_, view);
  if (!position.ok()) return position.status();
  state->data().position = *position;
  return state;
}

absl::StatusOr<std::vector<int32_t>> Rwkv7Backend::Tokenize(absl::string_view text) const {
  if (tokenizer_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(name_, " has no tokenizer; put rwkv_vocab_v20230424.txt beside config.json"));
  }
  return tokenizer_->Encode(text);
}

std::string Rwkv7Backend::Detokenize(absl::Span<const int32_t> tokens) const {
  return tokenizer_ == nullptr ? std::string() : tokenizer_->Decode(tokens);
}

void RegisterRwkv7Backend() {
  RegisterNativeBackendFactory(
      BackendSpec::Kind::kRwkv7,
      [](const std::string& path,
         const NativeBackendOptions& options) -> absl::StatusOr<std::unique_ptr<StatefulBackend>> {
        absl::StatusOr<Device> device = cuda::SelectDevice(options.device);
        if (!device.ok()) return device.status();
        absl::StatusOr<cuda::WeightDtype> gpu_weights =
            cuda::ParseWeightDtype(options.gpu_weights.empty() ? "bf16" : options.gpu_weights);
        if (!gpu_weights.ok()) return gpu_weights.status();
        absl::StatusOr<std::unique_ptr<Rwkv7Backend>> backend = Rwkv7Backend::Open(path);
        if (!backend.ok()) return backend.status();
        int64_t parameters = 0;
        for (const std::vector<float>* tensor : Rwkv7Tensors((*backend)->weights())) {
          parameters += static_cast<int64_t>(tensor->size());
        }
        ChooseCpuThreads(options.threads, parameters);
        if (absl::Status s = (*backend)->MoveToDevice(*device, *gpu_weights); !s.ok()) return s;
        return std::unique_ptr<StatefulBackend>(*std::move(backend));
      });
}

}  // namespace llive::backends::native
