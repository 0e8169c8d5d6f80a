// The Anthropic Messages wire format: request layout, the buffered answer and the
// stream of message_start / content_block_delta / message_delta / message_stop events.
#include "backends/anthropic_backend.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "backends/http/sse_parser.h"
#include "backends/http/url.h"
#include "backends/http_generation.h"

namespace llive::backends {
namespace {

std::string EnvOr(const char* name, absl::string_view fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::string(fallback);
}

FinishReason FinishFromAnthropic(absl::string_view reason) {
  return reason == "max_tokens" ? FinishReason::kLength : FinishReason::kStop;
}

void ReadUsage(const nlohmann::json& holder, GenerateResponse& response) {
  const nlohmann::json* usage = JsonField(holder, "usage");
  if (usage == nullptr || !usage->is_object()) return;
  response.usage.prompt_tokens = JsonInteger(*usage, "input_tokens", response.usage.prompt_tokens);
  response.usage.completion_tokens =
      JsonInteger(*usage, "output_tokens", response.usage.completion_tokens);
}

}  // namespace

absl::StatusOr<std::unique_ptr<AnthropicBackend>> AnthropicBackend::Create(
    AnthropicOptions options) {
  if (options.base_url.empty()) {
    options.base_url = EnvOr("ANTHROPIC_BASE_URL", kAnthropicDefaultBaseUrl);
  }
  if (options.api_key.empty()) options.api_key = EnvOr("ANTHROPIC_API_KEY", "");
  if (options.model.empty()) options.model = EnvOr("LLIVE_ANTHROPIC_MODEL", "claude-3-5-haiku-latest");
  absl::StatusOr<http::Url> url = http::ParseUrl(options.base_url);
  if (!url.ok()) return WithContext(url.status(), "anthropic base URL (ANTHROPIC_BASE_URL)", "");
  if (options.api_key.empty()) {
    return absl::FailedPreconditionError("anthropic: no API key; set ANTHROPIC_API_KEY");
  }
  absl::StatusOr<std::unique_ptr<http::HttpClient>> client = http::HttpClient::Create(options.http);
  if (!client.ok()) return WithContext(client.status(), "anthropic", options.api_key);
  return std::unique_ptr<AnthropicBackend>(
      new AnthropicBackend(std::move(options), *std::move(client)));
}

AnthropicBackend::AnthropicBackend(AnthropicOptions options,
                                   std::unique_ptr<http::HttpClient> client)
    : options_(std::move(options)), client_(std::move(client)) {}

absl::StatusOr<GenerateResponse> AnthropicBackend::Generate(const GenerateRequest& request,
                                                            const StreamCallback& on_text) {
  if (absl::Status s = ValidateGenerateRequest(request); !s.ok()) return WithContext(s, Name(), "");
  const bool stream = on_text != nullptr;
  std::vector<std::string> system;
  nlohmann::json messages = nlohmann::json::array();
  for (const ChatMessage& message : Conversation(request)) {
    if (message.role == "system") {
      system.push_back(message.content);
      continue;
    }
    // The API wants alternating turns; consecutive turns of one role are joined.
    if (!messages.empty() && messages.back()["role"] == message.role) {
      messages.back()["content"] =
          absl::StrCat(messages.back()["content"].get<std::string>(), "\n\n", message.content);
      continue;
    }
    messages.push_back({{"role", message.role}, {"content", message.content}});
  }
  if (messages.empty() || messages.front()["role"] != "user") {
    return WithContext(absl::InvalidArgumentError(
                           "the conversation must start with a user message after the system text"),
                       Name(), "");
  }
  nlohmann::json body = {{"model", request.model.empty() ? options_.model : request.model},
                         {"max_tokens", request.max_tokens},
                         {"messages", std::move(messages)},
                         {"temperature", std::min(request.temperature, 1.0f)},
                         {"stream", stream}};
  if (!system.empty()) body["system"] = absl::StrJoin(system, "\n\n");
  if (!request.stop.empty()) body["stop_sequences"] = request.stop;
  if (request.top_p < 1.0f) body["top_p"] = request.top_p;
  if (request.top_k > 0) body["top_k"] = request.top_k;

  http::HttpRequest http_request;
  http_request.url = http::JoinUrl(options_.base_url, "v1/messages");
  http_request.headers = {{"Content-Type", "application/json"},
                          {"Accept", stream ? "text/event-stream" : "application/json"},
                          {"x-api-key", options_.api_key},
                          {"anthropic-version", kAnthropicVersion}};
  http_request.body = DumpJson(body);

  GenerateResponse response;
  response.backend = Name();
  response.model = body["model"].get<std::string>();
  AnswerStream answer(request, on_text);
  const std::string& secret = options_.api_key;

  if (!stream) {
    absl::StatusOr<http::HttpResponse> reply = client_->Send(http_request, request.cancel);
    if (!reply.ok()) return FinishGeneration(response, answer, reply.status(), secret);
    if (reply->status < 200 || reply->status > 299) {
      return StatusFromHttpError(Name(), http_request.url, *reply, secret);
    }
    std::optional<nlohmann::json> json = ParseJson(reply->body);
    const nlohmann::json* content = json ? JsonField(*json, "content") : nullptr;
    if (content == nullptr || !content->is_array()) {
      return WithContext(absl::UnavailableError(absl::StrCat(
                             "the answer from ", http_request.url,
                             " is not a Messages response: ", ErrorMessageFromBody(reply->body))),
                         Name(), secret);
    }
    for (const nlohmann::json& block : *content) {
      if (JsonString(block, "type") != "text") continue;
      if (absl::Status s = answer.Add(JsonString(block, "text")); !s.ok()) break;
    }
    response.finish_reason = FinishFromAnthropic(JsonString(*json, "stop_reason"));
    response.model = JsonString(*json, "model", response.model);
    ReadUsage(*json, response);
    return FinishGeneration(response, answer, absl::OkStatus(), secret);
  }

  http::SseParser parser;
  bool stopped = false;  // message_stop seen
  auto on_event = [&](const http::SseEvent& event) -> absl::Status {
    if (stopped) return absl::OkStatus();
    std::optional<nlohmann::json> json = ParseJson(event.data);
    if (!json) {
      return absl::UnavailableError(absl::StrCat("malformed JSON in the event stream: ",
                                                 ErrorMessageFromBody(event.data)));
    }
    std::string type = JsonString(*json, "type", event.event);
    if (type == "message_start") {
      if (const nlohmann::json* message = JsonField(*json, "message")) {
        response.model = JsonString(*message, "model", response.model);
        ReadUsage(*message, response);
      }
    } else if (type == "content_block_delta") {
      const nlohmann::json* delta = JsonField(*json, "delta");
      if (delta != nullptr && JsonString(*delta, "type") == "text_delta") {
        return answer.Add(JsonString(*delta, "text"));
      }
    } else if (type == "message_delta") {
      if (const nlohmann::json* delta = JsonField(*json, "delta")) {
        std::string reason = JsonString(*delta, "stop_reason");
        if (!reason.empty()) response.finish_reason = FinishFromAnthropic(reason);
      }
      ReadUsage(*json, response);
    } else if (type == "message_stop") {
      stopped = true;
    } else if (type == "error") {
      return absl::UnavailableError(absl::StrCat("the server reported an error: ",
                                                 ErrorMessageFromBody(event.data)));
    }
    return absl::OkStatus();  // ping, content_block_start/stop and future event types
  };
  absl::StatusOr<http::HttpResponse> reply = client_->SendStreaming(
      http_request, [&](absl::string_view chunk) { return parser.Feed(chunk, on_event); },
      request.cancel);
  if (!reply.ok()) return FinishGeneration(response, answer, reply.status(), secret);
  if (reply->status < 200 || reply->status > 299) {
    return StatusFromHttpError(Name(), http_request.url, *reply, secret);
  }
  absl::Status outcome = absl::OkStatus();
  if (!stopped) {
    outcome = absl::UnavailableError(absl::StrCat("the event stream from ", http_request.url,
                                                  " ended before message_stop"));
  }
  return FinishGeneration(response, answer, outcome, secret);
}

}  // namespace llive::backends
