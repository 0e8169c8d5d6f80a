// `llive model info PATH`, `llive model convert HF_DIR --to gguf OUT` and `llive model run`:
// what a model file holds, Hugging Face checkpoints rewritten as GGUF for llama.cpp, and
// generation from a prompt file with a native model (reporting prefill and decode speeds).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/backend_spec.h"
#include "backends/native/byte_level_bpe_tokenizer.h"
#include "backends/native/checkpoint.h"
#include "backends/native/dtype.h"
#include "backends/native/gguf.h"
#include "backends/native/gguf_writer.h"
#include "backends/native/mamba_gguf_export.h"
#include "backends/native/mamba_model.h"
#include "backends/native/mapped_file.h"
#include "backends/native/rwkv7_backend.h"
#include "backends/native/rwkv7_gguf_export.h"
#include "backends/native/rwkv_world_tokenizer.h"
#include "backends/native/tokenizer_factory.h"
#include "backends/native_backend_registry.h"
#include "runtime/cli/cli.h"
#include "runtime/cli/command_settings.h"

namespace llive::cli {
namespace {

namespace native = backends::native;

struct TensorSummary {
  std::string name;
  std::string dtype;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
};

// Metadata for display: arrays longer than 8 items are summarised, not listed.
nlohmann::json Summarise(const nlohmann::json& value) {
  if (value.is_array() && value.size() > 8) {
    return absl::StrCat("[", value.size(), " items]");
  }
  return value;
}

nlohmann::json DescribeTokenizer(const absl::StatusOr<std::unique_ptr<native::Tokenizer>>& t) {
  if (!t.ok()) {
    return {{"kind", "none"}, {"status", std::string(t.status().message())}};
  }
  const native::Tokenizer& tokenizer = **t;
  std::string kind =
      dynamic_cast<const native::ByteLevelBpeTokenizer*>(&tokenizer) != nullptr ? "byte-level BPE"
      : dynamic_cast<const native::RwkvWorldTokenizer*>(&tokenizer) != nullptr  ? "RWKV World"
                                                                                : "other";
  return {{"kind", kind},
          {"vocab_size", tokenizer.vocab_size()},
          {"bos_id", tokenizer.bos_id()},
          {"eos_id", tokenizer.eos_id()}};
}

// Everything `model info` prints, as JSON. GGUF files are read with the parser directly so
// that files with quantization types llive cannot load still show what they hold.
absl::StatusOr<nlohmann::json> ModelInfo(const std::string& path) {
  nlohmann::json info = {{"path", path}};
  std::vector<TensorSummary> tensors;
  nlohmann::json metadata = nlohmann::json::object();
  char magic[4] = {};
  std::ifstream(path, std::ios::binary).read(magic, sizeof(magic));
  if (absl::string_view(magic, 4) == "GGUF") {
    absl::StatusOr<std::unique_ptr<native::MappedFile>> file = native::MappedFile::Open(path);
    if (!file.ok()) return file.status();
    absl::StatusOr<native::GgufContents> gguf =
        native::ParseGguf((*file)->data(), (*file)->size(), path);
    if (!gguf.ok()) return gguf.status();
    info["format"] = "gguf";
    info["gguf_version"] = gguf->version;
    info["alignment"] = gguf->alignment;
    for (const auto& [key, value] : gguf->metadata) metadata[key] = value.ToJson();
    for (const native::GgufTensorInfo& tensor : gguf->tensors) {
      std::optional<native::GgmlTypeTraits> traits = native::GgmlType(tensor.ggml_type);
      tensors.push_back({tensor.name, std::string(traits->name),
                         std::vector<int64_t>(tensor.dims.rbegin(), tensor.dims.rend()),
                         tensor.bytes});
    }
    auto architecture = metadata.find("general.architecture");
    info["architecture"] = architecture != metadata.end() && architecture->is_string()
                               ? architecture->get<std::string>()
                               : "unknown";
    info["tokenizer"] = DescribeTokenizer(native::TokenizerFromGgufMetadata(metadata, path));
  } else {
    absl::StatusOr<std::unique_ptr<native::Checkpoint>> checkpoint = native::Checkpoint::Open(path);
    if (!checkpoint.ok()) return checkpoint.status();
    info["format"] = "huggingface";
    metadata = (*checkpoint)->config();
    for (const native::TensorRef* tensor : (*checkpoint)->Tensors()) {
      tensors.push_back({tensor->name, std::string(native::DTypeName(tensor->dtype)), tensor->shape,
                         tensor->bytes});
    }
    std::string architecture = "unknown";
    if (metadata.contains("model_type") && metadata["model_type"].is_string()) {
      architecture = metadata["model_type"].get<std::string>();
    } else if (metadata.contains("architectures") && metadata["architectures"].is_array() &&
               !metadata["architectures"].empty() && metadata["architectures"][0].is_string()) {
      architecture = metadata["architectures"][0].get<std::string>();
    }
    info["architecture"] = architecture;
    info["tokenizer"] = DescribeTokenizer((*checkpoint)->LoadTokenizer());
  }
  uint64_t parameters = 0, bytes = 0;
  std::map<std::string, size_t> dtypes;
  nlohmann::json tensor_list = nlohmann::json::array();
  for (const TensorSummary& tensor : tensors) {
    uint64_t elements = 1;
    for (int64_t dim : tensor.shape) elements *= static_cast<uint64_t>(dim);
    parameters += elements;
    bytes += tensor.bytes;
    ++dtypes[tensor.dtype];
    tensor_list.push_back({{"name", tensor.name},
                           {"dtype", tensor.dtype},
                           {"shape", tensor.shape},
                           {"bytes", tensor.bytes}});
  }
  info["parameters"] = parameters;
  info["tensor_bytes"] = bytes;
  info["dtypes"] = dtypes;
  info["tensor_count"] = tensors.size();
  info["tensors"] = std::move(tensor_list);
  nlohmann::json shown = nlohmann::json::object();
  for (const auto& [key, value] : metadata.items()) shown[key] = Summarise(value);
  info["metadata"] = std::move(shown);
  return info;
}

std::string Dump(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void PrintInfo(const nlohmann::json& info) {
  std::cout << "path          " << info["path"].get<std::string>() << "\n";
  std::cout << "format        " << info["format"].get<std::string>();
  if (info.contains("gguf_version")) {
    std::cout << " (version " << info["gguf_version"] << ", alignment " << info["alignment"] << ")";
  }
  std::cout << "\narchitecture  " << info["architecture"].get<std::string>() << "\n";
  std::cout << "parameters    " << info["parameters"] << " in " << info["tensor_count"]
            << " tensors, " << info["tensor_bytes"] << " bytes\n";
  std::vector<std::string> dtypes;
  for (const auto& [dtype, count] : info["dtypes"].items()) {
    dtypes.push_back(absl::StrCat(dtype, " x", count.get<size_t>()));
  }
  std::cout << "dtypes        " << absl::StrJoin(dtypes, ", ") << "\n";
  const nlohmann::json& tokenizer = info["tokenizer"];
  std::cout << "tokenizer     " << tokenizer["kind"].get<std::string>();
  if (tokenizer.contains("vocab_size")) {
    std::cout << ", " << tokenizer["vocab_size"] << " tokens, bos " << tokenizer["bos_id"]
              << ", eos " << tokenizer["eos_id"];
  } else {
    std::cout << " (" << tokenizer["status"].get<std::string>() << ")";
  }
  std::cout << "\nmetadata\n";
  for (const auto& [key, value] : info["metadata"].items()) {
    std::cout << "  " << key << " = " << Dump(value) << "\n";
  }
  std::cout << "tensors\n";
  for (const nlohmann::json& tensor : info["tensors"]) {
    std::cout << "  " << tensor["name"].get<std::string>() << "  "
              << tensor["dtype"].get<std::string>() << "  " << Dump(tensor["shape"]) << "\n";
  }
}

// A converter writes the GGUF file `output` from a Hugging Face checkpoint of its architecture
// at `input`, storing 2-D weights as `store_as`; each model's issue adds its line to
// Converters().
using Converter = absl::Status (*)(const std::string& input, const native::Checkpoint& checkpoint,
                                   native::DType store_as, const std::string& output);

absl::Status ConvertMamba(const std::string& input, const native::Checkpoint& checkpoint,
                          native::DType store_as, const std::string& output) {
  absl::StatusOr<std::unique_ptr<native::MambaModel>> model = native::MambaModel::Load(checkpoint);
  if (!model.ok()) return model.status();
  const std::filesystem::path tokenizer = std::filesystem::path(input) / "tokenizer.json";
  return native::WriteMambaGguf(**model,
                                std::filesystem::exists(tokenizer) ? tokenizer.string() : "",
                                output, store_as, std::filesystem::path(input).filename().string());
}

// RWKV-7 (-HF folders): the weights and the RWKV World vocabulary beside them.
absl::Status ConvertRwkv7(const std::string& input, const native::Checkpoint& checkpoint,
                          native::DType store_as, const std::string& output) {
  auto model = native::Rwkv7Backend::Open(input);
  if (!model.ok()) return model.status();
  // A model that tokenizes with a byte-level BPE tokenizer.json keeps it in the GGUF.
  const std::filesystem::path bpe = std::filesystem::path(input) / "tokenizer.json";
  std::error_code error;
  return native::WriteRwkv7Gguf((*model)->weights(), (*model)->tokenizer(), output, store_as,
                                std::filesystem::path(input).filename().string(),
                                std::filesystem::exists(bpe, error) ? bpe.string() : "");
}

const std::map<std::string, Converter>& Converters() {
  static const std::map<std::string, Converter> converters = {
      {"mamba", ConvertMamba}, {"rwkv7", ConvertRwkv7}, {"rwkv7_fla", ConvertRwkv7}};
  return converters;
}

struct ConvertOptions {
  std::string input;
  std::string to = "gguf";
  std::string output;
  std::string type = "f32";
};

// The model_type converted, or why not.
absl::StatusOr<std::string> Convert(const ConvertOptions& options) {
  if (options.to != "gguf") {
    return absl::InvalidArgumentError(
        absl::StrCat("--to ", options.to, " is not a format llive writes; use --to gguf"));
  }
  std::optional<native::DType> store_as;
  for (native::DType dtype :
       {native::DType::kF32, native::DType::kF16, native::DType::kBF16, native::DType::kQ8_0}) {
    std::string name(native::DTypeName(dtype));
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    if (name == options.type) store_as = dtype;
  }
  if (!store_as.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--type ", options.type, " is not one of f32, f16, bf16, q8_0"));
  }
  absl::StatusOr<std::unique_ptr<native::Checkpoint>> checkpoint =
      native::Checkpoint::Open(options.input);
  if (!checkpoint.ok()) return checkpoint.status();
  if ((*checkpoint)->format() != native::Checkpoint::Format::kHuggingFace) {
    return absl::InvalidArgumentError(
        absl::StrCat(options.input, " is already GGUF; convert takes a Hugging Face folder"));
  }
  const nlohmann::json& config = (*checkpoint)->config();
  std::string architecture = config.contains("model_type") && config["model_type"].is_string()
                                 ? config["model_type"].get<std::string>()
                                 : "unknown";
  auto converter = Converters().find(architecture);
  if (converter == Converters().end()) {
    std::vector<std::string> known;
    for (const auto& [name, unused] : Converters()) known.push_back(name);
    return absl::InvalidArgumentError(absl::StrCat(
        "llive cannot convert model_type \"", architecture, "\" (from ", options.input,
        "/config.json); it converts: ", known.empty() ? "none yet" : absl::StrJoin(known, ", ")));
  }
  // From here on a failure is the checkpoint's, not the command line's.
  if (absl::Status s = converter->second(options.input, **checkpoint, *store_as, options.output);
      !s.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("converting ", options.input, " (",
                                                      architecture, ") to ", options.output, ": ",
                                                      s.message()));
  }
  return architecture;
}

struct RunFlags {
  std::string backend;
  std::string prompt_file;
  std::vector<std::string> stop;
  bool stream = false;
  int max_tokens = 128;
  float temperature = 0.0f;
  float top_p = 1.0f;
  int top_k = 0;
  float repetition_penalty = 1.0f;
  std::optional<uint64_t> seed;
  int threads = 0;
  std::string device;  // empty: backend.device
};

void RunModel(CliContext& context, const RunFlags& flags) {
  std::ifstream in(flags.prompt_file, std::ios::binary);
  if (!in) {
    return ReportError(context, absl::NotFoundError(
                                    absl::StrCat("cannot read --prompt-file ", flags.prompt_file)));
  }
  std::stringstream prompt;
  prompt << in.rdbuf();
  backends::NativeBackendOptions options;
  options.threads = flags.threads;
  options.device = flags.device;
  auto backend = OpenStatefulModel(context, flags.backend, options);
  if (!backend.ok()) {
    return ReportError(
        context, backend.status(),
        backend.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure);
  }
  backends::GenerateRequest request;
  request.prompt = prompt.str();
  request.max_tokens = flags.max_tokens;
  request.temperature = flags.temperature;
  request.top_p = flags.top_p;
  request.top_k = flags.top_k;
  request.repetition_penalty = flags.repetition_penalty;
  request.stop = flags.stop;
  request.seed = flags.seed;
  backends::StreamCallback on_text;
  if (flags.stream && !context.json) {
    on_text = [](absl::string_view delta) {
      std::cout << delta << std::flush;
      return true;
    };
  }
  auto response = (*backend)->Generate(request, on_text);
  if (!response.ok()) return ReportError(context, response.status());
  const double prefill_rate =
      response->timings.prompt_ms > 0
          ? response->usage.prompt_tokens * 1000.0 / response->timings.prompt_ms
          : 0.0;
  const double decode_rate =
      response->timings.generation_ms > 0
          ? response->usage.completion_tokens * 1000.0 / response->timings.generation_ms
          : 0.0;
  if (context.json) {
    std::cout << nlohmann::json(
                     {{"text", response->text},
                      {"finish_reason", std::string(FinishReasonName(response->finish_reason))},
                      {"backend", response->backend},
                      {"prompt_tokens", response->usage.prompt_tokens},
                      {"completion_tokens", response->usage.completion_tokens},
                      {"prefill_tokens_per_second", prefill_rate},
                      {"decode_tokens_per_second", decode_rate}})
                     .dump(2, ' ', false, nlohmann::json::error_handler_t::replace)
              << "\n";
    return;
  }
  if (!flags.stream) std::cout << response->text;
  std::cout << "\n";
  std::cerr << absl::StrCat("llive: ", response->usage.prompt_tokens, " prompt tokens at ",
                            static_cast<int64_t>(prefill_rate), " tok/s, ",
                            response->usage.completion_tokens, " generated at ",
                            static_cast<int64_t>(decode_rate), " tok/s (",
                            FinishReasonName(response->finish_reason), ")\n");
}

void RegisterModelRunCommand(CLI::App& model, CliContext& context) {
  auto run_flags = std::make_shared<RunFlags>();
  auto* run = model.add_subcommand("run", "Generate from a prompt file with a native model");
  run->add_option("--backend", run_flags->backend,
                  "mamba:PATH|NAME or rwkv7:PATH|NAME (default: $LLIVE_LLM_BACKEND, else the "
                  "home's backend.llm, else the shipped llive-mamba-small)");
  run->add_option("--prompt-file", run_flags->prompt_file, "File whose text is the prompt")
      ->required();
  run->add_option("--max-tokens", run_flags->max_tokens, "Most tokens to generate (128)")
      ->check(AtLeast(0));
  run->add_option("--temperature", run_flags->temperature, "0 (default) is greedy")
      ->check(Between(0.0, 2.0));
  run->add_option("--top-p", run_flags->top_p, "Nucleus sampling threshold")
      ->check(Between(0.0, 1.0));
  run->add_option("--top-k", run_flags->top_k, "Sample from the k most likely tokens; 0 is off")
      ->check(AtLeast(0));
  run->add_option("--repetition-penalty", run_flags->repetition_penalty, "1 (default) is off");
  run->add_option("--seed", run_flags->seed, "Random seed for reproducible sampling");
  run->add_option("--stop", run_flags->stop, "Stop string (repeatable)");
  run->add_option("--device", run_flags->device,
                  "cpu, cuda or cuda:N (default: backend.device, else cpu)");
  run->add_option("--threads", run_flags->threads, "CPU threads (default: all cores)")
      ->check(AtLeast(0));
  run->add_flag("--stream", run_flags->stream, "Print text as it is generated");
  run->callback([&context, run_flags] { RunModel(context, *run_flags); });
}

}  // namespace

void RegisterModelCommand(CLI::App& app, CliContext& context) {
  auto* model = app.add_subcommand("model", "Inspect, convert and run model files");
  model->require_subcommand(1);
  RegisterModelEvalCommand(*model, context);

  auto* info = model->add_subcommand(
      "info", "Show a model's architecture, tensors, dtypes, parameter count and tokenizer");
  auto path = std::make_shared<std::string>();
  info->add_option("PATH", *path, "A Hugging Face folder, a .safetensors file or a .gguf file")
      ->required();
  info->callback([&context, path] {
    absl::StatusOr<nlohmann::json> result = ModelInfo(*path);
    if (!result.ok()) return ReportError(context, result.status());
    if (context.json) {
      std::cout << result->dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      PrintInfo(*result);
    }
  });

  auto* convert = model->add_subcommand(
      "convert",
      "Rewrite a Hugging Face checkpoint as GGUF (metadata and names llama.cpp expects)");
  auto options = std::make_shared<ConvertOptions>();
  convert->add_option("HF_DIR", options->input, "Hugging Face folder (config.json + safetensors)")
      ->required();
  convert->add_option("OUT", options->output, "The .gguf file to write")->required();
  convert->add_option("--to", options->to, "Output format (gguf)")->capture_default_str();
  convert->add_option("--type", options->type, "Weight type: f32, f16, bf16 or q8_0")
      ->capture_default_str();
  convert->callback([&context, options] {
    absl::StatusOr<std::string> architecture = Convert(*options);
    if (!architecture.ok()) {
      const absl::Status& status = architecture.status();
      return ReportError(
          context, status,
          status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure);
    }
    if (context.json) {
      std::cout << nlohmann::json({{"out", options->output},
                                   {"architecture", *architecture},
                                   {"type", options->type},
                                   {"bytes", std::filesystem::file_size(options->output)}})
                       .dump(2)
                << "\n";
    } else {
      std::cout << "wrote " << options->output << "\n";
    }
  });

  RegisterModelRunCommand(*model, context);
}

}  // namespace llive::cli
