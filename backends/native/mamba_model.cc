// Mamba-1 forward pass. Per block, following the paper's equations (Gu & Dao 2023, alg. 2):
//   x_n = RMSNorm(x);  [u, z] = in_proj(x_n);  u = SiLU(causal_conv1d(u))
//   [dt_low, B, C] = x_proj(u);  dt = softplus(dt_proj(dt_low))
//   h_t = exp(dt_t A) h_{t-1} + dt_t B_t u_t;  y_t = C_t . h_t + D u_t
//   x = x + out_proj(y * SiLU(z))
// then a final RMSNorm and the LM head.
#include "backends/native/mamba_model.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/native/cpu_ops.h"

namespace llive::backends::native {
namespace {

// Shapes compare equal when they agree after dropping dimensions of size 1 (PyTorch stores
// the depthwise conv as [d_inner, 1, d_conv], llama.cpp as [d_inner, d_conv]).
bool SameShape(const std::vector<int64_t>& actual, const std::vector<int64_t>& expected) {
  auto squeeze = [](const std::vector<int64_t>& shape) {
    std::vector<int64_t> out;
    for (int64_t dim : shape) {
      if (dim != 1) out.push_back(dim);
    }
    return out;
  };
  return squeeze(actual) == squeeze(expected);
}

std::string ShapeString(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

// Where each weight lives in one checkpoint layout.
struct TensorNames {
  bool gguf = false;
  std::string embedding, norm_f, lm_head;
  std::string Layer(int layer, absl::string_view hf_suffix, absl::string_view gguf_name) const {
    return gguf ? absl::StrCat("blk.", layer, ".", gguf_name)
                : absl::StrCat("backbone.layers.", layer, ".", hf_suffix);
  }
};

class WeightReader {
 public:
  explicit WeightReader(const Checkpoint& checkpoint) : checkpoint_(checkpoint) {}

  // Reads `name` into `out`, checking its shape and values. NotFound-style errors are
  // InvalidArgument naming the tensor, as a missing tensor is a bad checkpoint.
  absl::Status Read(const std::string& name, const std::vector<int64_t>& shape,
                    std::vector<float>& out) const {
    const TensorRef* tensor = checkpoint_.Find(name);
    if (tensor == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("checkpoint ", checkpoint_.path(),
                                                     " has no tensor '", name,
                                                     "' that a Mamba model needs"));
    }
    if (!SameShape(tensor->shape, shape)) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' in ", checkpoint_.path(),
                                                     " has shape ", ShapeString(tensor->shape),
                                                     ", the config implies ", ShapeString(shape)));
    }
    absl::StatusOr<std::vector<float>> values = checkpoint_.ReadFloat32(*tensor);
    if (!values.ok()) return values.status();
    out = *std::move(values);
    return absl::OkStatus();
  }

 private:
  const Checkpoint& checkpoint_;
};

absl::Status CheckFinite(const std::string& name, const std::vector<float>& values) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' holds ", values[i],
                                                     " at element ", i,
                                                     ": the checkpoint is corrupt or diverged"));
    }
  }
  return absl::OkStatus();
}

// Every weight with its name (as the loader would report it) and expected shape.
struct NamedWeight {
  std::string name;
  const std::vector<float>* values;
  std::vector<int64_t> shape;
  bool optional;  // may be empty
};

std::vector<NamedWeight> ListWeights(const MambaConfig& c, const MambaWeights& w) {
  const int64_t xdbc = c.dt_rank + 2 * c.d_state;
  std::vector<NamedWeight> out = {{"embedding", &w.embedding, {c.vocab_size, c.d_model}, false},
                                  {"norm_f", &w.norm_f, {c.d_model}, false},
                                  {"lm_head", &w.lm_head, {c.vocab_size, c.d_model}, true}};
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const MambaLayerWeights& l = w.layers[i];
    const std::string p = absl::StrCat("layers.", i, ".");
    out.push_back({p + "norm", &l.norm, {c.d_model}, false});
    out.push_back({p + "in_proj", &l.in_proj, {2 * c.d_inner, c.d_model}, false});
    out.push_back({p + "in_proj_bias", &l.in_proj_bias, {2 * c.d_inner}, true});
    out.push_back({p + "conv", &l.conv, {c.d_inner, c.d_conv}, false});
    out.push_back({p + "conv_bias", &l.conv_bias, {c.d_inner}, false});
    out.push_back({p + "x_proj", &l.x_proj, {xdbc, c.d_inner}, false});
    out.push_back({p + "dt_proj", &l.dt_proj, {c.d_inner, c.dt_rank}, false});
    out.push_back({p + "dt_proj_bias", &l.dt_proj_bias, {c.d_inner}, false});
    out.push_back({p + "a", &l.a, {c.d_inner, c.d_state}, false});
    out.push_back({p + "d", &l.d, {c.d_inner}, false});
    out.push_back({p + "out_proj", &l.out_proj, {c.d_model, c.d_inner}, false});
    out.push_back({p + "out_proj_bias", &l.out_proj_bias, {c.d_model}, true});
  }
  return out;
}

int64_t Product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

}  // namespace

MambaState::MambaState(const MambaConfig& config)
    : conv(config.n_layer, std::vector<float>(config.d_inner * (config.d_conv - 1), 0.0f)),
      ssm(config.n_layer, std::vector<float>(config.d_inner * config.d_state, 0.0f)) {}

std::unique_ptr<ModelState> MambaState::Clone() const {
  return std::make_unique<MambaState>(*this);
}

MambaModel::MambaModel(MambaConfig config, MambaWeights weights)
    : config_(std::move(config)), weights_(std::move(weights)) {}

absl::StatusOr<std::unique_ptr<MambaModel>> MambaModel::Load(const Checkpoint& checkpoint) {
  const bool gguf = checkpoint.format() == Checkpoint::Format::kGguf;
  absl::StatusOr<MambaConfig> parsed = gguf ? MambaConfig::FromGguf(checkpoint.config())
                                            : MambaConfig::FromHuggingFace(checkpoint.config());
  if (!parsed.ok()) return parsed.status();
  MambaConfig config = *parsed;

  TensorNames names;
  names.gguf = gguf;
  if (gguf) {
    names.embedding = "token_embd.weight";
    names.norm_f = "output_norm.weight";
    names.lm_head = "output.weight";
  } else {
    // transformers names it `embeddings`, mamba_ssm's own checkpoints `embedding`.
    names.embedding = checkpoint.Find("backbone.embeddings.weight") != nullptr
                          ? "backbone.embeddings.weight"
                          : "backbone.embedding.weight";
    names.norm_f = "backbone.norm_f.weight";
    names.lm_head = "lm_head.weight";
  }
  const TensorRef* embedding = checkpoint.Find(names.embedding);
  if (embedding == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("checkpoint ", checkpoint.path(),
                                                   " has no tensor '", names.embedding,
                                                   "' that a Mamba model needs"));
  }
  if (gguf) {
    // GGUF does not state these; the tensors do.
    if (embedding->shape.size() == 2) config.vocab_size = embedding->shape[0];
    config.tie_embeddings = checkpoint.Find(names.lm_head) == nullptr;
    config.use_conv_bias = checkpoint.Find(names.Layer(0, "", "ssm_conv1d.bias")) != nullptr;
    if (checkpoint.Find(names.Layer(0, "", "ssm_in.bias")) != nullptr) config.use_bias = true;
  } else if (checkpoint.Find(names.lm_head) != nullptr) {
    config.tie_embeddings = false;  // a stored head wins over the config's tying flag
  }
  if (absl::Status valid = config.Validate(); !valid.ok()) return valid;

  const MambaConfig& c = config;
  const int64_t xdbc = c.dt_rank + 2 * c.d_state;
  WeightReader reader(checkpoint);
  MambaWeights w;
  w.layers.resize(c.n_layer);
  absl::Status status = reader.Read(names.embedding, {c.vocab_size, c.d_model}, w.embedding);
  if (status.ok()) status = reader.Read(names.norm_f, {c.d_model}, w.norm_f);
  if (status.ok() && !c.tie_embeddings) {
    status = reader.Read(names.lm_head, {c.vocab_size, c.d_model}, w.lm_head);
  }
  for (int i = 0; i < c.n_layer && status.ok(); ++i) {
    MambaLayerWeights& l = w.layers[i];
    auto read = [&](absl::string_view hf, absl::string_view gg, std::vector<int64_t> shape,
                    std::vector<float>& out) {
      if (status.ok()) status = reader.Read(names.Layer(i, hf, gg), shape, out);
    };
    read("norm.weight", "attn_norm.weight", {c.d_model}, l.norm);
    read("mixer.in_proj.weight", "ssm_in.weight", {2 * c.d_inner, c.d_model}, l.in_proj);
    read("mixer.conv1d.weight", "ssm_conv1d.weight", {c.d_inner, c.d_conv}, l.conv);
    read("mixer.x_proj.weight", "ssm_x.weight", {xdbc, c.d_inner}, l.x_proj);
    read("mixer.dt_proj.weight", "ssm_dt.weight", {c.d_inner, c.dt_rank}, l.dt_proj);
    read("mixer.dt_proj.bias", "ssm_dt.bias", {c.d_inner}, l.dt_proj_bias);
    read("mixer.A_log", "ssm_a", {c.d_inner, c.d_state}, l.a);
    read("mixer.D", "ssm_d", {c.d_inner}, l.d);
    read("mixer.out_proj.weight", "ssm_out.weight", {c.d_model, c.d_inner}, l.out_proj);
    if (c.use_conv_bias) {
      read("mixer.conv1d.bias", "ssm_conv1d.bias", {c.d_inner}, l.conv_bias);
    } else {
      l.conv_bias.assign(c.d_inner, 0.0f);
    }
    if (c.use_bias) {
      read("mixer.in_proj.bias", "ssm_in.bias", {2 * c.d_inner}, l.in_proj_bias);
      read("mixer.out_proj.bias", "ssm_out.bias", {c.d_model}, l.out_proj_bias);
    }
    if (status.ok() && !gguf) {
      // Hugging Face stores log(-A); llama.cpp stores A itself.
      if (absl::Status finite = CheckFinite(names.Layer(i, "mixer.A_log", ""), l.a); !finite.ok()) {
        return finite;
      }
      for (float& value : l.a) value = -std::exp(value);
    }
  }
  if (!status.ok()) return status;
  absl::StatusOr<std::unique_ptr<MambaModel>> model = FromWeights(std::move(config), std::move(w));
  if (!model.ok() && model.status().code() == absl::StatusCode::kInvalidArgument) {
    return absl::InvalidArgumentError(
        absl::StrCat(checkpoint.path(), ": ", model.status().message()));
  }
  return model;
}

absl::StatusOr<std::unique_ptr<MambaModel>> MambaModel::FromWeights(MambaConfig config,
                                                                    MambaWeights weights) {
  if (absl::Status valid = config.Validate(); !valid.ok()) return valid;
  if (weights.layers.size() != static_cast<size_t>(config.n_layer)) {
    return absl::InvalidArgumentError(absl::StrCat("Mamba weights have ", weights.layers.size(),
                                                   " layers, the config ", config.n_layer));
  }
  for (MambaLayerWeights& layer : weights.layers) {
    if (layer.conv_bias.empty()) layer.conv_bias.assign(config.d_inner, 0.0f);
  }
  config.tie_embeddings = weights.lm_head.empty();
  config.use_bias = !weights.layers.empty() && !weights.layers[0].in_proj_bias.empty();
  EVP_MD_CTX* hash = EVP_MD_CTX_new();
  EVP_DigestInit_ex(hash, EVP_sha256(), nullptr);
  const std::string header =
      absl::StrCat("mamba ", config.ToString(), " eps=", config.norm_epsilon);
  EVP_DigestUpdate(hash, header.data(), header.size());
  for (const NamedWeight& weight : ListWeights(config, weights)) {
    if (weight.optional && weight.values->empty()) continue;
    if (static_cast<int64_t>(weight.values->size()) != Product(weight.shape)) {
      EVP_MD_CTX_free(hash);
      return absl::InvalidArgumentError(
          absl::StrCat("weight ", weight.name, " has ", weight.values->size(),
                       " values, the config implies shape ", ShapeString(weight.shape)));
    }
    if (absl::Status finite = CheckFinite(weight.name, *weight.values); !finite.ok()) {
      EVP_MD_CTX_free(hash);
      return finite;
    }
    EVP_DigestUpdate(hash, weight.name.data(), weight.name.size());
    EVP_DigestUpdate(hash, weight.values->data(), weight.values->size() * sizeof(float));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int digest_length = 0;
  EVP_DigestFinal_ex(hash, digest, &digest_length);
  EVP_MD_CTX_free(hash);
  auto model = std::unique_ptr<MambaModel>(new MambaModel(std::move(config), std::move(weights)));
  model->fingerprint_ = absl::BytesToHexString(
      absl::string_view(reinterpret_cast<const char*>(digest), digest_length));
  return model;
}

std::vector<float> MambaModel::Forward(absl::Span<MambaState* const> states, const int32_t* tokens,
                                       int64_t length, bool all_positions) const {
  const MambaConfig& c = config_;
  const int64_t rows = static_cast<int64_t>(states.size()) * length;
  // x: [rows, d_model], the residual stream.
  std::vector<float> x(rows * c.d_model);
  for (int64_t r = 0; r < rows; ++r) {
    std::memcpy(&x[r * c.d_model], &weights_.embedding[tokens[r] * c.d_model],
                c.d_model * sizeof(float));
  }
  for (int layer = 0; layer < c.n_layer; ++layer) {
    Block(layer, states, length, x.data());
  }
  for (MambaState* state : states) state->position_ += length;

  // Final norm and head only on the rows whose logits are wanted.
  const int64_t out_rows = all_positions ? rows : static_cast<int64_t>(states.size());
  std::vector<float> normed(out_rows * c.d_model);
  for (int64_t o = 0; o < out_rows; ++o) {
    const int64_t r = all_positions ? o : o * length + length - 1;
    cpu::RmsNorm(&x[r * c.d_model], weights_.norm_f.data(), c.d_model, c.norm_epsilon,
                 &normed[o * c.d_model]);
  }
  const std::vector<float>& head = c.tie_embeddings ? weights_.embedding : weights_.lm_head;
  std::vector<float> logits(out_rows * c.vocab_size);
  cpu::Linear(normed.data(), out_rows, c.d_model, c.d_model, head.data(), c.vocab_size, nullptr,
              logits.data());
  return logits;
}

void MambaModel::Block(int layer, absl::Span<MambaState* const> states, int64_t length,
                       float* x) const {
  const MambaConfig& c = config_;
  const MambaLayerWeights& w = weights_.layers[layer];
  const int64_t batch = static_cast<int64_t>(states.size());
  const int64_t rows = batch * length;
  const int64_t di = c.d_inner, ds = c.d_state, dc = c.d_conv;
  const int64_t xdbc = c.dt_rank + 2 * ds;

  // x_n = RMSNorm(x): [rows, d_model]
  std::vector<float> normed(rows * c.d_model);
  for (int64_t r = 0; r < rows; ++r) {
    cpu::RmsNorm(x + r * c.d_model, w.norm.data(), c.d_model, c.norm_epsilon,
                 &normed[r * c.d_model]);
  }
  // [u, z] = in_proj(x_n): [rows, 2 * d_inner]; u is columns [0, di), z columns [di, 2 di).
  std::vector<float> uz(rows * 2 * di);
  cpu::Linear(normed.data(), rows, c.d_model, c.d_model, w.in_proj.data(), 2 * di,
              w.in_proj_bias.empty() ? nullptr : w.in_proj_bias.data(), uz.data());

  // Threads only pay off above this much work per loop; below it (decoding small models) the
  // cost of waking them, large on a busy machine, outweighs the work.
  constexpr int64_t kParallelWork = int64_t{1} << 17;

  // u = SiLU(causal depthwise conv1d(u)) with the state's last d_conv-1 inputs before t = 0.
  // u_conv: [rows, d_inner]
  std::vector<float> u_conv(rows * di);
  for (int64_t b = 0; b < batch; ++b) {
    float* conv_state = states[b]->conv[layer].data();  // [di, dc - 1]
    const float* u = &uz[b * length * 2 * di];
#pragma omp parallel for schedule(static) if (length * di * dc >= kParallelWork)
    for (int64_t ch = 0; ch < di; ++ch) {
      const float* weight = &w.conv[ch * dc];
      float* history = conv_state + ch * (dc - 1);
      for (int64_t t = 0; t < length; ++t) {
        float sum = w.conv_bias[ch];
        for (int64_t k = 0; k < dc; ++k) {
          const int64_t source = t - (dc - 1) + k;  // input time of tap k
          const float input = source < 0 ? history[dc - 1 + source] : u[source * 2 * di + ch];
          sum += weight[k] * input;
        }
        u_conv[(b * length + t) * di + ch] = cpu::Silu(sum);
      }
      // The new history: the last dc-1 inputs (older history first when length < dc-1).
      for (int64_t k = 0; k < dc - 1; ++k) {
        const int64_t source = length - (dc - 1) + k;
        history[k] = source < 0 ? history[k + length] : u[source * 2 * di + ch];
      }
    }
  }

  // [dt_low, B, C] = x_proj(u): [rows, dt_rank + 2 * d_state]
  std::vector<float> dbc(rows * xdbc);
  cpu::Linear(u_conv.data(), rows, di, di, w.x_proj.data(), xdbc, nullptr, dbc.data());
  // dt = softplus(dt_proj(dt_low)): [rows, d_inner]
  std::vector<float> dt(rows * di);
  cpu::Linear(dbc.data(), rows, c.dt_rank, xdbc, w.dt_proj.data(), di, w.dt_proj_bias.data(),
              dt.data());
  for (float& value : dt) value = cpu::Softplus(value);

  // Selective scan per channel; y = (C . h + D u) * SiLU(z) overwrites u_conv.
  for (int64_t b = 0; b < batch; ++b) {
    float* ssm = states[b]->ssm[layer].data();  // [di, ds]
#pragma omp parallel if (length * di * ds >= kParallelWork)
    {
      std::vector<float> decay(ds);
#pragma omp for schedule(static)
      for (int64_t ch = 0; ch < di; ++ch) {
        float* h = ssm + ch * ds;
        const float* a = &w.a[ch * ds];
        for (int64_t t = 0; t < length; ++t) {
          const int64_t r = b * length + t;
          const float delta = dt[r * di + ch];
          const float input = u_conv[r * di + ch];
          const float* b_t = &dbc[r * xdbc + c.dt_rank];
          const float* c_t = b_t + ds;
          for (int64_t s = 0; s < ds; ++s) decay[s] = delta * a[s];
          cpu::ExpInPlace(decay.data(), ds);
          const float delta_input = delta * input;
          float y = 0.0f;
          for (int64_t s = 0; s < ds; ++s) {
            h[s] = decay[s] * h[s] + delta_input * b_t[s];
            y += h[s] * c_t[s];
          }
          y += w.d[ch] * input;
          u_conv[r * di + ch] = y * cpu::Silu(uz[r * 2 * di + di + ch]);
        }
      }
    }
  }

  // x = x + out_proj(y)
  std::vector<float> out(rows * c.d_model);
  cpu::Linear(u_conv.data(), rows, di, di, w.out_proj.data(), c.d_model,
              w.out_proj_bias.empty() ? nullptr : w.out_proj_bias.data(), out.data());
  for (int64_t i = 0; i < rows * c.d_model; ++i) x[i] += out[i];
}

}  // namespace llive::backends::native
