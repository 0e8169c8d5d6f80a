// What the OpenAI, Anthropic and Ollama backends share: request checks, the
// conversation layout, JSON field access that never throws, HTTP error mapping,
// secret redaction and the bookkeeping of a streamed answer.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/http/http_client.h"
#include "backends/llm_backend.h"
#include "nlohmann/json.hpp"

namespace llive::backends {

// InvalidArgument for a request no backend can serve: nothing to answer, an unknown
// role, max_tokens < 1, a temperature or top_p out of range.
absl::Status ValidateGenerateRequest(const GenerateRequest& request);

// The messages in order: `request.system` first (when set), then `messages`, then
// `prompt` as a last user message (when set).
std::vector<ChatMessage> Conversation(const GenerateRequest& request);

// JSON as UTF-8 text; invalid UTF-8 in strings is replaced rather than throwing.
std::string DumpJson(const nlohmann::json& value);
// Parses JSON without throwing; nullopt for malformed text.
std::optional<nlohmann::json> ParseJson(absl::string_view text);
// Member `key` of `object` when it is an object that has it, else null.
const nlohmann::json* JsonField(const nlohmann::json& object, absl::string_view key);
// The string / integer at `key`, or `fallback` when absent or of another type.
std::string JsonString(const nlohmann::json& object, absl::string_view key,
                       absl::string_view fallback = "");
int64_t JsonInteger(const nlohmann::json& object, absl::string_view key, int64_t fallback = 0);
double JsonNumber(const nlohmann::json& object, absl::string_view key, double fallback = 0);

// `text` with every occurrence of `secret` replaced by "[redacted]" (nothing for an
// empty secret).
std::string Redact(absl::string_view text, absl::string_view secret);

// `status` with its message prefixed by the backend name and redacted.
absl::Status WithContext(const absl::Status& status, absl::string_view backend,
                         absl::string_view secret);

// The error message inside an error body: {"error": {"message": ...}} (OpenAI,
// Anthropic), {"error": "..."} (Ollama), else the start of the body as text.
std::string ErrorMessageFromBody(absl::string_view body);

// A non-2xx answer as a status: 400/422 InvalidArgument, 401 Unauthenticated,
// 403 PermissionDenied, 404 NotFound, 408/504 DeadlineExceeded, 429
// ResourceExhausted, other 5xx and the rest Unavailable. The message names the
// backend, the URL, the status, the server's own message and the attempts made, and
// never contains `secret`.
absl::Status StatusFromHttpError(absl::string_view backend, absl::string_view url,
                                 const http::HttpResponse& response, absl::string_view secret);

// The answer as it streams in: text so far, the caller's callback and cancel flag,
// time to first text.
class AnswerStream {
 public:
  AnswerStream(const GenerateRequest& request, const StreamCallback& on_text);

  // Appends `delta` and hands it to the callback. Cancelled when the callback returned
  // false or the request's cancel flag is set (the HTTP read then stops).
  absl::Status Add(absl::string_view delta);

  const std::string& text() const { return text_; }
  bool cancelled() const;
  double first_text_ms() const { return first_text_ms_; }
  double elapsed_ms() const;

 private:
  const GenerateRequest& request_;
  const StreamCallback& on_text_;
  std::chrono::steady_clock::time_point start_;
  std::string text_;
  double first_text_ms_ = 0;
  bool callback_stopped_ = false;
};

// Ends a generation. `outcome` is how the exchange ended: OK when the answer is
// complete (`response` carries finish_reason, usage, model), otherwise the error.
// Cancellation gives kCancelled; an error after some text gives OK with kError, the
// partial text and `error`; an error before any text is returned as a status (with
// backend name, redacted). Fills text and total time from `stream`.
absl::StatusOr<GenerateResponse> FinishGeneration(GenerateResponse response,
                                                  const AnswerStream& stream,
                                                  const absl::Status& outcome,
                                                  absl::string_view secret);

}  // namespace llive::backends
