// LLMBackend for an Ollama server: /api/chat for conversations, /api/generate for a
// plain prompt, both streamed as NDJSON.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backends/http/http_client.h"
#include "backends/llm_backend.h"

namespace llive::backends {

inline constexpr char kOllamaDefaultHost[] = "http://127.0.0.1:11434";

struct OllamaOptions {
  // empty: $OLLAMA_HOST ("host:port" or a URL; 0.0.0.0 means this machine), else
  // kOllamaDefaultHost.
  std::string base_url;
  std::string model;  // empty: $LLIVE_OLLAMA_MODEL, else "llama3.2"
  int num_ctx = 0;    // context window sent as options.num_ctx; 0 keeps the model's
  http::HttpClientOptions http;
};

// Thread-safe: one instance serves concurrent Generate calls over a shared pool.
class OllamaBackend : public LLMBackend {
 public:
  // InvalidArgument for a bad host or a negative num_ctx.
  static absl::StatusOr<std::unique_ptr<OllamaBackend>> Create(OllamaOptions options);

  // A request with only `prompt` (and `system`) uses /api/generate; one with messages
  // uses /api/chat. done_reason "length" gives finish_reason "length".
  absl::StatusOr<GenerateResponse> Generate(const GenerateRequest& request,
                                            const StreamCallback& on_text = nullptr) override;
  std::string Name() const override { return "ollama"; }

  const std::string& base_url() const { return options_.base_url; }

 private:
  OllamaBackend(OllamaOptions options, std::unique_ptr<http::HttpClient> client);
  OllamaOptions options_;
  std::unique_ptr<http::HttpClient> client_;
};

// The base URL an OLLAMA_HOST value means: "host", "host:port" or a URL, with
// 0.0.0.0 (a listen address) meaning 127.0.0.1 and 11434 as the default port.
std::string OllamaBaseUrl(absl::string_view ollama_host);

}  // namespace llive::backends
