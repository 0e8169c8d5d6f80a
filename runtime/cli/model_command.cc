// `llive model`: work with native model files. `convert` writes a Hugging Face Mamba or RWKV-7
// folder as a llama.cpp GGUF file; `run` generates from a prompt file with a native backend and
// reports prefill and decode speeds.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "backends/backend_spec.h"
#include "backends/native/checkpoint.h"
#include "backends/native/mamba_gguf_export.h"
#include "backends/native/mamba_model.h"
#include "backends/native/rwkv7_backend.h"
#include "backends/native/rwkv7_gguf_export.h"
#include "backends/native_backend_registry.h"
#include "nlohmann/json.hpp"
#include "runtime/cli/cli.h"

namespace llive::cli {
namespace {

struct ConvertFlags {
  std::string source;
  std::string to = "gguf";
  std::string out;
  std::string type = "f32";
  std::string name;
};

absl::StatusOr<backends::native::DType> ParseStoreType(const std::string& text) {
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "f32") return backends::native::DType::kF32;
  if (lower == "f16") return backends::native::DType::kF16;
  if (lower == "bf16") return backends::native::DType::kBF16;
  if (lower == "q8_0") return backends::native::DType::kQ8_0;
  return absl::InvalidArgumentError(
      absl::StrCat("--type ", text, " is not one of f32, f16, bf16, q8_0"));
}

// RWKV-7 (-HF folders): the weights and the RWKV World vocabulary beside them, written as
// llama.cpp's rwkv7 GGUF.
void ConvertRwkv7(CliContext& context, const ConvertFlags& flags, backends::native::DType type) {
  auto model = backends::native::Rwkv7Backend::Open(flags.source);
  if (!model.ok()) return ReportError(context, model.status());
  const std::string name =
      flags.name.empty() ? std::filesystem::path(flags.source).filename().string() : flags.name;
  absl::Status written = backends::native::WriteRwkv7Gguf(
      (*model)->weights(), (*model)->tokenizer(), flags.out, type, name);
  if (!written.ok()) return ReportError(context, written);
  if (context.json) {
    std::cout << nlohmann::json({{"source", flags.source},
                                 {"out", flags.out},
                                 {"architecture", "rwkv7"},
                                 {"type", flags.type},
                                 {"bytes", std::filesystem::file_size(flags.out)}})
                     .dump(2)
              << "\n";
  } else {
    std::cout << "wrote " << flags.out << " (rwkv7, " << (*model)->Info().n_layer << " layers, "
              << flags.type << ")\n";
  }
}

void RunConvert(CliContext& context, const ConvertFlags& flags) {
  if (flags.to != "gguf") {
    return ReportError(context,
                       absl::InvalidArgumentError(absl::StrCat(
                           "--to ", flags.to, " is not supported; llive converts --to gguf")),
                       kExitUsage);
  }
  absl::StatusOr<backends::native::DType> store_as = ParseStoreType(flags.type);
  if (!store_as.ok()) return ReportError(context, store_as.status(), kExitUsage);
  auto checkpoint = backends::native::Checkpoint::Open(flags.source);
  if (!checkpoint.ok()) return ReportError(context, checkpoint.status());
  if ((*checkpoint)->format() != backends::native::Checkpoint::Format::kHuggingFace) {
    return ReportError(context, absl::InvalidArgumentError(
                                    absl::StrCat(flags.source,
                                                 " is already a GGUF file; give a Hugging Face "
                                                 "folder (config.json + *.safetensors)")));
  }
  const std::string model_type = (*checkpoint)->config().value("model_type", std::string());
  if (model_type == "rwkv7" || model_type == "rwkv7_fla") {
    return ConvertRwkv7(context, flags, *store_as);
  }
  if (model_type != "mamba") {
    return ReportError(context, absl::InvalidArgumentError(absl::StrCat(
                                    "cannot convert model_type \"", model_type, "\" in ",
                                    flags.source, "; llive model convert handles: mamba, rwkv7")));
  }
  auto model = backends::native::MambaModel::Load(**checkpoint);
  if (!model.ok()) return ReportError(context, model.status());
  const std::filesystem::path tokenizer = std::filesystem::path(flags.source) / "tokenizer.json";
  const std::string name =
      flags.name.empty() ? std::filesystem::path(flags.source).filename().string() : flags.name;
  absl::Status written = backends::native::WriteMambaGguf(
      **model, std::filesystem::exists(tokenizer) ? tokenizer.string() : "", flags.out, *store_as,
      name);
  if (!written.ok()) return ReportError(context, written);
  if (context.json) {
    std::cout << nlohmann::json({{"source", flags.source},
                                 {"out", flags.out},
                                 {"architecture", "mamba"},
                                 {"type", flags.type},
                                 {"bytes", std::filesystem::file_size(flags.out)}})
                     .dump(2)
              << "\n";
  } else {
    std::cout << "wrote " << flags.out << " (mamba, " << (*model)->config().ToString() << ", "
              << flags.type << ")\n";
  }
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
};

void RunModel(CliContext& context, const RunFlags& flags) {
  absl::StatusOr<backends::BackendSpec> spec = backends::ParseBackendSpec(flags.backend);
  if (!spec.ok()) return ReportError(context, spec.status(), kExitUsage);
  std::ifstream in(flags.prompt_file, std::ios::binary);
  if (!in) {
    return ReportError(context, absl::NotFoundError(
                                    absl::StrCat("cannot read --prompt-file ", flags.prompt_file)));
  }
  std::stringstream prompt;
  prompt << in.rdbuf();
  backends::NativeBackendOptions options;
  options.threads = flags.threads;
  auto backend = backends::CreateNativeBackend(*spec, options);
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

}  // namespace

void RegisterModelCommand(CLI::App& app, CliContext& context) {
  auto* model = app.add_subcommand("model", "Convert and run native model files");
  model->require_subcommand(1);

  auto convert_flags = std::make_shared<ConvertFlags>();
  auto* convert = model->add_subcommand(
      "convert", "Write a Hugging Face model folder (mamba, rwkv7) as a GGUF file llama.cpp loads");
  convert->add_option("source", convert_flags->source, "Model folder (config.json + safetensors)")
      ->required();
  convert->add_option("--to", convert_flags->to, "Output format: gguf")->required();
  convert->add_option("out", convert_flags->out, "Output file")->required();
  convert->add_option("--type", convert_flags->type,
                      "Matrix storage: f32 (default), f16, bf16, q8_0");
  convert->add_option("--name", convert_flags->name, "general.name (default: the folder's name)");
  convert->callback([&context, convert_flags] { RunConvert(context, *convert_flags); });

  auto run_flags = std::make_shared<RunFlags>();
  auto* run = model->add_subcommand("run", "Generate from a prompt file with a native model");
  run->add_option("--backend", run_flags->backend, "mamba:PATH or rwkv7:PATH")->required();
  run->add_option("--prompt-file", run_flags->prompt_file, "File whose text is the prompt")
      ->required();
  run->add_option("--max-tokens", run_flags->max_tokens, "Most tokens to generate (128)")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--temperature", run_flags->temperature, "0 (default) is greedy")
      ->check(CLI::Range(0.0, 2.0));
  run->add_option("--top-p", run_flags->top_p, "Nucleus sampling threshold")
      ->check(CLI::Range(0.0, 1.0));
  run->add_option("--top-k", run_flags->top_k, "Sample from the k most likely tokens; 0 is off")
      ->check(CLI::NonNegativeNumber);
  run->add_option("--repetition-penalty", run_flags->repetition_penalty, "1 (default) is off");
  run->add_option("--seed", run_flags->seed, "Random seed for reproducible sampling");
  run->add_option("--stop", run_flags->stop, "Stop string (repeatable)");
  run->add_option("--threads", run_flags->threads, "CPU threads (default: all cores)")
      ->check(CLI::NonNegativeNumber);
  run->add_flag("--stream", run_flags->stream, "Print text as it is generated");
  run->callback([&context, run_flags] { RunModel(context, *run_flags); });
}

}  // namespace llive::cli
