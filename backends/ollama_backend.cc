// The Ollama wire format: one JSON object per line, the last with "done": true and
// the counts and durations of the run.
#include "backends/ollama_backend.h"

#include <cstdlib>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "backends/http/ndjson_parser.h"
#include "backends/http/url.h"
#include "backends/http_generation.h"

namespace llive::backends {
namespace {

// Reads one line (or the whole buffered answer): text, and on the final object the
// finish reason, counts and durations (nanoseconds).
absl::Status ReadObject(const nlohmann::json& json, bool chat, AnswerStream& answer,
                        GenerateResponse& response, bool* done) {
  if (JsonField(json, "error") != nullptr) {
    return absl::UnavailableError(
        absl::StrCat("the server reported an error: ", ErrorMessageFromBody(DumpJson(json))));
  }
  std::string text;
  if (chat) {
    if (const nlohmann::json* message = JsonField(json, "message")) {
      text = JsonString(*message, "content");
    }
  } else {
    text = JsonString(json, "response");
  }
  if (absl::Status s = answer.Add(text); !s.ok()) return s;
  const nlohmann::json* done_field = JsonField(json, "done");
  if (done_field == nullptr || !done_field->is_boolean() || !done_field->get<bool>()) {
    return absl::OkStatus();
  }
  *done = true;
  response.finish_reason =
      JsonString(json, "done_reason") == "length" ? FinishReason::kLength : FinishReason::kStop;
  response.model = JsonString(json, "model", response.model);
  response.usage.prompt_tokens = JsonInteger(json, "prompt_eval_count");
  response.usage.completion_tokens = JsonInteger(json, "eval_count");
  response.timings.prompt_ms = JsonNumber(json, "prompt_eval_duration") / 1e6;
  response.timings.generation_ms = JsonNumber(json, "eval_duration") / 1e6;
  return absl::OkStatus();
}

}  // namespace

std::string OllamaBaseUrl(absl::string_view ollama_host) {
  std::string text = absl::StrContains(ollama_host, "://") ? std::string(ollama_host)
                                                           : absl::StrCat("http://", ollama_host);
  text = absl::StrReplaceAll(text, {{"//0.0.0.0", "//127.0.0.1"}});
  absl::StatusOr<http::Url> url = http::ParseUrl(text);
  if (!url.ok()) return text;  // Create reports it
  absl::string_view authority = absl::string_view(text).substr(text.find("://") + 3);
  authority = authority.substr(0, authority.find_first_of("/?#"));
  authority = authority.substr(authority.rfind(']') == absl::string_view::npos
                                   ? 0
                                   : authority.rfind(']'));
  // Without a port Ollama means its own, not 80.
  if (authority.find(':') == absl::string_view::npos) url->port = 11434;
  return absl::StrCat(url->scheme, "://", url->Authority(), url->target == "/" ? "" : url->target);
}

absl::StatusOr<std::unique_ptr<OllamaBackend>> OllamaBackend::Create(OllamaOptions options) {
  if (options.base_url.empty()) {
    const char* host = std::getenv("OLLAMA_HOST");
    options.base_url = host != nullptr && *host != '\0' ? OllamaBaseUrl(host) : kOllamaDefaultHost;
  }
  if (options.model.empty()) {
    const char* model = std::getenv("LLIVE_OLLAMA_MODEL");
    options.model = model != nullptr && *model != '\0' ? model : "llama3.2";
  }
  if (options.num_ctx < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("ollama: num_ctx must be 0 (model default) or positive, not ", options.num_ctx));
  }
  absl::StatusOr<http::Url> url = http::ParseUrl(options.base_url);
  if (!url.ok()) return WithContext(url.status(), "ollama host (OLLAMA_HOST)", "");
  absl::StatusOr<std::unique_ptr<http::HttpClient>> client = http::HttpClient::Create(options.http);
  if (!client.ok()) return WithContext(client.status(), "ollama", "");
  return std::unique_ptr<OllamaBackend>(new OllamaBackend(std::move(options), *std::move(client)));
}

OllamaBackend::OllamaBackend(OllamaOptions options, std::unique_ptr<http::HttpClient> client)
    : options_(std::move(options)), client_(std::move(client)) {}

absl::StatusOr<GenerateResponse> OllamaBackend::Generate(const GenerateRequest& request,
                                                         const StreamCallback& on_text) {
  if (absl::Status s = ValidateGenerateRequest(request); !s.ok()) return WithContext(s, Name(), "");
  const bool stream = on_text != nullptr;
  const bool chat = !request.messages.empty();
  nlohmann::json options = {{"num_predict", request.max_tokens},
                            {"temperature", request.temperature}};
  if (request.top_p < 1.0f) options["top_p"] = request.top_p;
  if (request.top_k > 0) options["top_k"] = request.top_k;
  if (request.seed.has_value()) options["seed"] = *request.seed;
  if (!request.stop.empty()) options["stop"] = request.stop;
  if (options_.num_ctx > 0) options["num_ctx"] = options_.num_ctx;
  nlohmann::json body = {{"model", request.model.empty() ? options_.model : request.model},
                         {"stream", stream},
                         {"options", std::move(options)}};
  if (chat) {
    nlohmann::json messages = nlohmann::json::array();
    for (const ChatMessage& message : Conversation(request)) {
      messages.push_back({{"role", message.role}, {"content", message.content}});
    }
    body["messages"] = std::move(messages);
  } else {
    body["prompt"] = request.prompt;
    if (!request.system.empty()) body["system"] = request.system;
  }

  http::HttpRequest http_request;
  http_request.url = http::JoinUrl(options_.base_url, chat ? "api/chat" : "api/generate");
  http_request.headers.push_back({"Content-Type", "application/json"});
  http_request.body = DumpJson(body);

  GenerateResponse response;
  response.backend = Name();
  response.model = body["model"].get<std::string>();
  AnswerStream answer(request, on_text);
  bool done = false;

  if (!stream) {
    absl::StatusOr<http::HttpResponse> reply = client_->Send(http_request, request.cancel);
    if (!reply.ok()) return FinishGeneration(response, answer, reply.status(), "");
    if (reply->status < 200 || reply->status > 299) {
      return StatusFromHttpError(Name(), http_request.url, *reply, "");
    }
    std::optional<nlohmann::json> json = ParseJson(reply->body);
    if (!json) {
      return WithContext(absl::UnavailableError(absl::StrCat("the answer from ", http_request.url,
                                                             " is not valid JSON: ",
                                                             ErrorMessageFromBody(reply->body))),
                         Name(), "");
    }
    absl::Status read = ReadObject(*json, chat, answer, response, &done);
    if (!read.ok() && !answer.cancelled()) return WithContext(read, Name(), "");
    return FinishGeneration(response, answer, absl::OkStatus(), "");
  }

  http::NdjsonParser parser;
  auto on_line = [&](absl::string_view line) -> absl::Status {
    if (done) return absl::OkStatus();
    std::optional<nlohmann::json> json = ParseJson(line);
    if (!json) {
      return absl::UnavailableError(
          absl::StrCat("malformed JSON line in the stream: ", ErrorMessageFromBody(line)));
    }
    return ReadObject(*json, chat, answer, response, &done);
  };
  absl::StatusOr<http::HttpResponse> reply = client_->SendStreaming(
      http_request, [&](absl::string_view chunk) { return parser.Feed(chunk, on_line); },
      request.cancel);
  if (!reply.ok()) return FinishGeneration(response, answer, reply.status(), "");
  if (reply->status < 200 || reply->status > 299) {
    return StatusFromHttpError(Name(), http_request.url, *reply, "");
  }
  absl::Status outcome = parser.Finish(on_line);
  if (outcome.ok() && !done) {
    outcome = absl::UnavailableError(absl::StrCat("the stream from ", http_request.url,
                                                  " ended before its \"done\": true line"));
  }
  return FinishGeneration(response, answer, outcome, "");
}

}  // namespace llive::backends
