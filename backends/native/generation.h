// LLMBackend::Generate for any StatefulBackend: prompt rendering, prefill, sampling loop,
// streaming of whole UTF-8 code points, stop strings, token limit and cancellation.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "backends/llm_backend.h"
#include "backends/stateful_backend.h"

namespace llive::backends::native {

// What the loop needs to know about the model's vocabulary.
struct GenerationVocabulary {
  int32_t bos_id = -1;  // fed when the prompt renders to no tokens; -1 if the model has none
  int32_t eos_id = -1;  // ends generation with FinishReason::kStop; -1 if none
};

// The text a request is fed as. A plain `prompt` with no system text and no messages is fed
// as is (completion). Otherwise a plain transcript that base models continue well:
//   "{system}\n\n" then, per message, "User: {content}\n\n" or "Assistant: {content}\n\n"
//   (system messages as "{content}\n\n"), ending with "Assistant:".
std::string RenderPrompt(const GenerateRequest& request);

// Runs `request` on `backend` from an empty state. Tokens are decoded incrementally; text is
// streamed through `on_text` only in whole UTF-8 code points (invalid bytes become U+FFFD) and
// never includes a stop string or anything after it. Ends with kStop (end-of-sequence token
// or stop string), kLength (max_tokens), or kCancelled (`request.cancel` set or `on_text`
// returned false). Errors: InvalidArgument for bad sampling options or negative max_tokens,
// or for a prompt that renders to no tokens when the vocabulary has no BOS; errors of the
// backend's Tokenize/Feed/StepBatch before any text was produced; after text was produced, an
// error ends the response with kError and `error` set.
absl::StatusOr<GenerateResponse> GenerateWithState(StatefulBackend& backend,
                                                   const GenerationVocabulary& vocabulary,
                                                   const GenerateRequest& request,
                                                   const StreamCallback& on_text);

// Splits off the longest prefix of `pending` that ends on a code point boundary and returns
// it with invalid sequences replaced by U+FFFD; an incomplete sequence at the end stays in
// `pending` unless `flush` is set (then it becomes U+FFFD too).
std::string TakeCompleteUtf8(std::string& pending, bool flush);

}  // namespace llive::backends::native
