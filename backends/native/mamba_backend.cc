// MambaBackend: chunked prefill, batched steps, state views and blobs, generation, on the
// CPU or on a GPU.
#include "backends/native/mamba_backend.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "backends/native/cuda/device_selection.h"
#include "backends/native/cuda/mamba_cuda_model.h"
#include "backends/native/generation.h"
#include "backends/native/state_format.h"

namespace llive::backends::native {
namespace {

// A state whose tensors live in a slot of the GPU model. `host` is its host copy; while
// `host_is_current` (after a View, a deserialisation, or a clone that found no GPU memory)
// the host copy is the state and is uploaded before the next Feed or Step.
class MambaDeviceState : public ModelState {
 public:
  // slot -1: no slot yet, the (empty) host copy is the state.
  MambaDeviceState(std::shared_ptr<cuda::MambaCudaModel> gpu, int slot)
      : gpu_(std::move(gpu)), slot_(slot), host_(gpu_->config()), host_is_current_(slot < 0) {}
  ~MambaDeviceState() override {
    if (slot_ >= 0) gpu_->ReleaseSlot(slot_);
  }

  std::unique_ptr<ModelState> Clone() const override {
    absl::StatusOr<int> slot = host_is_current_ ? absl::StatusOr<int>(-1) : gpu_->NewSlot();
    auto copy = std::make_unique<MambaDeviceState>(gpu_, slot.ok() ? *slot : -1);
    copy->position_ = position_;
    if (copy->slot_ >= 0 && gpu_->CopySlot(slot_, copy->slot_).ok()) return copy;
    // No GPU memory for another slot (or the host copy is the state): a host copy.
    if (host_is_current_) {
      copy->host_ = host_;
    } else if (!gpu_->Download(slot_, copy->host_).ok()) {
      return nullptr;
    }
    copy->host_is_current_ = true;
    return copy;
  }
  int64_t position() const override { return position_; }

  // The slot, holding the current state (uploading the host copy when that is current).
  absl::StatusOr<int> Slot() {
    if (slot_ < 0) {
      absl::StatusOr<int> slot = gpu_->NewSlot();
      if (!slot.ok()) return slot.status();
      slot_ = *slot;
    }
    if (host_is_current_) {
      if (absl::Status s = gpu_->Upload(host_, slot_); !s.ok()) return s;
      host_is_current_ = false;
    }
    return slot_;
  }

  // The host copy, brought up to date; from now on it is the state until the next Slot().
  absl::StatusOr<MambaState*> Host() {
    if (!host_is_current_) {
      if (absl::Status s = gpu_->Download(slot_, host_); !s.ok()) return s;
      host_is_current_ = true;
    }
    return &host_;
  }

  // The state on the host without taking it off the GPU (serialising).
  absl::StatusOr<MambaState> Snapshot() const {
    if (host_is_current_) return host_;
    MambaState copy = host_;
    if (absl::Status s = gpu_->Download(slot_, copy); !s.ok()) return s;
    return copy;
  }

  const cuda::MambaCudaModel* gpu() const { return gpu_.get(); }
  void Advance(int64_t tokens) { position_ += tokens; }
  void SetPosition(int64_t position) { position_ = position; }

 private:
  std::shared_ptr<cuda::MambaCudaModel> gpu_;
  int slot_ = -1;
  MambaState host_;
  bool host_is_current_ = false;
  int64_t position_ = 0;
};

// The tensors of a host state, as View returns them.
StateView ViewOf(const MambaConfig& c, MambaState& state) {
  StateView view;
  for (int layer = 0; layer < c.n_layer; ++layer) {
    view.tensors.push_back({absl::StrCat("layers.", layer, ".conv"),
                            layer,
                            "conv",
                            {c.d_inner, c.d_conv - 1},
                            state.conv[layer].data()});
    view.tensors.push_back({absl::StrCat("layers.", layer, ".ssm"),
                            layer,
                            "ssm",
                            {c.d_inner, c.d_state},
                            state.ssm[layer].data()});
  }
  return view;
}

}  // namespace

MambaBackend::MambaBackend(std::unique_ptr<MambaModel> model, std::unique_ptr<Tokenizer> tokenizer,
                           std::string name)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), name_(std::move(name)) {
  const MambaConfig& c = model_->config();
  info_.architecture = "mamba";
  info_.vocab_size = c.vocab_size;
  info_.n_layer = c.n_layer;
  info_.d_model = c.d_model;
  info_.fingerprint = model_->fingerprint();
}

absl::StatusOr<std::unique_ptr<MambaBackend>> MambaBackend::Open(const std::string& path) {
  absl::StatusOr<std::unique_ptr<Checkpoint>> checkpoint = Checkpoint::Open(path);
  if (!checkpoint.ok()) return checkpoint.status();
  absl::StatusOr<std::unique_ptr<MambaModel>> model = MambaModel::Load(**checkpoint);
  if (!model.ok()) return model.status();
  std::unique_ptr<Tokenizer> tokenizer;
  absl::StatusOr<std::unique_ptr<Tokenizer>> loaded = (*checkpoint)->LoadTokenizer();
  if (loaded.ok()) {
    tokenizer = *std::move(loaded);
  } else if (loaded.status().code() != absl::StatusCode::kNotFound &&
             loaded.status().code() != absl::StatusCode::kUnimplemented) {
    return loaded.status();
  }
  return FromModel(*std::move(model), std::move(tokenizer), absl::StrCat("mamba:", path));
}

std::unique_ptr<MambaBackend> MambaBackend::FromModel(std::unique_ptr<MambaModel> model,
                                                      std::unique_ptr<Tokenizer> tokenizer,
                                                      std::string name) {
  return std::unique_ptr<MambaBackend>(
      new MambaBackend(std::move(model), std::move(tokenizer), std::move(name)));
}

absl::Status MambaBackend::UseDevice(const std::string& device, cuda::WeightDtype weights) {
  absl::StatusOr<Device> selected = cuda::SelectDevice(device);
  if (!selected.ok()) return selected.status();
  if (selected->kind == Device::Kind::kCpu) {
    gpu_.reset();
    return absl::OkStatus();
  }
  cuda::MambaCudaOptions options;
  options.device = selected->index;
  options.weight_dtype = weights;
  absl::StatusOr<std::unique_ptr<cuda::MambaCudaModel>> gpu =
      cuda::MambaCudaModel::Create(*model_, options);
  if (!gpu.ok()) {
    return absl::Status(gpu.status().code(), absl::StrCat(name_, " on ", selected->ToString(), ": ",
                                                          gpu.status().message()));
  }
  gpu_ = std::shared_ptr<cuda::MambaCudaModel>(*std::move(gpu));
  gpu_ordinal_ = selected->index;
  return absl::OkStatus();
}

std::string MambaBackend::device() const {
  return gpu_ == nullptr ? "cpu" : absl::StrCat("cuda:", gpu_ordinal_);
}

absl::StatusOr<std::unique_ptr<ModelState>> MambaBackend::NewState() {
  if (gpu_ != nullptr) {
    absl::StatusOr<int> slot = gpu_->NewSlot();
    if (!slot.ok()) return slot.status();
    return std::make_unique<MambaDeviceState>(gpu_, *slot);
  }
  return std::make_unique<MambaState>(model_->config());
}

absl::Status MambaBackend::CheckTokens(absl::Span<const int32_t> tokens) const {
  if (tokens.empty()) return absl::InvalidArgumentError("no tokens to feed");
  for (int32_t token : tokens) {
    if (token < 0 || token >= model_->config().vocab_size) {
      return absl::InvalidArgumentError(absl::StrCat(
          "token id ", token, " is outside the vocabulary [0, ", model_->config().vocab_size, ")"));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<MambaState*> MambaBackend::Own(ModelState& state) const {
  if (gpu_ != nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("the state was not made by this Mamba backend on ", device(),
                     " (host states need --device cpu)"));
  }
  auto* mamba = dynamic_cast<MambaState*>(&state);
  if (mamba == nullptr || mamba->ssm.size() != static_cast<size_t>(model_->config().n_layer) ||
      (!mamba->ssm.empty() &&
       mamba->ssm[0].size() !=
           static_cast<size_t>(model_->config().d_inner * model_->config().d_state))) {
    return absl::InvalidArgumentError("the state was not made by this Mamba backend");
  }
  return mamba;
}

absl::StatusOr<std::vector<float>> MambaBackend::FeedChunks(ModelState& state,
                                                            absl::Span<const int32_t> tokens,
                                                            bool all_positions) {
  if (absl::Status valid = CheckTokens(tokens); !valid.ok()) return valid;
  if (gpu_ != nullptr) return FeedOnDevice(state, tokens, all_positions);
  absl::StatusOr<MambaState*> own = Own(state);
  if (!own.ok()) return own.status();
  MambaState* states[] = {*own};
  std::vector<float> logits;
  for (size_t start = 0; start < tokens.size(); start += kPrefillChunkTokens) {
    const int64_t length =
        std::min<int64_t>(kPrefillChunkTokens, static_cast<int64_t>(tokens.size() - start));
    std::vector<float> chunk =
        model_->Forward(states, tokens.data() + start, length, all_positions);
    if (all_positions) {
      logits.insert(logits.end(), chunk.begin(), chunk.end());
    } else {
      logits = std::move(chunk);
    }
  }
  return logits;
}

absl::StatusOr<std::vector<float>> MambaBackend::Feed(ModelState& state,
                                                      absl::Span<const int32_t> tokens) {
  return FeedChunks(state, tokens, false);
}

absl::StatusOr<std::vector<float>> MambaBackend::FeedAllPositions(
    ModelState& state, absl::Span<const int32_t> tokens) {
  return FeedChunks(state, tokens, true);
}

absl::StatusOr<std::vector<std::vector<float>>> MambaBackend::StepBatch(
    absl::Span<ModelState* const> states, absl::Span<const int32_t> tokens) {
  if (states.size() != tokens.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("StepBatch got ", states.size(), " states and ", tokens.size(), " tokens"));
  }
  if (absl::Status valid = CheckTokens(tokens); !valid.ok()) return valid;
  if (gpu_ != nullptr) return StepOnDevice(states, tokens);
  std::vector<MambaState*> own;
  std::set<MambaState*> seen;
  for (ModelState* state : states) {
    if (state == nullptr) return absl::InvalidArgumentError("StepBatch got a null state");
    absl::StatusOr<MambaState*> mamba = Own(*state);
    if (!mamba.ok()) return mamba.status();
    if (!seen.insert(*mamba).second) {
      return absl::InvalidArgumentError("StepBatch got the same state twice");
    }
    own.push_back(*mamba);
  }
  const std::vector<float> flat = model_->Forward(own, tokens.data(), 1, false);
  const int64_t vocab = model_->config().vocab_size;
  std::vector<std::vector<float>> logits(states.size());
  for (size_t b = 0; b < states.size(); ++b) {
    logits[b].assign(flat.begin() + b * vocab, flat.begin() + (b + 1) * vocab);
  }
  return logits;
}

namespace {

// The device state behind `state`, or InvalidArgument naming the mismatch.
absl::StatusOr<MambaDeviceState*> OwnDevice(ModelState& state, const cuda::MambaCudaModel* gpu) {
  auto* device_state = dynamic_cast<MambaDeviceState*>(&state);
  if (device_state == nullptr || device_state->gpu() != gpu) {
    return absl::InvalidArgumentError(
        "the state was not made by this Mamba backend on its GPU (states stay on the device "
        "that made them; move them with SerializeState and DeserializeState)");
  }
  return device_state;
}

}  // namespace

absl::StatusOr<std::vector<float>> MambaBackend::FeedOnDevice(ModelState& state,
                                                              absl::Span<const int32_t> tokens,
                                                              bool all_positions) {
  absl::StatusOr<MambaDeviceState*> own = OwnDevice(state, gpu_.get());
  if (!own.ok()) return own.status();
  absl::StatusOr<int> slot = (*own)->Slot();
  if (!slot.ok()) return slot.status();
  const int slots[] = {*slot};
  absl::StatusOr<std::vector<float>> logits =
      gpu_->Forward(slots, tokens.data(), static_cast<int64_t>(tokens.size()), all_positions);
  if (logits.ok()) (*own)->Advance(static_cast<int64_t>(tokens.size()));
  return logits;
}

absl::StatusOr<std::vector<std::vector<float>>> MambaBackend::StepOnDevice(
    absl::Span<ModelState* const> states, absl::Span<const int32_t> tokens) {
  std::vector<MambaDeviceState*> own;
  std::vector<int> slots;
  std::set<ModelState*> seen;
  for (ModelState* state : states) {
    if (state == nullptr) return absl::InvalidArgumentError("StepBatch got a null state");
    if (!seen.insert(state).second) {
      return absl::InvalidArgumentError("StepBatch got the same state twice");
    }
    absl::StatusOr<MambaDeviceState*> device_state = OwnDevice(*state, gpu_.get());
    if (!device_state.ok()) return device_state.status();
    absl::StatusOr<int> slot = (*device_state)->Slot();
    if (!slot.ok()) return slot.status();
    own.push_back(*device_state);
    slots.push_back(*slot);
  }
  absl::StatusOr<std::vector<float>> flat = gpu_->Step(slots, tokens);
  if (!flat.ok()) return flat.status();
  const int64_t vocab = model_->config().vocab_size;
  std::vector<std::vector<float>> logits(states.size());
  for (size_t b = 0; b < states.size(); ++b) {
    logits[b].assign(flat->begin() + b * vocab, flat->begin() + (b + 1) * vocab);
    own[b]->Advance(1);
  }
  return logits;
}

absl::StatusOr<StateView> MambaBackend::View(ModelState& state) {
  if (gpu_ != nullptr) {
    absl::StatusOr<MambaDeviceState*> own = OwnDevice(state, gpu_.get());
    if (!own.ok()) return own.status();
    absl::StatusOr<MambaState*> host = (*own)->Host();
    if (!host.ok()) return host.status();
    return ViewOf(model_->config(), **host);
  }
  absl::StatusOr<MambaState*> own = Own(state);
  if (!own.ok()) return own.status();
  return ViewOf(model_->config(), **own);
}

absl::StatusOr<std::string> MambaBackend::SerializeState(const ModelState& state) {
  if (gpu_ != nullptr) {
    // Serialising reads the state where it is, without moving it off the GPU.
    absl::StatusOr<MambaDeviceState*> own = OwnDevice(const_cast<ModelState&>(state), gpu_.get());
    if (!own.ok()) return own.status();
    absl::StatusOr<MambaState> snapshot = (*own)->Snapshot();
    if (!snapshot.ok()) return snapshot.status();
    return SerializeStateView(info_, state.position(), ViewOf(model_->config(), *snapshot));
  }
  // View needs a mutable state; serialising only reads through it.
  absl::StatusOr<StateView> view = View(const_cast<ModelState&>(state));
  if (!view.ok()) return view.status();
  return SerializeStateView(info_, state.position(), *view);
}

absl::StatusOr<std::unique_ptr<ModelState>> MambaBackend::DeserializeState(
    absl::string_view bytes) {
  if (gpu_ != nullptr) {
    // The blob lands in the host copy, uploaded at the state's first Feed or Step.
    auto state = std::make_unique<MambaDeviceState>(gpu_, -1);
    absl::StatusOr<MambaState*> host = state->Host();
    if (!host.ok()) return host.status();
    StateView view = ViewOf(model_->config(), **host);
    absl::StatusOr<int64_t> position = DeserializeStateView(bytes, info_, view);
    if (!position.ok()) return position.status();
    state->SetPosition(*position);
    return state;
  }
  auto state = std::make_unique<MambaState>(model_->config());
  StateView view = ViewOf(model_->config(), *state);
  absl::StatusOr<int64_t> position = DeserializeStateView(bytes, info_, view);
  if (!position.ok()) return position.status();
  state->position_ = *position;
  return state;
}

absl::StatusOr<std::vector<int32_t>> MambaBackend::Tokenize(absl::string_view text) const {
  if (tokenizer_ == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat(name_,
                     " has no tokenizer (no tokenizer.json beside the weights, no "
                     "tokenizer.ggml.* in the GGUF): add one, or feed token ids"));
  }
  return tokenizer_->Encode(text);
}

std::string MambaBackend::Detokenize(absl::Span<const int32_t> tokens) const {
  return tokenizer_ == nullptr ? std::string() : tokenizer_->Decode(tokens);
}

absl::StatusOr<GenerateResponse> MambaBackend::Generate(const GenerateRequest& request,
                                                        const StreamCallback& on_text) {
  GenerationVocabulary vocabulary;
  if (tokenizer_ != nullptr) {
    vocabulary.bos_id = tokenizer_->bos_id();
    vocabulary.eos_id = tokenizer_->eos_id();
  }
  return GenerateWithState(*this, vocabulary, request, on_text);
}

}  // namespace llive::backends::native
