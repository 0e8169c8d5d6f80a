// Backend resolution: name, environment, cloud opt-in, then the backend's own Create.
#include "backends/backend_factory.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "backends/anthropic_backend.h"
#include "backends/http/url.h"
#include "backends/mock_backend.h"
#include "backends/model_locator.h"
#include "backends/native_backend_registry.h"
#include "backends/ollama_backend.h"
#include "backends/ollama_embedding_backend.h"
#include "backends/openai_backend.h"
#include "backends/openai_embedding_backend.h"

namespace llive::backends {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::string(value) : std::string();
}

http::HttpClientOptions ClientOptions(const BackendConfig& config) {
  http::HttpClientOptions options;
  options.read_timeout_ms = config.timeout_ms;
  options.connect_timeout_ms = config.connect_timeout_ms;
  options.max_retries = config.max_retries;
  options.ca_file = config.ca_file;
  return options;
}

// FailedPrecondition unless cloud backends are allowed or `base_url` is not the
// cloud service at `cloud_host`.
absl::Status CheckCloud(absl::string_view backend, absl::string_view base_url,
                        absl::string_view cloud_host) {
  absl::StatusOr<http::Url> url = http::ParseUrl(base_url);
  if (!url.ok() || url->host != cloud_host || CloudBackendsAllowed()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      backend, " would send your data to ", cloud_host,
      "; set LLIVE_ALLOW_CLOUD_BACKEND=1 to allow cloud backends, or choose a local one"));
}

}  // namespace

bool CloudBackendsAllowed() { return Env("LLIVE_ALLOW_CLOUD_BACKEND") == "1"; }

absl::StatusOr<BackendSpec> ResolveBackendSpec(absl::string_view explicit_name,
                                               absl::string_view configured) {
  absl::string_view source = "--backend";
  std::string name(explicit_name);
  if (name.empty()) {
    name = Env("LLIVE_LLM_BACKEND");
    source = "LLIVE_LLM_BACKEND";
  }
  if (name.empty()) {
    name = std::string(configured);
    source = "backend.llm";
  }
  if (name.empty()) {
    name = kDefaultLlmBackend;
    source = "the default backend";
  }
  absl::StatusOr<BackendSpec> spec = ParseBackendSpec(name);
  if (!spec.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(source, ": ", spec.status().message()));
  }
  return spec;
}

absl::StatusOr<std::unique_ptr<LLMBackend>> CreateLLMBackend(const BackendConfig& config) {
  absl::StatusOr<BackendSpec> spec = ResolveBackendSpec(config.llm, config.configured_llm);
  if (!spec.ok()) return spec.status();
  switch (spec->kind) {
    case BackendSpec::Kind::kMock:
      return std::make_unique<MockBackend>();
    case BackendSpec::Kind::kOpenAI: {
      OpenAIOptions options;
      options.model = config.model;
      options.http = ClientOptions(config);
      std::string base = Env("OPENAI_BASE_URL");
      if (absl::Status s =
              CheckCloud("openai", base.empty() ? kOpenAIDefaultBaseUrl : base, "api.openai.com");
          !s.ok()) {
        return s;
      }
      absl::StatusOr<std::unique_ptr<OpenAIBackend>> backend = OpenAIBackend::Create(options);
      if (!backend.ok()) return backend.status();
      return std::unique_ptr<LLMBackend>(*std::move(backend));
    }
    case BackendSpec::Kind::kAnthropic: {
      AnthropicOptions options;
      options.model = config.model;
      options.http = ClientOptions(config);
      std::string base = Env("ANTHROPIC_BASE_URL");
      if (absl::Status s = CheckCloud("anthropic", base.empty() ? kAnthropicDefaultBaseUrl : base,
                                      "api.anthropic.com");
          !s.ok()) {
        return s;
      }
      absl::StatusOr<std::unique_ptr<AnthropicBackend>> backend = AnthropicBackend::Create(options);
      if (!backend.ok()) return backend.status();
      return std::unique_ptr<LLMBackend>(*std::move(backend));
    }
    case BackendSpec::Kind::kOllama: {
      OllamaOptions options;
      options.model = config.model;
      options.num_ctx = config.num_ctx;
      options.http = ClientOptions(config);
      absl::StatusOr<std::unique_ptr<OllamaBackend>> backend = OllamaBackend::Create(options);
      if (!backend.ok()) return backend.status();
      return std::unique_ptr<LLMBackend>(*std::move(backend));
    }
    case BackendSpec::Kind::kMamba:
    case BackendSpec::Kind::kRwkv7: {
      NativeBackendOptions options;
      options.device = config.device;
      options.gpu_weights = config.gpu_weights;
      std::vector<std::string> dirs = config.model_dirs;
      for (std::string& dir : ShippedModelDirs()) dirs.push_back(std::move(dir));
      absl::StatusOr<std::string> path = LocateModel(spec->model_path, dirs);
      if (!path.ok()) return path.status();
      BackendSpec located = *spec;
      located.model_path = *std::move(path);
      absl::StatusOr<std::unique_ptr<StatefulBackend>> backend =
          CreateNativeBackend(located, options);
      if (!backend.ok()) return backend.status();
      return std::unique_ptr<LLMBackend>(*std::move(backend));
    }
  }
  return absl::InternalError("unhandled backend kind");
}

absl::StatusOr<std::unique_ptr<EmbeddingBackend>> CreateEmbeddingBackend(
    absl::string_view name, const BackendConfig& config) {
  EmbeddingOptions options;
  options.model = config.model;
  options.http = ClientOptions(config);
  if (name == "openai") {
    std::string base = Env("OPENAI_BASE_URL");
    if (absl::Status s = CheckCloud("openai embeddings",
                                    base.empty() ? kOpenAIDefaultBaseUrl : base, "api.openai.com");
        !s.ok()) {
      return s;
    }
    absl::StatusOr<std::unique_ptr<OpenAIEmbeddingBackend>> backend =
        OpenAIEmbeddingBackend::Create(options);
    if (!backend.ok()) return backend.status();
    return std::unique_ptr<EmbeddingBackend>(*std::move(backend));
  }
  if (name == "ollama") {
    absl::StatusOr<std::unique_ptr<OllamaEmbeddingBackend>> backend =
        OllamaEmbeddingBackend::Create(options);
    if (!backend.ok()) return backend.status();
    return std::unique_ptr<EmbeddingBackend>(*std::move(backend));
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown embedding backend \"", name, "\"; known: openai|ollama"));
}

}  // namespace llive::backends
