// LLMBackend: the one interface every language model sits behind (HTTP or native).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llive::backends {

struct ChatMessage {
  std::string role;  // "system", "user" or "assistant"
  std::string content;
};

// What to generate. Either `messages` (multi-turn chat) or `prompt` (plain text
// completion) is set; when both are, `prompt` is appended as a last user message.
struct GenerateRequest {
  std::vector<ChatMessage> messages;
  std::string prompt;
  std::string system;               // system prompt; empty for none
  int max_tokens = 1024;            // most new tokens to generate
  float temperature = 0.2f;         // 0 is greedy
  float top_p = 1.0f;               // nucleus sampling; 1 turns it off
  int top_k = 0;                    // 0 turns it off
  float repetition_penalty = 1.0f;  // native backends; 1 turns it off
  std::vector<std::string> stop;    // generation ends before any of these strings
  std::string model;                // backend-specific model name; empty for the default
  std::optional<uint64_t> seed;     // fixed seed for reproducible sampling
  // When set and it becomes true, generation stops as soon as it can and the
  // response ends with FinishReason::kCancelled. Owned by the caller; must outlive
  // the call.
  const std::atomic<bool>* cancel = nullptr;
};

enum class FinishReason { kStop, kLength, kError, kCancelled };

// "stop", "length", "error", "cancelled".
absl::string_view FinishReasonName(FinishReason reason);

struct TokenUsage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
};

struct Timings {
  double total_ms = 0;        // whole call, retries included
  double first_token_ms = 0;  // until the first generated text arrived (0 if none)
  double prompt_ms = 0;       // prefill, where the backend reports it
  double generation_ms = 0;   // decoding, where the backend reports it
};

struct GenerateResponse {
  std::string text;
  FinishReason finish_reason = FinishReason::kStop;
  std::string error;    // with kError: what went wrong (never contains API keys)
  std::string backend;  // e.g. "openai"
  std::string model;    // the model that answered
  TokenUsage usage;
  Timings timings;
};

// Receives generated text as it arrives (UTF-8, never splitting a code point).
// Returning false cancels the generation (FinishReason::kCancelled).
using StreamCallback = std::function<bool(absl::string_view delta)>;

// A language model. Implementations say in their header whether one instance may be
// used from several threads at once; the HTTP and native backends all may.
class LLMBackend {
 public:
  virtual ~LLMBackend() = default;

  // Generates a continuation. On success the response says why generation ended.
  // A failure before any text was produced is a non-OK status: InvalidArgument for
  // a bad request, Unavailable when the server could not be reached or kept failing,
  // DeadlineExceeded on a timeout, ResourceExhausted when rate limits outlast the
  // retries, PermissionDenied/Unauthenticated for rejected credentials. A failure
  // after part of the answer was streamed returns OK with FinishReason::kError, the
  // partial text and `error` set.
  virtual absl::StatusOr<GenerateResponse> Generate(const GenerateRequest& request,
                                                    const StreamCallback& on_text = nullptr) = 0;

  // The backend's name as users type it ("openai", "mamba:/path").
  virtual std::string Name() const = 0;
};

// OK when every text of the request (prompt, system prompt, messages, stop strings) is valid
// UTF-8; otherwise InvalidArgument naming the field, the offset and the first bad byte. Every
// backend checks this before it tokenizes or sends anything.
absl::Status ValidateRequestText(const GenerateRequest& request);

}  // namespace llive::backends
