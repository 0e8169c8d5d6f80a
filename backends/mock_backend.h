// A deterministic LLMBackend for tests and for running llive without any model.
#pragma once

#include <functional>
#include <string>

#include "backends/llm_backend.h"

namespace llive::backends {

struct MockOptions {
  // The whole answer to a request. Default: "mock reply to: " + the last message (or
  // the prompt). Must be thread-safe when the backend is shared.
  std::function<std::string(const GenerateRequest&)> respond;
  // Sleep between streamed words, to exercise cancellation and timing.
  int delay_per_word_ms = 0;
};

// Thread-safe. The same request always gives the same answer. "Tokens" are words
// (each with its leading space): max_tokens cuts the answer (finish_reason
// "length"), a stop string ends it before the stop (finish_reason "stop"). Streams
// word by word; honours the cancel flag and a callback that returns false.
class MockBackend : public LLMBackend {
 public:
  explicit MockBackend(MockOptions options = {});

  absl::StatusOr<GenerateResponse> Generate(const GenerateRequest& request,
                                            const StreamCallback& on_text = nullptr) override;
  std::string Name() const override { return "mock"; }

 private:
  MockOptions options_;
};

}  // namespace llive::backends
