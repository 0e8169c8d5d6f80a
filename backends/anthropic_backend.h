// LLMBackend for Anthropic's Messages API (POST {base}/v1/messages, optionally with
// its named streaming events).
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "backends/http/http_client.h"
#include "backends/llm_backend.h"

namespace llive::backends {

inline constexpr char kAnthropicDefaultBaseUrl[] = "https://api.anthropic.com";
inline constexpr char kAnthropicVersion[] = "2023-06-01";

struct AnthropicOptions {
  std::string base_url;  // empty: $ANTHROPIC_BASE_URL, else kAnthropicDefaultBaseUrl
  std::string api_key;   // empty: $ANTHROPIC_API_KEY (required)
  std::string model;     // empty: $LLIVE_ANTHROPIC_MODEL, else "claude-3-5-haiku-latest"
  http::HttpClientOptions http;
};

// Thread-safe: one instance serves concurrent Generate calls over a shared pool.
class AnthropicBackend : public LLMBackend {
 public:
  // Fills empty options from the environment. FailedPrecondition without an API key;
  // InvalidArgument for a bad base URL.
  static absl::StatusOr<std::unique_ptr<AnthropicBackend>> Create(AnthropicOptions options);

  // System text (request.system and any system-role messages) goes to "system";
  // stop strings to "stop_sequences". finish_reason "length" for max_tokens.
  absl::StatusOr<GenerateResponse> Generate(const GenerateRequest& request,
                                            const StreamCallback& on_text = nullptr) override;
  std::string Name() const override { return "anthropic"; }

  const std::string& base_url() const { return options_.base_url; }

 private:
  AnthropicBackend(AnthropicOptions options, std::unique_ptr<http::HttpClient> client);
  AnthropicOptions options_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace llive::backends
