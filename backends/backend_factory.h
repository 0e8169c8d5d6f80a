// Turns a backend name ("openai", "mamba:/models/m") and settings into a backend,
// applying the environment and the cloud opt-in.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/backend_spec.h"
#include "backends/embedding_backend.h"
#include "backends/llm_backend.h"

namespace llive::backends {

// Settings for making a backend; every field has a default that works.
struct BackendConfig {
  std::string llm;             // chosen explicitly (e.g. --backend); empty: see ResolveBackendSpec
  std::string configured_llm;  // the home's backend.llm; used when nothing else chose
  std::string model;           // empty: the backend's default (and its environment variable)
  int timeout_ms = 60000;      // HTTP read timeout (backend.timeout_ms)
  int connect_timeout_ms = 10000;
  int max_retries = 3;         // backend.max_retries
  int num_ctx = 0;             // Ollama context window; 0 keeps the model's
  std::string ca_file;         // PEM CA bundle for https; empty: the system store
  std::string device = "cpu";  // native backends
  std::string gpu_weights;     // native backends on a GPU: bf16 (empty), fp16 or fp32
  // Where a native model given by bare name (mamba:NAME) is looked for before the shipped
  // models (model_locator.h), e.g. the home's models folder.
  std::vector<std::string> model_dirs;
};

// Which backend to use: `explicit_name` when set, else $LLIVE_LLM_BACKEND when set,
// else `configured` when set, else kDefaultLlmBackend (the shipped small Mamba). InvalidArgument
// (listing the known names) for an unknown name; the message names where the bad name came from.
absl::StatusOr<BackendSpec> ResolveBackendSpec(absl::string_view explicit_name,
                                               absl::string_view configured);

// True when LLIVE_ALLOW_CLOUD_BACKEND=1.
bool CloudBackendsAllowed();

// Makes the chosen LLM backend. Backends that send data to a cloud service (openai at
// api.openai.com, anthropic at api.anthropic.com) need LLIVE_ALLOW_CLOUD_BACKEND=1,
// else FailedPrecondition saying so. mamba:/rwkv7: go through the native registry
// (native_backend_registry.h), their model found by LocateModel in `model_dirs` and then the
// shipped models. The backend is thread-safe.
absl::StatusOr<std::unique_ptr<LLMBackend>> CreateLLMBackend(const BackendConfig& config);

// Makes an embedding backend by name ("openai" or "ollama"), with the same cloud rule.
// InvalidArgument listing the known names otherwise.
absl::StatusOr<std::unique_ptr<EmbeddingBackend>> CreateEmbeddingBackend(
    absl::string_view name, const BackendConfig& config);

}  // namespace llive::backends
