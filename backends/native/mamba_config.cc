// Parsing Mamba hyper-parameters from the two checkpoint layouts llive reads.
#include "backends/native/mamba_config.h"

#include <initializer_list>

#include "absl/strings/str_cat.h"

namespace llive::backends::native {
namespace {

using nlohmann::json;

// The first of `keys` present in `config`, or null.
const json* FindKey(const json& config, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    auto it = config.find(key);
    if (it != config.end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

absl::StatusOr<int64_t> ReadInteger(const json& config, std::initializer_list<const char*> keys,
                                    absl::string_view source) {
  const json* value = FindKey(config, keys);
  if (value == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, " has no '", *keys.begin(), "': is this a Mamba model?"));
  }
  if (!value->is_number_integer()) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, " key '", *keys.begin(), "' must be an integer, got ", value->dump()));
  }
  return value->get<int64_t>();
}

}  // namespace

absl::StatusOr<MambaConfig> MambaConfig::FromHuggingFace(const json& config) {
  constexpr absl::string_view kSource = "config.json";
  if (!config.is_object()) return absl::InvalidArgumentError("config.json is not a JSON object");
  const std::string model_type = config.value("model_type", std::string("mamba"));
  if (model_type != "mamba") {
    return absl::InvalidArgumentError(absl::StrCat(
        "config.json model_type '", model_type,
        "' is not supported by the mamba backend (it runs Mamba-1, model_type 'mamba')"));
  }
  if (config.contains("hidden_act") && config["hidden_act"] != "silu") {
    return absl::InvalidArgumentError(absl::StrCat("config.json hidden_act ",
                                                   config["hidden_act"].dump(),
                                                   " is not supported (Mamba-1 uses \"silu\")"));
  }
  MambaConfig out;
  absl::StatusOr<int64_t> value = ReadInteger(config, {"hidden_size", "d_model"}, kSource);
  if (!value.ok()) return value.status();
  out.d_model = *value;
  value = ReadInteger(config, {"num_hidden_layers", "n_layer"}, kSource);
  if (!value.ok()) return value.status();
  out.n_layer = *value;
  value = ReadInteger(config, {"vocab_size"}, kSource);
  if (!value.ok()) return value.status();
  out.vocab_size = *value;
  if (FindKey(config, {"state_size", "d_state"}) != nullptr) {
    value = ReadInteger(config, {"state_size", "d_state"}, kSource);
    if (!value.ok()) return value.status();
    out.d_state = *value;
  }
  if (FindKey(config, {"conv_kernel", "d_conv"}) != nullptr) {
    value = ReadInteger(config, {"conv_kernel", "d_conv"}, kSource);
    if (!value.ok()) return value.status();
    out.d_conv = *value;
  }
  int64_t expand = 2;
  if (FindKey(config, {"expand"}) != nullptr) {
    value = ReadInteger(config, {"expand"}, kSource);
    if (!value.ok()) return value.status();
    expand = *value;
  }
  out.d_inner = expand * out.d_model;
  if (FindKey(config, {"intermediate_size", "d_inner"}) != nullptr) {
    value = ReadInteger(config, {"intermediate_size", "d_inner"}, kSource);
    if (!value.ok()) return value.status();
    out.d_inner = *value;
  }
  const json* dt_rank = FindKey(config, {"time_step_rank", "dt_rank"});
  if (dt_rank == nullptr || (dt_rank->is_string() && *dt_rank == "auto")) {
    out.dt_rank = (out.d_model + 15) / 16;
  } else {
    value = ReadInteger(config, {"time_step_rank", "dt_rank"}, kSource);
    if (!value.ok()) return value.status();
    out.dt_rank = *value;
  }
  if (const json* eps = FindKey(config, {"layer_norm_epsilon", "rms_norm_eps"}); eps != nullptr) {
    if (!eps->is_number()) {
      return absl::InvalidArgumentError("config.json layer_norm_epsilon must be a number");
    }
    out.norm_epsilon = eps->get<float>();
  }
  out.use_bias = config.value("use_bias", false);
  out.use_conv_bias = config.value("use_conv_bias", true);
  out.tie_embeddings = config.value("tie_word_embeddings", true);
  if (absl::Status valid = out.Validate(); !valid.ok()) return valid;
  return out;
}

absl::StatusOr<MambaConfig> MambaConfig::FromGguf(const json& metadata) {
  constexpr absl::string_view kSource = "GGUF metadata";
  const std::string architecture = metadata.value("general.architecture", std::string());
  if (architecture != "mamba") {
    return absl::InvalidArgumentError(
        absl::StrCat("GGUF general.architecture is '", architecture,
                     "', the mamba backend reads 'mamba' (Mamba-1) files"));
  }
  if (metadata.value("mamba.ssm.dt_b_c_rms", false)) {
    return absl::InvalidArgumentError(
        "GGUF mamba.ssm.dt_b_c_rms is true (Falcon Mamba): that variant is not supported");
  }
  MambaConfig out;
  struct Field {
    const char* key;
    int64_t* target;
  };
  for (const Field& field :
       {Field{"mamba.embedding_length", &out.d_model}, Field{"mamba.block_count", &out.n_layer},
        Field{"mamba.ssm.state_size", &out.d_state}, Field{"mamba.ssm.inner_size", &out.d_inner},
        Field{"mamba.ssm.conv_kernel", &out.d_conv},
        Field{"mamba.ssm.time_step_rank", &out.dt_rank}}) {
    absl::StatusOr<int64_t> value = ReadInteger(metadata, {field.key}, kSource);
    if (!value.ok()) return value.status();
    *field.target = *value;
  }
  if (const json* eps = FindKey(metadata, {"mamba.attention.layer_norm_rms_epsilon"});
      eps != nullptr && eps->is_number()) {
    out.norm_epsilon = eps->get<float>();
  }
  // Sizes that GGUF does not state are implied by the tensors (vocabulary, biases, tying);
  // the loader fills them in.
  out.use_bias = false;
  out.use_conv_bias = true;
  return out;
}

absl::Status MambaConfig::Validate() const {
  struct Field {
    const char* name;
    int64_t value;
  };
  for (const Field& field : {Field{"hidden_size", d_model}, Field{"num_hidden_layers", n_layer},
                             Field{"state_size", d_state}, Field{"intermediate_size", d_inner},
                             Field{"conv_kernel", d_conv}, Field{"time_step_rank", dt_rank},
                             Field{"vocab_size", vocab_size}}) {
    // 1 << 20 bounds every size so that products of sizes stay far from overflow.
    if (field.value <= 0 || field.value > (int64_t{1} << 20)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Mamba config ", field.name, " = ", field.value, " is out of range"));
    }
  }
  if (!(norm_epsilon > 0.0f)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Mamba config layer_norm_epsilon = ", norm_epsilon, " must be positive"));
  }
  return absl::OkStatus();
}

std::string MambaConfig::ToString() const {
  return absl::StrCat("d_model=", d_model, " n_layer=", n_layer, " d_state=", d_state,
                      " d_inner=", d_inner, " d_conv=", d_conv, " dt_rank=", dt_rank,
                      " vocab=", vocab_size);
}

}  // namespace llive::backends::native
