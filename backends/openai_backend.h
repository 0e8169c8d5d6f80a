// LLMBackend for OpenAI-compatible chat completion servers: OpenAI itself,
// llama-server, vLLM, LM Studio (POST {base}/chat/completions, optionally SSE).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backends/http/http_client.h"
#include "backends/llm_backend.h"

namespace llive::backends {

inline constexpr char kOpenAIDefaultBaseUrl[] = "https://api.openai.com/v1";

struct OpenAIOptions {
  std::string base_url;  // empty: $OPENAI_BASE_URL, else kOpenAIDefaultBaseUrl
  std::string api_key;   // empty: $OPENAI_API_KEY (local servers may need none)
  std::string model;     // empty: $LLIVE_OPENAI_MODEL, else "gpt-4o-mini"
  // Ask for token usage at the end of a stream (stream_options.include_usage).
  bool stream_usage = true;
  http::HttpClientOptions http;
};

// Thread-safe: one instance serves concurrent Generate calls over a shared pool.
class OpenAIBackend : public LLMBackend {
 public:
  // Fills empty options from the environment. InvalidArgument for a bad base URL;
  // FailedPrecondition when api.openai.com is used without an API key.
  static absl::StatusOr<std::unique_ptr<OpenAIBackend>> Create(OpenAIOptions options);

  // Streams with SSE when `on_text` is set. finish_reason "length" when max_tokens
  // ran out; top_k is sent only to servers other than api.openai.com (which rejects it).
  absl::StatusOr<GenerateResponse> Generate(const GenerateRequest& request,
                                            const StreamCallback& on_text = nullptr) override;
  std::string Name() const override { return "openai"; }

  const std::string& base_url() const { return options_.base_url; }
  const std::string& model() const { return options_.model; }
  http::HttpClient& client() { return *client_; }

 private:
  OpenAIBackend(OpenAIOptions options, std::unique_ptr<http::HttpClient> client);
  OpenAIOptions options_;
  bool official_api_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace llive::backends
