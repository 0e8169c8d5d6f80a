// The OpenAI chat completions wire format, buffered and streamed (SSE).
#include "backends/openai_backend.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "backends/http/sse_parser.h"
#include "backends/http/url.h"
#include "backends/http_generation.h"

namespace llive::backends {
namespace {

std::string EnvOr(const char* name, absl::string_view fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : std::string(fallback);
}

FinishReason FinishFromOpenAI(absl::string_view reason) {
  return reason == "length" ? FinishReason::kLength : FinishReason::kStop;
}

// Reads usage, model and llama-server's timings from a response or final chunk.
void ReadMetadata(const nlohmann::json& json, GenerateResponse& response) {
  std::string model = JsonString(json, "model");
  if (!model.empty()) response.model = model;
  if (const nlohmann::json* usage = JsonField(json, "usage"); usage && usage->is_object()) {
    response.usage.prompt_tokens = JsonInteger(*usage, "prompt_tokens");
    response.usage.completion_tokens = JsonInteger(*usage, "completion_tokens");
  }
  if (const nlohmann::json* timings = JsonField(json, "timings"); timings && timings->is_object()) {
    response.timings.prompt_ms = JsonNumber(*timings, "prompt_ms");
    response.timings.generation_ms = JsonNumber(*timings, "predicted_ms");
  }
}

absl::Status ErrorInBody(const nlohmann::json& json) {
  const nlohmann::json* error = JsonField(json, "error");
  if (error == nullptr || error->is_null()) return absl::OkStatus();
  return absl::UnavailableError(
      absl::StrCat("the server reported an error: ", ErrorMessageFromBody(DumpJson(json))));
}

}  // namespace

absl::StatusOr<std::unique_ptr<OpenAIBackend>> OpenAIBackend::Create(OpenAIOptions options) {
  if (options.base_url.empty()) options.base_url = EnvOr("OPENAI_BASE_URL", kOpenAIDefaultBaseUrl);
  if (options.api_key.empty()) options.api_key = EnvOr("OPENAI_API_KEY", "");
  if (options.model.empty()) options.model = EnvOr("LLIVE_OPENAI_MODEL", "gpt-4o-mini");
  absl::StatusOr<http::Url> url = http::ParseUrl(options.base_url);
  if (!url.ok()) return WithContext(url.status(), "openai base URL (OPENAI_BASE_URL)", "");
  if (url->host == "api.openai.com" && options.api_key.empty()) {
    return absl::FailedPreconditionError(
        "openai: api.openai.com needs an API key; set OPENAI_API_KEY (or point OPENAI_BASE_URL "
        "at a local server)");
  }
  absl::StatusOr<std::unique_ptr<http::HttpClient>> client = http::HttpClient::Create(options.http);
  if (!client.ok()) return WithContext(client.status(), "openai", options.api_key);
  return std::unique_ptr<OpenAIBackend>(new OpenAIBackend(std::move(options), *std::move(client)));
}

OpenAIBackend::OpenAIBackend(OpenAIOptions options, std::unique_ptr<http::HttpClient> client)
    : options_(std::move(options)),
      official_api_(absl::StrContains(options_.base_url, "api.openai.com")),
      client_(std::move(client)) {}

absl::StatusOr<GenerateResponse> OpenAIBackend::Generate(const GenerateRequest& request,
                                                         const StreamCallback& on_text) {
  if (absl::Status s = ValidateGenerateRequest(request); !s.ok()) return WithContext(s, Name(), "");
  const bool stream = on_text != nullptr;
  nlohmann::json messages = nlohmann::json::array();
  for (const ChatMessage& message : Conversation(request)) {
    messages.push_back({{"role", message.role}, {"content", message.content}});
  }
  nlohmann::json body = {{"model", request.model.empty() ? options_.model : request.model},
                         {"messages", std::move(messages)},
                         {"max_tokens", request.max_tokens},
                         {"temperature", request.temperature},
                         {"stream", stream}};
  if (request.top_p < 1.0f) body["top_p"] = request.top_p;
  if (request.top_k > 0 && !official_api_) body["top_k"] = request.top_k;
  if (!request.stop.empty()) body["stop"] = request.stop;
  if (request.seed.has_value()) body["seed"] = *request.seed;
  if (stream && options_.stream_usage) body["stream_options"] = {{"include_usage", true}};

  http::HttpRequest http_request;
  http_request.url = http::JoinUrl(options_.base_url, "chat/completions");
  http_request.headers.push_back({"Content-Type", "application/json"});
  http_request.headers.push_back({"Accept", stream ? "text/event-stream" : "application/json"});
  if (!options_.api_key.empty()) {
    http_request.headers.push_back({"Authorization", absl::StrCat("Bearer ", options_.api_key)});
  }
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
    if (!json) {
      return WithContext(absl::UnavailableError(absl::StrCat(
                             "the answer from ", http_request.url, " is not valid JSON: ",
                             ErrorMessageFromBody(reply->body))),
                         Name(), secret);
    }
    if (absl::Status s = ErrorInBody(*json); !s.ok()) return WithContext(s, Name(), secret);
    const nlohmann::json* choices = JsonField(*json, "choices");
    if (choices == nullptr || !choices->is_array() || choices->empty()) {
      return WithContext(absl::UnavailableError(absl::StrCat("the answer from ", http_request.url,
                                                             " has no choices")),
                         Name(), secret);
    }
    const nlohmann::json& choice = (*choices)[0];
    const nlohmann::json* message = JsonField(choice, "message");
    std::string content = message != nullptr ? JsonString(*message, "content") : "";
    if (absl::Status s = answer.Add(content); !s.ok() && !answer.cancelled()) return s;
    response.finish_reason = FinishFromOpenAI(JsonString(choice, "finish_reason", "stop"));
    ReadMetadata(*json, response);
    return FinishGeneration(response, answer, absl::OkStatus(), secret);
  }

  http::SseParser parser;
  bool done = false;         // "data: [DONE]" seen
  bool finished = false;     // a choice carried a finish_reason
  auto on_event = [&](const http::SseEvent& event) -> absl::Status {
    if (done) return absl::OkStatus();
    if (event.data == "[DONE]") {
      done = true;
      return absl::OkStatus();
    }
    std::optional<nlohmann::json> json = ParseJson(event.data);
    if (!json) {
      return absl::UnavailableError(absl::StrCat("malformed JSON in the event stream: ",
                                                 ErrorMessageFromBody(event.data)));
    }
    if (absl::Status s = ErrorInBody(*json); !s.ok()) return s;
    ReadMetadata(*json, response);
    const nlohmann::json* choices = JsonField(*json, "choices");
    if (choices == nullptr || !choices->is_array() || choices->empty()) return absl::OkStatus();
    const nlohmann::json& choice = (*choices)[0];
    if (const nlohmann::json* delta = JsonField(choice, "delta")) {
      if (absl::Status s = answer.Add(JsonString(*delta, "content")); !s.ok()) return s;
    }
    std::string reason = JsonString(choice, "finish_reason");
    if (!reason.empty()) {
      finished = true;
      response.finish_reason = FinishFromOpenAI(reason);
    }
    return absl::OkStatus();
  };
  absl::StatusOr<http::HttpResponse> reply = client_->SendStreaming(
      http_request, [&](absl::string_view chunk) { return parser.Feed(chunk, on_event); },
      request.cancel);
  if (!reply.ok()) return FinishGeneration(response, answer, reply.status(), secret);
  if (reply->status < 200 || reply->status > 299) {
    return StatusFromHttpError(Name(), http_request.url, *reply, secret);
  }
  absl::Status outcome = absl::OkStatus();
  if (!done && !finished) {
    outcome = absl::UnavailableError(
        absl::StrCat("the event stream from ", http_request.url,
                     " ended before the answer was complete (no finish_reason, no [DONE])"));
  }
  return FinishGeneration(response, answer, outcome, secret);
}

}  // namespace llive::backends
