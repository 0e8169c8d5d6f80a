// MambaBackend: chunked prefill, batched steps, state views and blobs, generation.
#include "backends/native/mamba_backend.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "backends/native/generation.h"
#include "backends/native/state_format.h"

namespace llive::backends::native {

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

absl::StatusOr<std::unique_ptr<ModelState>> MambaBackend::NewState() {
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

absl::StatusOr<StateView> MambaBackend::View(ModelState& state) {
  absl::StatusOr<MambaState*> own = Own(state);
  if (!own.ok()) return own.status();
  const MambaConfig& c = model_->config();
  StateView view;
  for (int layer = 0; layer < c.n_layer; ++layer) {
    view.tensors.push_back({absl::StrCat("layers.", layer, ".conv"),
                            layer,
                            "conv",
                            {c.d_inner, c.d_conv - 1},
                            (*own)->conv[layer].data()});
    view.tensors.push_back({absl::StrCat("layers.", layer, ".ssm"),
                            layer,
                            "ssm",
                            {c.d_inner, c.d_state},
                            (*own)->ssm[layer].data()});
  }
  return view;
}

absl::StatusOr<std::string> MambaBackend::SerializeState(const ModelState& state) {
  // View needs a mutable state; serialising only reads through it.
  absl::StatusOr<StateView> view = View(const_cast<ModelState&>(state));
  if (!view.ok()) return view.status();
  return SerializeStateView(info_, state.position(), *view);
}

absl::StatusOr<std::unique_ptr<ModelState>> MambaBackend::DeserializeState(
    absl::string_view bytes) {
  auto state = std::make_unique<MambaState>(model_->config());
  absl::StatusOr<StateView> view = View(*state);
  if (!view.ok()) return view.status();
  absl::StatusOr<int64_t> position = DeserializeStateView(bytes, info_, *view);
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
