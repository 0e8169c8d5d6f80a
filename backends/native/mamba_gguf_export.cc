// Mamba-1 to GGUF (llama.cpp's `mamba` architecture).
#include "backends/native/mamba_gguf_export.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "backends/native/gguf_writer.h"

namespace llive::backends::native {
namespace {

// llama.cpp's llama_token_type values.
constexpr int32_t kTokenNormal = 1;
constexpr int32_t kTokenUnused = 5;
constexpr int32_t kTokenControl = 3;
constexpr int32_t kTokenUserDefined = 4;

// general.file_type as llama.cpp numbers it (llama_ftype).
uint32_t FileType(DType store_as) {
  switch (store_as) {
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

struct Vocabulary {
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  std::vector<std::string> merges;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
};

absl::StatusOr<Vocabulary> ReadVocabulary(const std::string& path, int64_t rows) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read tokenizer ", path));
  std::stringstream text;
  text << in.rdbuf();
  nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::DataLossError(absl::StrCat(path, " is not valid JSON"));
  }
  const nlohmann::json& model = json["model"];
  if (!model.is_object() || model.value("type", "") != "BPE" || !model["vocab"].is_object()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, " is not a byte-level BPE tokenizer (model.type \"BPE\" with a vocab)"));
  }
  Vocabulary out;
  std::vector<bool> filled(rows, false);
  out.tokens.resize(rows);
  out.types.assign(rows, kTokenNormal);
  auto place = [&](const std::string& token, int64_t id, int32_t type) -> absl::Status {
    if (id < 0 || id >= rows) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " has token id ", id, " but the model has only ", rows, " embedding rows"));
    }
    out.tokens[id] = token;
    out.types[id] = type;
    filled[id] = true;
    return absl::OkStatus();
  };
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer()) return absl::DataLossError(absl::StrCat(path, ": bad vocab id"));
    if (absl::Status s = place(token, id.get<int64_t>(), kTokenNormal); !s.ok()) return s;
  }
  if (json.contains("added_tokens") && json["added_tokens"].is_array()) {
    for (const nlohmann::json& added : json["added_tokens"]) {
      if (!added.is_object() || !added["id"].is_number_integer() || !added["content"].is_string()) {
        return absl::DataLossError(absl::StrCat(path, ": bad added_tokens entry"));
      }
      const bool special = added.value("special", false);
      const std::string content = added["content"].get<std::string>();
      if (absl::Status s = place(content, added["id"].get<int64_t>(),
                                 special ? kTokenControl : kTokenUserDefined);
          !s.ok()) {
        return s;
      }
      if (special && content == "<|endoftext|>") {
        out.bos_id = out.eos_id = static_cast<int32_t>(added["id"].get<int64_t>());
      }
    }
  }
  for (int64_t id = 0; id < rows; ++id) {
    if (!filled[id]) {
      out.tokens[id] = absl::StrCat("[PAD", id, "]");
      out.types[id] = kTokenUnused;
    }
  }
  if (model["merges"].is_array()) {
    for (const nlohmann::json& merge : model["merges"]) {
      if (merge.is_string()) {
        out.merges.push_back(merge.get<std::string>());
      } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
                 merge[1].is_string()) {
        out.merges.push_back(merge[0].get<std::string>() + " " + merge[1].get<std::string>());
      } else {
        return absl::DataLossError(absl::StrCat(path, ": bad merges entry ", merge.dump()));
      }
    }
  }
  return out;
}

}  // namespace

absl::Status WriteMambaGguf(const MambaModel& model, const std::string& tokenizer_json,
                            const std::string& path, DType store_as, absl::string_view name) {
  const MambaConfig& c = model.config();
  const MambaWeights& w = model.weights();
  if (store_as != DType::kF32 && store_as != DType::kF16 && store_as != DType::kBF16 &&
      store_as != DType::kQ8_0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot store GGUF matrices as ", DTypeName(store_as), ": use F32, F16, BF16 or Q8_0"));
  }
  if (c.use_bias) {
    return absl::InvalidArgumentError(
        "the model has in_proj/out_proj biases (use_bias), which llama.cpp's mamba architecture "
        "does not have");
  }
  if (tokenizer_json.empty()) {
    return absl::FailedPreconditionError(
        "the model has no tokenizer.json, and llama.cpp needs a vocabulary in the GGUF; put the "
        "model's tokenizer.json beside its weights");
  }
  absl::StatusOr<Vocabulary> vocabulary = ReadVocabulary(tokenizer_json, c.vocab_size);
  if (!vocabulary.ok()) return vocabulary.status();

  GgufWriter writer;
  writer.Set("general.architecture", GgufValue::String("mamba"));
  writer.Set("general.name", GgufValue::String(std::string(name)));
  writer.Set("general.file_type", GgufValue::Uint32(FileType(store_as)));
  auto u32 = [](int64_t value) { return GgufValue::Uint32(static_cast<uint32_t>(value)); };
  writer.Set("mamba.context_length", u32(1 << 20));  // a recurrent model has no context limit
  writer.Set("mamba.embedding_length", u32(c.d_model));
  writer.Set("mamba.feed_forward_length", u32(0));   // required by llama.cpp's loader, unused
  writer.Set("mamba.attention.head_count", u32(0));  // likewise
  writer.Set("mamba.block_count", u32(c.n_layer));
  writer.Set("mamba.ssm.conv_kernel", u32(c.d_conv));
  writer.Set("mamba.ssm.inner_size", u32(c.d_inner));
  writer.Set("mamba.ssm.state_size", u32(c.d_state));
  writer.Set("mamba.ssm.time_step_rank", u32(c.dt_rank));
  writer.Set("mamba.attention.layer_norm_rms_epsilon", GgufValue::Float32(c.norm_epsilon));
  writer.Set("mamba.ssm.dt_b_c_rms", GgufValue::Bool(false));
  writer.Set("tokenizer.ggml.model", GgufValue::String("gpt2"));
  writer.Set("tokenizer.ggml.pre", GgufValue::String("gpt-2"));
  writer.Set("tokenizer.ggml.tokens", GgufValue::StringArray(vocabulary->tokens));
  writer.Set("tokenizer.ggml.token_type", GgufValue::Int32Array(vocabulary->types));
  writer.Set("tokenizer.ggml.merges", GgufValue::StringArray(vocabulary->merges));
  if (vocabulary->bos_id >= 0) {
    writer.Set("tokenizer.ggml.bos_token_id", u32(vocabulary->bos_id));
    writer.Set("tokenizer.ggml.eos_token_id", u32(vocabulary->eos_id));
  }

  absl::Status status;
  // Matrices in `store_as`; Q8_0 only where rows are whole blocks of 32.
  auto matrix = [&](const std::string& tensor, std::vector<int64_t> shape,
                    const std::vector<float>& values) {
    if (!status.ok()) return;
    DType type = store_as;
    if (type == DType::kQ8_0 && shape.back() % 32 != 0) type = DType::kF32;
    status = writer.AddFloat32Tensor(tensor, std::move(shape), values, type);
  };
  auto vector = [&](const std::string& tensor, std::vector<int64_t> shape,
                    const std::vector<float>& values) {
    if (status.ok())
      status = writer.AddFloat32Tensor(tensor, std::move(shape), values, DType::kF32);
  };
  matrix("token_embd.weight", {c.vocab_size, c.d_model}, w.embedding);
  for (int64_t i = 0; i < c.n_layer; ++i) {
    const MambaLayerWeights& l = w.layers[i];
    const std::string p = absl::StrCat("blk.", i, ".");
    vector(p + "attn_norm.weight", {c.d_model}, l.norm);
    matrix(p + "ssm_in.weight", {2 * c.d_inner, c.d_model}, l.in_proj);
    vector(p + "ssm_conv1d.weight", {c.d_inner, c.d_conv}, l.conv);
    vector(p + "ssm_conv1d.bias", {c.d_inner}, l.conv_bias);
    matrix(p + "ssm_x.weight", {c.dt_rank + 2 * c.d_state, c.d_inner}, l.x_proj);
    matrix(p + "ssm_dt.weight", {c.d_inner, c.dt_rank}, l.dt_proj);
    vector(p + "ssm_dt.bias", {c.d_inner}, l.dt_proj_bias);
    vector(p + "ssm_a", {c.d_inner, c.d_state}, l.a);
    vector(p + "ssm_d", {c.d_inner}, l.d);
    matrix(p + "ssm_out.weight", {c.d_model, c.d_inner}, l.out_proj);
  }
  vector("output_norm.weight", {c.d_model}, w.norm_f);
  if (!c.tie_embeddings) matrix("output.weight", {c.vocab_size, c.d_model}, w.lm_head);
  if (!status.ok()) return status;
  return writer.WriteFile(path);
}

}  // namespace llive::backends::native
