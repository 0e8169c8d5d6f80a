// RWKV-7 checkpoints in the two layouts llive reads. Each logical tensor has a Hugging Face
// name and a GGUF name; both store linear weights as [out, in] row-major (GGUF's reversed
// dimensions are already turned around by Checkpoint), so only names, a few squeezed unit
// dimensions and the fused lerp tensor differ.
#include "backends/native/rwkv7_weights.h"

#include <cmath>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/native/state_format.h"

namespace llive::backends::native {
namespace {

// Drops unit dimensions, so that [1, 1, D] matches [D].
std::vector<int64_t> Squeezed(const std::vector<int64_t>& shape) {
  std::vector<int64_t> out;
  for (int64_t dim : shape) {
    if (dim != 1) out.push_back(dim);
  }
  return out;
}

std::string ShapeText(const std::vector<int64_t>& shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ", "), "]");
}

class TensorReader {
 public:
  explicit TensorReader(const Checkpoint& checkpoint) : checkpoint_(checkpoint) {}

  bool Has(const std::string& name) const { return checkpoint_.Find(name) != nullptr; }

  // The tensor `name` as fp32, checked against `shape` (unit dimensions ignored). Several
  // accepted shapes may be given (r_k is [heads, head_size] in HF files and [D] in GGUF).
  absl::StatusOr<std::vector<float>> Read(const std::string& name,
                                          std::vector<std::vector<int64_t>> shapes) const {
    const TensorRef* tensor = checkpoint_.Find(name);
    if (tensor == nullptr) {
      return absl::NotFoundError(absl::StrCat(checkpoint_.path(), ": tensor ", name,
                                              " is missing; is this an RWKV-7 checkpoint?"));
    }
    bool matches = false;
    for (const auto& shape : shapes)
      matches = matches || Squeezed(tensor->shape) == Squeezed(shape);
    if (!matches) {
      return absl::InvalidArgumentError(absl::StrCat(checkpoint_.path(), ": tensor ", name,
                                                     " has shape ", ShapeText(tensor->shape),
                                                     ", expected ", ShapeText(shapes.front())));
    }
    absl::StatusOr<std::vector<float>> values = checkpoint_.ReadFloat32(*tensor);
    if (!values.ok()) return values.status();
    for (size_t i = 0; i < values->size(); ++i) {
      if (!std::isfinite((*values)[i])) {
        return absl::DataLossError(absl::StrCat(checkpoint_.path(), ": tensor ", name,
                                                " holds a NaN or infinite value at index ", i));
      }
    }
    return values;
  }

  // The leading dimension of `name` (the low-rank width of a down projection), or an error.
  absl::StatusOr<int64_t> Rows(const std::string& name) const {
    const TensorRef* tensor = checkpoint_.Find(name);
    if (tensor == nullptr) {
      return absl::NotFoundError(absl::StrCat(checkpoint_.path(), ": tensor ", name,
                                              " is missing; is this an RWKV-7 checkpoint?"));
    }
    if (tensor->shape.size() != 2) {
      return absl::InvalidArgumentError(absl::StrCat(checkpoint_.path(), ": tensor ", name,
                                                     " has shape ", ShapeText(tensor->shape),
                                                     ", expected two dimensions"));
    }
    return tensor->shape[0];
  }

 private:
  const Checkpoint& checkpoint_;
};

// The names one layout gives the tensors of layer `i`.
struct LayerNames {
  std::string attn_norm_weight, attn_norm_bias, ffn_norm_weight, ffn_norm_bias;
  std::string w0, w1, w2, a0, a1, a2, v0, v1, v2, g1, g2;
  std::string k_k, k_a, r_k, receptance, key, value, output, ln_x_weight, ln_x_bias;
  std::string ffn_lerp_k, ffn_key, ffn_value;
  std::string lerp_fused;          // GGUF: [6, 1, 1, D]
  std::vector<std::string> lerps;  // HF: x_r, x_w, x_k, x_v, x_a, x_g
  std::string lerp_stacked;        // HF version 1: x_x [6, 1, 1, D]
};

LayerNames HuggingFaceNames(int64_t i) {
  const std::string p = absl::StrCat("model.layers.", i, ".");
  const std::string a = p + "attn.";
  LayerNames n;
  n.attn_norm_weight = p + "attn_norm.weight";
  n.attn_norm_bias = p + "attn_norm.bias";
  n.ffn_norm_weight = p + "ffn_norm.weight";
  n.ffn_norm_bias = p + "ffn_norm.bias";
  n.w0 = a + "w_lora.lora.2.bias";
  n.w1 = a + "w_lora.lora.0.weight";
  n.w2 = a + "w_lora.lora.2.weight";
  n.a0 = a + "a_lora.lora.2.bias";
  n.a1 = a + "a_lora.lora.0.weight";
  n.a2 = a + "a_lora.lora.2.weight";
  n.v0 = a + "v_lora.lora.2.bias";
  n.v1 = a + "v_lora.lora.0.weight";
  n.v2 = a + "v_lora.lora.2.weight";
  n.g1 = a + "g_lora.lora.0.weight";
  n.g2 = a + "g_lora.lora.2.weight";
  n.k_k = a + "k_k";
  n.k_a = a + "k_a";
  n.r_k = a + "r_k";
  n.receptance = a + "r_proj.weight";
  n.key = a + "k_proj.weight";
  n.value = a + "v_proj.weight";
  n.output = a + "o_proj.weight";
  n.ln_x_weight = a + "g_norm.weight";
  n.ln_x_bias = a + "g_norm.bias";
  n.ffn_lerp_k = p + "ffn.x_k";
  n.ffn_key = p + "ffn.key.weight";
  n.ffn_value = p + "ffn.value.weight";
  for (const char* c : {"r", "w", "k", "v", "a", "g"}) n.lerps.push_back(a + "x_" + c);
  n.lerp_stacked = a + "x_x";
  return n;
}

LayerNames GgufNames(int64_t i) {
  const std::string p = absl::StrCat("blk.", i, ".");
  LayerNames n;
  n.attn_norm_weight = p + "attn_norm.weight";
  n.attn_norm_bias = p + "attn_norm.bias";
  n.ffn_norm_weight = p + "attn_norm_2.weight";
  n.ffn_norm_bias = p + "attn_norm_2.bias";
  n.w0 = p + "time_mix_w0.weight";
  n.w1 = p + "time_mix_w1.weight";
  n.w2 = p + "time_mix_w2.weight";
  n.a0 = p + "time_mix_a0.weight";
  n.a1 = p + "time_mix_a1.weight";
  n.a2 = p + "time_mix_a2.weight";
  n.v0 = p + "time_mix_v0.weight";
  n.v1 = p + "time_mix_v1.weight";
  n.v2 = p + "time_mix_v2.weight";
  n.g1 = p + "time_mix_g1.weight";
  n.g2 = p + "time_mix_g2.weight";
  n.k_k = p + "time_mix_k_k.weight";
  n.k_a = p + "time_mix_k_a.weight";
  n.r_k = p + "time_mix_r_k.weight";
  n.receptance = p + "time_mix_receptance.weight";
  n.key = p + "time_mix_key.weight";
  n.value = p + "time_mix_value.weight";
  n.output = p + "time_mix_output.weight";
  n.ln_x_weight = p + "time_mix_ln.weight";
  n.ln_x_bias = p + "time_mix_ln.bias";
  n.ffn_lerp_k = p + "channel_mix_lerp_k.weight";
  n.ffn_key = p + "channel_mix_key.weight";
  n.ffn_value = p + "channel_mix_value.weight";
  n.lerp_fused = p + "time_mix_lerp_fused.weight";
  return n;
}

// An integer size from the configuration, or InvalidArgument naming the key.
absl::StatusOr<int64_t> SizeFrom(const nlohmann::json& config, const std::string& key,
                                 const std::string& where, std::optional<int64_t> fallback) {
  auto it = config.find(key);
  if (it == config.end() || it->is_null()) {
    if (fallback.has_value()) return *fallback;
    return absl::InvalidArgumentError(absl::StrCat(where, " has no ", key));
  }
  if (!it->is_number_integer() || it->get<int64_t>() <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", key, " is ", it->dump(), ", expected a positive integer"));
  }
  return it->get<int64_t>();
}

float EpsFrom(const nlohmann::json& config, const std::string& key) {
  auto it = config.find(key);
  if (it == config.end() || !it->is_number()) return 1e-5f;
  return it->get<float>();
}

#define LLIVE_ASSIGN_OR_RETURN_IMPL(target, expr, tmp) \
  auto tmp = (expr);                                   \
  if (!tmp.ok()) return tmp.status();                  \
  target = *std::move(tmp)
#define LLIVE_CONCAT_INNER(a, b) a##b
#define LLIVE_CONCAT(a, b) LLIVE_CONCAT_INNER(a, b)
#define ASSIGN_OR_RETURN(target, expr) \
  LLIVE_ASSIGN_OR_RETURN_IMPL(target, expr, LLIVE_CONCAT(status_or_, __LINE__))

absl::StatusOr<Rwkv7Config> ReadConfig(const Checkpoint& checkpoint, const TensorReader& reader,
                                       bool gguf, const LayerNames& first,
                                       const LayerNames* second) {
  const nlohmann::json& cfg = checkpoint.config();
  Rwkv7Config c;
  if (gguf) {
    const std::string where = checkpoint.path();
    auto arch = cfg.find("general.architecture");
    if (arch == cfg.end() || !arch->is_string() || arch->get<std::string>() != "rwkv7") {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": general.architecture is ",
          arch == cfg.end() ? std::string("missing") : arch->dump(), ", expected \"rwkv7\""));
    }
    ASSIGN_OR_RETURN(c.d_model, SizeFrom(cfg, "rwkv7.embedding_length", where, std::nullopt));
    ASSIGN_OR_RETURN(c.n_layer, SizeFrom(cfg, "rwkv7.block_count", where, std::nullopt));
    ASSIGN_OR_RETURN(c.head_size, SizeFrom(cfg, "rwkv7.wkv.head_size", where, std::nullopt));
    ASSIGN_OR_RETURN(c.d_ffn, SizeFrom(cfg, "rwkv7.feed_forward_length", where, std::nullopt));
    c.norm_eps = EpsFrom(cfg, "rwkv7.attention.layer_norm_epsilon");
  } else {
    const std::string where = checkpoint.path() + "/config.json";
    auto type = cfg.find("model_type");
    if (type != cfg.end() && type->is_string() && type->get<std::string>() != "rwkv7" &&
        type->get<std::string>() != "rwkv7_fla") {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": model_type is ", type->dump(), ", expected \"rwkv7\""));
    }
    auto attn = cfg.find("attn");
    if (attn != cfg.end() && !attn->is_null()) {
      return absl::InvalidArgumentError(absl::StrCat(
          where, ": hybrid models with attention layers (\"attn\") are not supported"));
    }
    ASSIGN_OR_RETURN(c.d_model, SizeFrom(cfg, "hidden_size", where, std::nullopt));
    ASSIGN_OR_RETURN(c.n_layer, SizeFrom(cfg, "num_hidden_layers", where, std::nullopt));
    auto heads = cfg.find("num_heads");
    std::optional<int64_t> head_fallback = 64;
    if (heads != cfg.end() && heads->is_number_integer() && heads->get<int64_t>() > 0) {
      head_fallback = c.d_model / heads->get<int64_t>();
    }
    ASSIGN_OR_RETURN(c.head_size, SizeFrom(cfg, "head_dim", where, head_fallback));
    int64_t ratio = 4;
    auto ratio_it = cfg.find("hidden_ratio");
    if (ratio_it != cfg.end() && ratio_it->is_number_integer()) ratio = ratio_it->get<int64_t>();
    ASSIGN_OR_RETURN(
        c.d_ffn, SizeFrom(cfg, "intermediate_size", where, 32 * ((c.d_model * ratio + 31) / 32)));
    c.norm_eps = EpsFrom(cfg, "norm_eps");
  }
  if (c.head_size % 8 != 0 || c.head_size > 256 || c.d_model % c.head_size != 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(checkpoint.path(), ": head size ", c.head_size, " with model width ",
                     c.d_model, " is not supported (a multiple of 8 up to 256 that divides it)"));
  }
  ASSIGN_OR_RETURN(c.decay_rank, reader.Rows(first.w1));
  ASSIGN_OR_RETURN(c.iclr_rank, reader.Rows(first.a1));
  ASSIGN_OR_RETURN(c.gate_rank, reader.Rows(first.g1));
  if (second != nullptr) {
    ASSIGN_OR_RETURN(c.value_rank, reader.Rows(second->v1));
  }
  return c;
}

}  // namespace

absl::StatusOr<Rwkv7Weights> LoadRwkv7Weights(const Checkpoint& checkpoint) {
  const bool gguf = checkpoint.format() == Checkpoint::Format::kGguf;
  const TensorReader reader(checkpoint);
  auto names = [&](int64_t i) { return gguf ? GgufNames(i) : HuggingFaceNames(i); };
  const LayerNames first = names(0);
  const LayerNames second = names(1);
  Rwkv7Weights w;
  {
    // The number of layers is needed before layer 1's names mean anything.
    const nlohmann::json& cfg = checkpoint.config();
    const char* key = gguf ? "rwkv7.block_count" : "num_hidden_layers";
    auto it = cfg.find(key);
    const bool several = it != cfg.end() && it->is_number_integer() && it->get<int64_t>() > 1;
    ASSIGN_OR_RETURN(w.config,
                     ReadConfig(checkpoint, reader, gguf, first, several ? &second : nullptr));
  }
  Rwkv7Config& c = w.config;
  const int64_t d = c.d_model;
  const std::string embedding_name = gguf ? "token_embd.weight" : "model.embeddings.weight";
  const TensorRef* embedding = checkpoint.Find(embedding_name);
  if (embedding == nullptr || embedding->shape.size() != 2) {
    return absl::NotFoundError(absl::StrCat(checkpoint.path(), ": tensor ", embedding_name,
                                            " is missing or not a matrix"));
  }
  c.vocab_size = embedding->shape[0];
  const int64_t v = c.vocab_size;
  ASSIGN_OR_RETURN(w.embedding, reader.Read(embedding_name, {{v, d}}));
  const std::string ln0 = gguf ? "token_embd_norm." : "model.layers.0.pre_norm.";
  ASSIGN_OR_RETURN(w.ln0_weight, reader.Read(ln0 + "weight", {{d}}));
  ASSIGN_OR_RETURN(w.ln0_bias, reader.Read(ln0 + "bias", {{d}}));
  const std::string out_norm = gguf ? "output_norm." : "model.norm.";
  ASSIGN_OR_RETURN(w.ln_out_weight, reader.Read(out_norm + "weight", {{d}}));
  ASSIGN_OR_RETURN(w.ln_out_bias, reader.Read(out_norm + "bias", {{d}}));
  const std::string head_name = gguf ? "output.weight" : "lm_head.weight";
  if (reader.Has(head_name) || gguf) {
    ASSIGN_OR_RETURN(w.head, reader.Read(head_name, {{v, d}}));
  } else {
    w.head = w.embedding;  // tie_word_embeddings
  }

  const int64_t heads = c.n_head();
  const int64_t f = c.d_ffn;
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const LayerNames n = names(i);
    Rwkv7Layer& l = w.layers.emplace_back();
    ASSIGN_OR_RETURN(l.attn_norm_weight, reader.Read(n.attn_norm_weight, {{d}}));
    ASSIGN_OR_RETURN(l.attn_norm_bias, reader.Read(n.attn_norm_bias, {{d}}));
    ASSIGN_OR_RETURN(l.ffn_norm_weight, reader.Read(n.ffn_norm_weight, {{d}}));
    ASSIGN_OR_RETURN(l.ffn_norm_bias, reader.Read(n.ffn_norm_bias, {{d}}));
    if (gguf) {
      ASSIGN_OR_RETURN(l.lerp, reader.Read(n.lerp_fused, {{6, d}}));
    } else if (!reader.Has(n.lerps[0]) && reader.Has(n.lerp_stacked)) {
      ASSIGN_OR_RETURN(l.lerp, reader.Read(n.lerp_stacked, {{6, d}}));
    } else {
      for (const std::string& name : n.lerps) {
        std::vector<float> one;
        ASSIGN_OR_RETURN(one, reader.Read(name, {{d}}));
        l.lerp.insert(l.lerp.end(), one.begin(), one.end());
      }
    }
    ASSIGN_OR_RETURN(l.w0, reader.Read(n.w0, {{d}}));
    ASSIGN_OR_RETURN(l.w1, reader.Read(n.w1, {{c.decay_rank, d}}));
    ASSIGN_OR_RETURN(l.w2, reader.Read(n.w2, {{d, c.decay_rank}}));
    ASSIGN_OR_RETURN(l.a0, reader.Read(n.a0, {{d}}));
    ASSIGN_OR_RETURN(l.a1, reader.Read(n.a1, {{c.iclr_rank, d}}));
    ASSIGN_OR_RETURN(l.a2, reader.Read(n.a2, {{d, c.iclr_rank}}));
    if (i > 0) {  // layer 0 is where the residual values come from; it has no mix
      ASSIGN_OR_RETURN(l.v0, reader.Read(n.v0, {{d}}));
      ASSIGN_OR_RETURN(l.v1, reader.Read(n.v1, {{c.value_rank, d}}));
      ASSIGN_OR_RETURN(l.v2, reader.Read(n.v2, {{d, c.value_rank}}));
    }
    ASSIGN_OR_RETURN(l.g1, reader.Read(n.g1, {{c.gate_rank, d}}));
    ASSIGN_OR_RETURN(l.g2, reader.Read(n.g2, {{d, c.gate_rank}}));
    ASSIGN_OR_RETURN(l.k_k, reader.Read(n.k_k, {{d}}));
    ASSIGN_OR_RETURN(l.k_a, reader.Read(n.k_a, {{d}}));
    ASSIGN_OR_RETURN(l.r_k, reader.Read(n.r_k, {{heads, c.head_size}, {d}}));
    ASSIGN_OR_RETURN(l.receptance, reader.Read(n.receptance, {{d, d}}));
    ASSIGN_OR_RETURN(l.key, reader.Read(n.key, {{d, d}}));
    ASSIGN_OR_RETURN(l.value, reader.Read(n.value, {{d, d}}));
    ASSIGN_OR_RETURN(l.output, reader.Read(n.output, {{d, d}}));
    ASSIGN_OR_RETURN(l.ln_x_weight, reader.Read(n.ln_x_weight, {{d}}));
    ASSIGN_OR_RETURN(l.ln_x_bias, reader.Read(n.ln_x_bias, {{d}}));
    ASSIGN_OR_RETURN(l.ffn_lerp_k, reader.Read(n.ffn_lerp_k, {{d}}));
    ASSIGN_OR_RETURN(l.ffn_key, reader.Read(n.ffn_key, {{f, d}}));
    ASSIGN_OR_RETURN(l.ffn_value, reader.Read(n.ffn_value, {{d, f}}));
  }
  return w;
}

std::string Rwkv7Fingerprint(const Rwkv7Weights& w) {
  const Rwkv7Config& c = w.config;
  // One digest per tensor (no copy of the weights), then a digest of the shape and those.
  std::string summary =
      absl::StrCat("rwkv7 vocab=", c.vocab_size, " layers=", c.n_layer, " d=", c.d_model,
                   " head=", c.head_size, " ffn=", c.d_ffn, " ranks=", c.decay_rank, ",",
                   c.iclr_rank, ",", c.value_rank, ",", c.gate_rank, " eps=", c.norm_eps, "\n");
  auto add = [&summary](const std::vector<float>& values) {
    absl::StrAppend(&summary,
                    Sha256Hex(absl::string_view(reinterpret_cast<const char*>(values.data()),
                                                values.size() * sizeof(float))),
                    "\n");
  };
  for (const std::vector<float>* t : Rwkv7Tensors(w)) add(*t);
  return Sha256Hex(summary);
}

}  // namespace llive::backends::native
