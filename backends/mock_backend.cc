// The mock backend: a fixed function of the request, cut into words.
#include "backends/mock_backend.h"

#include <chrono>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/http_generation.h"

namespace llive::backends {
namespace {

// Splits text into words, each keeping the spaces before it, so that joining them
// gives the text back.
std::vector<std::string> Words(absl::string_view text) {
  std::vector<std::string> words;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && text[i] == ' ') ++i;
    while (i < text.size() && text[i] != ' ') ++i;
    words.emplace_back(text.substr(start, i - start));
  }
  return words;
}

}  // namespace

MockBackend::MockBackend(MockOptions options) : options_(std::move(options)) {}

absl::StatusOr<GenerateResponse> MockBackend::Generate(const GenerateRequest& request,
                                                       const StreamCallback& on_text) {
  if (absl::Status s = ValidateGenerateRequest(request); !s.ok()) return WithContext(s, Name(), "");
  std::vector<ChatMessage> conversation = Conversation(request);
  std::string answer = options_.respond
                           ? options_.respond(request)
                           : absl::StrCat("mock reply to: ", conversation.back().content);
  GenerateResponse response;
  response.backend = Name();
  response.model = request.model.empty() ? "mock" : request.model;
  response.finish_reason = FinishReason::kStop;
  // The earliest stop string ends the answer just before it.
  size_t cut = answer.size();
  for (const std::string& stop : request.stop) {
    if (!stop.empty()) cut = std::min(cut, answer.find(stop));
  }
  answer.resize(cut);
  std::vector<std::string> words = Words(answer);
  if (static_cast<int>(words.size()) > request.max_tokens) {
    words.resize(request.max_tokens);
    response.finish_reason = FinishReason::kLength;
  }
  for (const ChatMessage& message : conversation) {
    response.usage.prompt_tokens += static_cast<int64_t>(Words(message.content).size());
  }
  AnswerStream stream(request, on_text);
  for (const std::string& word : words) {
    if (stream.cancelled()) break;
    if (options_.delay_per_word_ms > 0 && on_text) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.delay_per_word_ms));
    }
    if (!stream.Add(word).ok()) break;
    ++response.usage.completion_tokens;
  }
  response.timings.generation_ms = stream.elapsed_ms();
  return FinishGeneration(response, stream, absl::OkStatus(), "");
}

}  // namespace llive::backends
