// `llive generate`: one completion from any backend, printed or streamed.
#include <atomic>
#include <csignal>
#include <filesystem>
#include <iostream>

#include "absl/strings/str_cat.h"
#include "backends/backend_factory.h"
#include "backends/backend_spec.h"
#include "backends/model_locator.h"
#include "nlohmann/json.hpp"
#include "runtime/cli/cli.h"
#include "runtime/cli/command_settings.h"

namespace llive::cli {
namespace {

std::atomic<bool> interrupted{false};

extern "C" void OnInterrupt(int) { interrupted.store(true); }

struct GenerateFlags {
  std::string backend;
  std::string prompt;
  std::string system;
  std::string model;
  std::string device;
  std::vector<std::string> stop;
  bool stream = false;
  int max_tokens = 1024;
  float temperature = 0.2f;
  float top_p = 1.0f;
  int top_k = 0;
  std::optional<uint64_t> seed;
};

void Run(CliContext& context, const GenerateFlags& flags) {
  absl::StatusOr<CommandSettings> settings = SettingsOrDefaults(context);
  if (!settings.ok()) return ReportError(context, settings.status());
  const runtime::Config* config = &settings->config;
  backends::BackendConfig backend_config;
  if (!settings->models_dir.empty()) backend_config.model_dirs.push_back(settings->models_dir);
  backend_config.llm = flags.backend;
  backend_config.configured_llm = config->GetString("backend.llm");
  backend_config.model = flags.model.empty() ? config->GetString("backend.model") : flags.model;
  backend_config.timeout_ms = static_cast<int>(config->GetInteger("backend.timeout_ms"));
  backend_config.max_retries = static_cast<int>(config->GetInteger("backend.max_retries"));
  backend_config.device = flags.device.empty() ? config->GetString("backend.device") : flags.device;
  backend_config.gpu_weights = config->GetString("backend.gpu_weights");
  absl::StatusOr<std::unique_ptr<backends::LLMBackend>> backend =
      backends::CreateLLMBackend(backend_config);
  if (!backend.ok()) {
    return ReportError(
        context, backend.status(),
        backend.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure);
  }

  backends::GenerateRequest request;
  request.prompt = flags.prompt;
  request.system = flags.system;
  request.max_tokens = flags.max_tokens;
  request.temperature = flags.temperature;
  request.top_p = flags.top_p;
  request.top_k = flags.top_k;
  request.stop = flags.stop;
  request.seed = flags.seed;
  request.cancel = &interrupted;
  std::signal(SIGINT, OnInterrupt);

  backends::StreamCallback on_text;
  if (flags.stream) {
    on_text = [&context](absl::string_view delta) {
      if (context.json) {
        std::cout << nlohmann::json({{"delta", std::string(delta)}})
                         .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
                  << std::endl;
      } else {
        std::cout << delta << std::flush;
      }
      return true;
    };
  }
  absl::StatusOr<backends::GenerateResponse> response = (*backend)->Generate(request, on_text);
  std::signal(SIGINT, SIG_DFL);
  if (!response.ok()) {
    if (flags.stream && !context.json) std::cout << std::endl;
    return ReportError(
        context, response.status(),
        response.status().code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitFailure);
  }
  absl::string_view finish = backends::FinishReasonName(response->finish_reason);
  if (context.json) {
    nlohmann::json out = {{"text", response->text},
                          {"finish_reason", std::string(finish)},
                          {"backend", response->backend},
                          {"model", response->model},
                          {"usage",
                           {{"prompt_tokens", response->usage.prompt_tokens},
                            {"completion_tokens", response->usage.completion_tokens}}},
                          {"timings",
                           {{"total_ms", response->timings.total_ms},
                            {"first_token_ms", response->timings.first_token_ms},
                            {"prompt_ms", response->timings.prompt_ms},
                            {"generation_ms", response->timings.generation_ms}}}};
    if (!response->error.empty()) out["error"] = response->error;
    std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    if (!flags.stream) std::cout << response->text;
    std::cout << "\n";
    if (response->finish_reason != backends::FinishReason::kStop) {
      std::cerr << "llive: generation ended: " << finish
                << (response->error.empty() ? "" : absl::StrCat(" (", response->error, ")"))
                << "\n";
    }
  }
  if (response->finish_reason == backends::FinishReason::kError) context.exit_code = kExitFailure;
}

}  // namespace

void RegisterGenerateCommand(CLI::App& app, CliContext& context) {
  auto* command = app.add_subcommand(
      "generate", "Generate a completion for a prompt with a language model backend");
  auto flags = std::make_shared<GenerateFlags>();
  command->add_option("--backend", flags->backend,
                      absl::StrCat(backends::BackendSpecSpellings(),
                                   " (default: $LLIVE_LLM_BACKEND, else the home's backend.llm, "
                                   "else ",
                                   backends::kDefaultLlmBackend, ", the shipped model)"));
  command->add_option("--prompt", flags->prompt, "The prompt text")->required();
  command->add_option("--system", flags->system, "System prompt");
  command->add_option("--model", flags->model,
                      "Model name (default: backend.model, else the "
                      "backend's own default)");
  command->add_option("--device", flags->device,
                      "Where a native model (mamba:, rwkv7:) runs: cpu, cuda or cuda:N "
                      "(default: backend.device, else cpu)");
  command->add_option("--stop", flags->stop, "Stop string (repeatable)");
  command->add_flag("--stream", flags->stream, "Print text as it is generated");
  command->add_option("--max-tokens", flags->max_tokens, "Most tokens to generate")
      ->check(AtLeast(1));
  command->add_option("--temperature", flags->temperature, "Sampling temperature; 0 is greedy")
      ->check(Between(0.0, 2.0));
  command->add_option("--top-p", flags->top_p, "Nucleus sampling threshold")
      ->check(Between(0.0, 1.0));
  command->add_option("--top-k", flags->top_k, "Sample from the k most likely tokens; 0 is off")
      ->check(AtLeast(0));
  command->add_option("--seed", flags->seed, "Random seed for reproducible sampling");
  command->callback([&context, flags] { Run(context, *flags); });
}

}  // namespace llive::cli
