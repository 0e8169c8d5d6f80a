// The rwkv7 GGUF layout, as llama.cpp's loader (src/models/rwkv7.cpp: load_arch_tensors) and its
// converter (convert_hf_to_gguf.py, Rwkv7Model) define it. Shapes below are row-major
// (outermost first); GgufWriter reverses them into GGUF's order.
#include "backends/native/rwkv7_gguf_export.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "backends/native/gguf.h"
#include "backends/native/gguf_bpe_vocabulary.h"
#include "backends/native/gguf_writer.h"

namespace llive::backends::native {
namespace {

// GGUF's llama_ftype values for general.file_type.
uint32_t FileType(DType dtype) {
  switch (dtype) {
    case DType::kF16:
      return 1;
    case DType::kQ8_0:
      return 7;
    case DType::kBF16:
      return 32;
    default:
      return 0;
  }
}

// llama.cpp's token types.
constexpr int32_t kTokenNormal = 1;
constexpr int32_t kTokenControl = 3;
constexpr int32_t kTokenUnused = 5;

}  // namespace

std::string EscapeRwkvToken(absl::string_view bytes) {
  std::string out;
  for (unsigned char c : bytes) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c >= 0x20 && c < 0x7f) {
          out += static_cast<char>(c);
        } else {
          out += absl::StrFormat("\\x%02x", c);
        }
    }
  }
  return out;
}

namespace {

// The RWKV World vocabulary as llama.cpp's "rwkv" tokenizer.
void WriteWorldVocabulary(const Tokenizer& tokenizer, int64_t rows, GgufWriter& writer) {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (int64_t id = 0; id < rows; ++id) {
    const std::string bytes =
        id < tokenizer.vocab_size() ? tokenizer.TokenBytes(static_cast<int32_t>(id)) : "";
    if (id == 0) {
      tokens.push_back("<s>");
      types.push_back(kTokenControl);
    } else if (bytes.empty()) {
      tokens.push_back(absl::StrCat("[PAD", id, "]"));
      types.push_back(kTokenUnused);
    } else {
      tokens.push_back(EscapeRwkvToken(bytes));
      types.push_back(kTokenNormal);
    }
  }
  writer.Set("tokenizer.ggml.model", GgufValue::String("rwkv"));
  writer.Set("tokenizer.ggml.tokens", GgufValue::StringArray(tokens));
  writer.Set("tokenizer.ggml.token_type", GgufValue::Int32Array(types));
  writer.Set("tokenizer.ggml.bos_token_id", GgufValue::Uint32(0));
  writer.Set("tokenizer.ggml.eos_token_id", GgufValue::Uint32(0));
}

}  // namespace

absl::Status WriteRwkv7Gguf(const Rwkv7Weights& weights, const Tokenizer* tokenizer,
                            const std::string& path, DType store_as, absl::string_view name,
                            const std::string& bpe_tokenizer_json) {
  const Rwkv7Config& c = weights.config;
  if (store_as != DType::kF32 && store_as != DType::kF16 && store_as != DType::kBF16 &&
      store_as != DType::kQ8_0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot store an rwkv7 GGUF as ", DTypeName(store_as), "; use F32, F16, BF16 or Q8_0"));
  }
  absl::StatusOr<GgufBpeVocabulary> bpe;
  if (!bpe_tokenizer_json.empty()) {
    bpe = ReadGgufBpeVocabulary(bpe_tokenizer_json, c.vocab_size);
    if (!bpe.ok()) return bpe.status();
  } else if (tokenizer == nullptr) {
    return absl::FailedPreconditionError(
        "the model has no tokenizer, and llama.cpp needs one in the GGUF; put "
        "rwkv_vocab_v20230424.txt beside config.json");
  }
  if (bpe_tokenizer_json.empty() && tokenizer->vocab_size() > c.vocab_size) {
    return absl::FailedPreconditionError(absl::StrCat("the tokenizer has ", tokenizer->vocab_size(),
                                                      " tokens but the model only ", c.vocab_size,
                                                      " embedding rows"));
  }

  GgufWriter writer;
  const std::string arch = "rwkv7";
  writer.Set("general.architecture", GgufValue::String(arch));
  writer.Set("general.name", GgufValue::String(std::string(name)));
  writer.Set("general.file_type", GgufValue::Uint32(FileType(store_as)));
  auto key = [&arch](absl::string_view k) { return absl::StrCat(arch, ".", k); };
  writer.Set(key("context_length"), GgufValue::Uint32(1048576));  // not context-limited
  writer.Set(key("embedding_length"), GgufValue::Uint32(static_cast<uint32_t>(c.d_model)));
  writer.Set(key("block_count"), GgufValue::Uint32(static_cast<uint32_t>(c.n_layer)));
  writer.Set(key("feed_forward_length"), GgufValue::Uint32(static_cast<uint32_t>(c.d_ffn)));
  writer.Set(key("attention.layer_norm_epsilon"), GgufValue::Float32(c.norm_eps));
  writer.Set(key("attention.head_count"), GgufValue::Uint32(0));  // required, unused
  writer.Set(key("wkv.head_size"), GgufValue::Uint32(static_cast<uint32_t>(c.head_size)));
  writer.Set(key("attention.decay_lora_rank"),
             GgufValue::Uint32(static_cast<uint32_t>(c.decay_rank)));
  writer.Set(key("attention.iclr_lora_rank"),
             GgufValue::Uint32(static_cast<uint32_t>(c.iclr_rank)));
  writer.Set(key("attention.value_residual_mix_lora_rank"),
             GgufValue::Uint32(static_cast<uint32_t>(c.value_rank)));
  writer.Set(key("attention.gate_lora_rank"),
             GgufValue::Uint32(static_cast<uint32_t>(c.gate_rank)));
  writer.Set(key("token_shift_count"), GgufValue::Uint32(2));

  if (bpe.ok()) {
    SetGgufBpeVocabulary(*bpe, writer);
  } else {
    WriteWorldVocabulary(*tokenizer, c.vocab_size, writer);
  }

  const int64_t d = c.d_model;
  const int64_t v = c.vocab_size;
  const int64_t f = c.d_ffn;
  // Matrices in the chosen type, vectors always in F32.
  auto matrix = [&](const std::string& tensor, std::vector<int64_t> shape,
                    const std::vector<float>& values) {
    return writer.AddFloat32Tensor(tensor, std::move(shape), values, store_as);
  };
  auto vector = [&](const std::string& tensor, std::vector<int64_t> shape,
                    const std::vector<float>& values) {
    return writer.AddFloat32Tensor(tensor, std::move(shape), values, DType::kF32);
  };
  std::vector<absl::Status> results;
  results.push_back(matrix("token_embd.weight", {v, d}, weights.embedding));
  results.push_back(vector("token_embd_norm.weight", {d}, weights.ln0_weight));
  results.push_back(vector("token_embd_norm.bias", {d}, weights.ln0_bias));
  results.push_back(vector("output_norm.weight", {d}, weights.ln_out_weight));
  results.push_back(vector("output_norm.bias", {d}, weights.ln_out_bias));
  results.push_back(matrix("output.weight", {v, d}, weights.head));
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const Rwkv7Layer& l = weights.layers[i];
    const std::string p = absl::StrCat("blk.", i, ".");
    results.push_back(vector(p + "attn_norm.weight", {d}, l.attn_norm_weight));
    results.push_back(vector(p + "attn_norm.bias", {d}, l.attn_norm_bias));
    results.push_back(vector(p + "attn_norm_2.weight", {d}, l.ffn_norm_weight));
    results.push_back(vector(p + "attn_norm_2.bias", {d}, l.ffn_norm_bias));
    results.push_back(vector(p + "time_mix_w0.weight", {d}, l.w0));
    results.push_back(matrix(p + "time_mix_w1.weight", {c.decay_rank, d}, l.w1));
    results.push_back(matrix(p + "time_mix_w2.weight", {d, c.decay_rank}, l.w2));
    results.push_back(vector(p + "time_mix_a0.weight", {d}, l.a0));
    results.push_back(matrix(p + "time_mix_a1.weight", {c.iclr_rank, d}, l.a1));
    results.push_back(matrix(p + "time_mix_a2.weight", {d, c.iclr_rank}, l.a2));
    if (i == 0) {
      // llama.cpp wants v0/v1/v2 in layer 0 too, shaped like a0/a1/a2, and never uses them;
      // its converter writes copies of the a tensors there.
      results.push_back(vector(p + "time_mix_v0.weight", {d}, l.a0));
      results.push_back(matrix(p + "time_mix_v1.weight", {c.iclr_rank, d}, l.a1));
      results.push_back(matrix(p + "time_mix_v2.weight", {d, c.iclr_rank}, l.a2));
    } else {
      results.push_back(vector(p + "time_mix_v0.weight", {d}, l.v0));
      results.push_back(matrix(p + "time_mix_v1.weight", {c.value_rank, d}, l.v1));
      results.push_back(matrix(p + "time_mix_v2.weight", {d, c.value_rank}, l.v2));
    }
    results.push_back(matrix(p + "time_mix_g1.weight", {c.gate_rank, d}, l.g1));
    results.push_back(matrix(p + "time_mix_g2.weight", {d, c.gate_rank}, l.g2));
    results.push_back(vector(p + "time_mix_lerp_fused.weight", {6, 1, 1, d}, l.lerp));
    results.push_back(vector(p + "time_mix_k_k.weight", {d}, l.k_k));
    results.push_back(vector(p + "time_mix_k_a.weight", {d}, l.k_a));
    results.push_back(vector(p + "time_mix_r_k.weight", {d}, l.r_k));
    results.push_back(matrix(p + "time_mix_key.weight", {d, d}, l.key));
    results.push_back(matrix(p + "time_mix_value.weight", {d, d}, l.value));
    results.push_back(matrix(p + "time_mix_receptance.weight", {d, d}, l.receptance));
    results.push_back(vector(p + "time_mix_ln.weight", {d}, l.ln_x_weight));
    results.push_back(vector(p + "time_mix_ln.bias", {d}, l.ln_x_bias));
    results.push_back(matrix(p + "time_mix_output.weight", {d, d}, l.output));
    results.push_back(vector(p + "channel_mix_lerp_k.weight", {1, 1, d}, l.ffn_lerp_k));
    results.push_back(matrix(p + "channel_mix_key.weight", {f, d}, l.ffn_key));
    results.push_back(matrix(p + "channel_mix_value.weight", {d, f}, l.ffn_value));
  }
  for (const absl::Status& s : results) {
    if (!s.ok()) return s;
  }
  return writer.WriteFile(path);
}

}  // namespace llive::backends::native
