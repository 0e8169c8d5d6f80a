// Mamba-1 to GGUF (llama.cpp's `mamba` architecture).
#include "backends/native/mamba_gguf_export.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "backends/native/gguf_bpe_vocabulary.h"
#include "backends/native/gguf_writer.h"

namespace llive::backends::native {
namespace {

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
  absl::StatusOr<GgufBpeVocabulary> vocabulary =
      ReadGgufBpeVocabulary(tokenizer_json, c.vocab_size);
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
  SetGgufBpeVocabulary(*vocabulary, writer);

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
