// The generation loop shared by the native stateful models.
#include "backends/native/generation.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"
#include "backends/native/sampling.h"

namespace llive::backends::native {
namespace {

using Clock = std::chrono::steady_clock;

double MillisecondsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The number of bytes a UTF-8 sequence starting with `lead` has, or 0 for a byte that cannot
// start one.
int SequenceLength(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;
}

constexpr char kReplacement[] = "\xEF\xBF\xBD";

bool IsContinuation(unsigned char byte) { return (byte & 0xC0) == 0x80; }

// Whether the two bytes after a lead are allowed (no overlongs or surrogates).
bool SecondByteValid(unsigned char lead, unsigned char second) {
  if (lead == 0xE0) return second >= 0xA0 && second <= 0xBF;
  if (lead == 0xED) return second >= 0x80 && second <= 0x9F;
  if (lead == 0xF0) return second >= 0x90 && second <= 0xBF;
  if (lead == 0xF4) return second >= 0x80 && second <= 0x8F;
  return IsContinuation(second);
}

// Releases text as it is generated, holding back what could still become a stop string.
class StopStringFilter {
 public:
  explicit StopStringFilter(const std::vector<std::string>& stops) {
    for (const std::string& stop : stops) {
      if (!stop.empty()) stops_.push_back(stop);
    }
  }

  // Appends `text`. Returns the text that is now safe to release; sets `stopped` when a stop
  // string appeared (the text before it is released, the rest is dropped).
  std::string Push(absl::string_view text, bool& stopped) {
    held_.append(text.data(), text.size());
    size_t first_stop = std::string::npos;
    for (const std::string& stop : stops_) {
      first_stop = std::min(first_stop, held_.find(stop));
    }
    if (first_stop != std::string::npos) {
      stopped = true;
      std::string released = held_.substr(0, first_stop);
      held_.clear();
      return released;
    }
    // Hold back the longest tail of held_ that is a prefix of some stop string.
    size_t hold = 0;
    for (const std::string& stop : stops_) {
      for (size_t length = std::min(stop.size() - 1, held_.size()); length > hold; --length) {
        if (absl::string_view(held_).substr(held_.size() - length) ==
            absl::string_view(stop).substr(0, length)) {
          hold = length;
          break;
        }
      }
    }
    std::string released = held_.substr(0, held_.size() - hold);
    held_.erase(0, held_.size() - hold);
    return released;
  }

  // What is still held back, at the end of generation.
  std::string Flush() { return std::exchange(held_, std::string()); }

 private:
  std::vector<std::string> stops_;
  std::string held_;
};

}  // namespace

std::string TakeCompleteUtf8(std::string& pending, bool flush) {
  std::string out;
  size_t i = 0;
  while (i < pending.size()) {
    const auto lead = static_cast<unsigned char>(pending[i]);
    const int length = SequenceLength(lead);
    if (length == 0) {
      out.append(kReplacement);
      ++i;
      continue;
    }
    if (length == 1) {
      out.push_back(pending[i]);
      ++i;
      continue;
    }
    // Check the continuation bytes that are present.
    size_t valid = 1;
    while (valid < static_cast<size_t>(length) && i + valid < pending.size()) {
      const auto byte = static_cast<unsigned char>(pending[i + valid]);
      const bool ok = valid == 1 ? SecondByteValid(lead, byte) : IsContinuation(byte);
      if (!ok) break;
      ++valid;
    }
    if (valid == static_cast<size_t>(length)) {
      out.append(pending, i, length);
      i += length;
    } else if (i + valid == pending.size() && !flush) {
      break;  // incomplete so far; the next token may finish it
    } else {
      out.append(kReplacement);
      i += valid;
    }
  }
  pending.erase(0, i);
  return out;
}

std::string RenderPrompt(const GenerateRequest& request) {
  if (request.messages.empty() && request.system.empty()) {
    return request.prompt;
  }
  std::string text;
  if (!request.system.empty()) {
    absl::StrAppend(&text, request.system, "\n\n");
  }
  auto append_message = [&text](absl::string_view role, absl::string_view content) {
    if (role == "system") {
      absl::StrAppend(&text, content, "\n\n");
    } else if (role == "assistant") {
      absl::StrAppend(&text, "Assistant: ", content, "\n\n");
    } else {
      absl::StrAppend(&text, "User: ", content, "\n\n");
    }
  };
  for (const ChatMessage& message : request.messages) {
    append_message(message.role, message.content);
  }
  if (!request.prompt.empty()) {
    append_message("user", request.prompt);
  }
  absl::StrAppend(&text, "Assistant:");
  return text;
}

absl::StatusOr<GenerateResponse> GenerateWithState(StatefulBackend& backend,
                                                   const GenerationVocabulary& vocabulary,
                                                   const GenerateRequest& request,
                                                   const StreamCallback& on_text) {
  const Clock::time_point start = Clock::now();
  SamplingOptions sampling;
  sampling.temperature = request.temperature;
  sampling.top_k = request.top_k;
  sampling.top_p = request.top_p;
  sampling.repetition_penalty = request.repetition_penalty;
  sampling.seed = request.seed.value_or(std::random_device()());
  if (absl::Status valid = ValidateSamplingOptions(sampling); !valid.ok()) return valid;
  if (absl::Status text = ValidateRequestText(request); !text.ok()) return text;
  if (request.max_tokens < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_tokens ", request.max_tokens, " is negative"));
  }

  absl::StatusOr<std::vector<int32_t>> prompt_tokens = backend.Tokenize(RenderPrompt(request));
  if (!prompt_tokens.ok()) return prompt_tokens.status();
  std::vector<int32_t> history = *std::move(prompt_tokens);
  if (history.empty()) {
    if (vocabulary.bos_id < 0) {
      return absl::InvalidArgumentError(
          "the prompt is empty and the model has no beginning-of-sequence token to start from: "
          "give a prompt");
    }
    history.push_back(vocabulary.bos_id);
  }

  GenerateResponse response;
  response.backend = backend.Name();
  response.model = request.model.empty() ? backend.Name() : request.model;
  response.usage.prompt_tokens = static_cast<int64_t>(history.size());

  absl::StatusOr<std::unique_ptr<ModelState>> state = backend.NewState();
  if (!state.ok()) return state.status();
  const Clock::time_point prefill_start = Clock::now();
  absl::StatusOr<std::vector<float>> logits = backend.Feed(**state, history);
  if (!logits.ok()) return logits.status();
  response.timings.prompt_ms = MillisecondsSince(prefill_start);

  const Clock::time_point decode_start = Clock::now();
  Sampler sampler(sampling);
  StopStringFilter stop_filter(request.stop);
  std::string pending_bytes;
  response.finish_reason = FinishReason::kLength;
  bool stopped = false;

  // Sends released text to the caller; false when the caller asked to stop.
  auto emit = [&](const std::string& text) {
    if (text.empty()) return true;
    if (response.text.empty()) response.timings.first_token_ms = MillisecondsSince(start);
    response.text += text;
    return on_text == nullptr || on_text(text);
  };

  for (int generated = 0; generated < request.max_tokens; ++generated) {
    if (request.cancel != nullptr && request.cancel->load()) {
      response.finish_reason = FinishReason::kCancelled;
      break;
    }
    const int32_t token = sampler.Sample(*logits, history);
    if (token == vocabulary.eos_id) {
      response.finish_reason = FinishReason::kStop;
      break;
    }
    history.push_back(token);
    ++response.usage.completion_tokens;
    pending_bytes += backend.Detokenize({token});
    const std::string released = stop_filter.Push(TakeCompleteUtf8(pending_bytes, false), stopped);
    if (!emit(released)) {
      response.finish_reason = FinishReason::kCancelled;
      break;
    }
    if (stopped) {
      response.finish_reason = FinishReason::kStop;
      break;
    }
    if (generated + 1 == request.max_tokens) break;  // no step needed for a token not sampled
    ModelState* states[] = {state->get()};
    const int32_t tokens[] = {token};
    absl::StatusOr<std::vector<std::vector<float>>> next = backend.StepBatch(states, tokens);
    if (!next.ok()) {
      if (response.text.empty()) return next.status();
      response.finish_reason = FinishReason::kError;
      response.error = std::string(next.status().message());
      break;
    }
    logits = std::move((*next)[0]);
  }
  if (!stopped && response.finish_reason != FinishReason::kCancelled &&
      response.finish_reason != FinishReason::kError) {
    // The end of the text: incomplete bytes become U+FFFD; a stop string can still appear.
    std::string tail = stop_filter.Push(TakeCompleteUtf8(pending_bytes, true), stopped);
    if (stopped) {
      response.finish_reason = FinishReason::kStop;
    } else {
      tail += stop_filter.Flush();
    }
    if (!emit(tail)) response.finish_reason = FinishReason::kCancelled;
  }
  response.timings.generation_ms = MillisecondsSince(decode_start);
  response.timings.total_ms = MillisecondsSince(start);
  return response;
}

}  // namespace llive::backends::native
