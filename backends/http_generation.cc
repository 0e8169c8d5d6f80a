// Shared pieces of the HTTP backends.
#include "backends/http_generation.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"

namespace llive::backends {

absl::Status ValidateGenerateRequest(const GenerateRequest& request) {
  if (request.messages.empty() && request.prompt.empty()) {
    return absl::InvalidArgumentError("the request has neither messages nor a prompt");
  }
  if (absl::Status text = ValidateRequestText(request); !text.ok()) return text;
  for (const ChatMessage& message : request.messages) {
    if (message.role != "system" && message.role != "user" && message.role != "assistant") {
      return absl::InvalidArgumentError(absl::StrCat("message role \"", message.role,
                                                     "\" is not one of system, user, assistant"));
    }
  }
  if (request.max_tokens < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_tokens must be at least 1, not ", request.max_tokens));
  }
  if (!(request.temperature >= 0 && request.temperature <= 2)) {
    return absl::InvalidArgumentError(
        absl::StrCat("temperature must be from 0 to 2, not ", request.temperature));
  }
  if (!(request.top_p > 0 && request.top_p <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("top_p must be above 0 and at most 1, not ", request.top_p));
  }
  if (request.top_k < 0) {
    return absl::InvalidArgumentError(absl::StrCat("top_k must be 0 or more, not ", request.top_k));
  }
  return absl::OkStatus();
}

std::vector<ChatMessage> Conversation(const GenerateRequest& request) {
  std::vector<ChatMessage> messages;
  if (!request.system.empty()) messages.push_back({"system", request.system});
  messages.insert(messages.end(), request.messages.begin(), request.messages.end());
  if (!request.prompt.empty()) messages.push_back({"user", request.prompt});
  return messages;
}

std::string DumpJson(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::optional<nlohmann::json> ParseJson(absl::string_view text) {
  nlohmann::json value = nlohmann::json::parse(text.begin(), text.end(), nullptr, false);
  if (value.is_discarded()) return std::nullopt;
  return value;
}

const nlohmann::json* JsonField(const nlohmann::json& object, absl::string_view key) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(std::string(key));
  return it == object.end() ? nullptr : &*it;
}

std::string JsonString(const nlohmann::json& object, absl::string_view key,
                       absl::string_view fallback) {
  const nlohmann::json* field = JsonField(object, key);
  return field != nullptr && field->is_string() ? field->get<std::string>() : std::string(fallback);
}

int64_t JsonInteger(const nlohmann::json& object, absl::string_view key, int64_t fallback) {
  const nlohmann::json* field = JsonField(object, key);
  return field != nullptr && field->is_number_integer() ? field->get<int64_t>() : fallback;
}

double JsonNumber(const nlohmann::json& object, absl::string_view key, double fallback) {
  const nlohmann::json* field = JsonField(object, key);
  return field != nullptr && field->is_number() ? field->get<double>() : fallback;
}

std::string Redact(absl::string_view text, absl::string_view secret) {
  if (secret.empty()) return std::string(text);
  return absl::StrReplaceAll(text, {{secret, "[redacted]"}});
}

absl::Status WithContext(const absl::Status& status, absl::string_view backend,
                         absl::string_view secret) {
  if (status.ok()) return status;
  return absl::Status(status.code(), Redact(absl::StrCat(backend, ": ", status.message()), secret));
}

std::string ErrorMessageFromBody(absl::string_view body) {
  if (std::optional<nlohmann::json> json = ParseJson(body)) {
    if (const nlohmann::json* error = JsonField(*json, "error")) {
      if (error->is_string()) return error->get<std::string>();
      std::string message = JsonString(*error, "message");
      if (!message.empty()) return message;
    }
    std::string message = JsonString(*json, "message");
    if (!message.empty()) return message;
  }
  std::string text(body.substr(0, 300));
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return text.empty() ? "(empty body)" : text;
}

absl::Status StatusFromHttpError(absl::string_view backend, absl::string_view url,
                                 const http::HttpResponse& response, absl::string_view secret) {
  absl::StatusCode code = absl::StatusCode::kUnavailable;
  absl::string_view advice = "";
  switch (response.status) {
    case 400:
    case 413:
    case 422:
      code = absl::StatusCode::kInvalidArgument;
      break;
    case 401:
      code = absl::StatusCode::kUnauthenticated;
      advice = "; check the API key";
      break;
    case 403:
      code = absl::StatusCode::kPermissionDenied;
      advice = "; the API key is not allowed to do this";
      break;
    case 404:
      code = absl::StatusCode::kNotFound;
      advice = "; check the base URL and the model name";
      break;
    case 408:
    case 504:
      code = absl::StatusCode::kDeadlineExceeded;
      break;
    case 429:
      code = absl::StatusCode::kResourceExhausted;
      advice = "; rate limited, try again later";
      break;
    default:
      break;
  }
  std::string message = absl::StrCat(backend, ": HTTP ", response.status, " from ", url, ": ",
                                     ErrorMessageFromBody(response.body), advice);
  if (response.attempts > 1) absl::StrAppend(&message, " (after ", response.attempts, " attempts)");
  return absl::Status(code, Redact(message, secret));
}

AnswerStream::AnswerStream(const GenerateRequest& request, const StreamCallback& on_text)
    : request_(request), on_text_(on_text), start_(std::chrono::steady_clock::now()) {}

double AnswerStream::elapsed_ms() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_)
      .count();
}

bool AnswerStream::cancelled() const {
  return callback_stopped_ || (request_.cancel != nullptr && request_.cancel->load());
}

absl::Status AnswerStream::Add(absl::string_view delta) {
  if (cancelled()) return absl::CancelledError("generation cancelled");
  if (delta.empty()) return absl::OkStatus();
  if (text_.empty()) first_text_ms_ = elapsed_ms();
  text_.append(delta.data(), delta.size());
  if (on_text_ && !on_text_(delta)) {
    callback_stopped_ = true;
    return absl::CancelledError("generation cancelled by the stream callback");
  }
  return absl::OkStatus();
}

absl::StatusOr<GenerateResponse> FinishGeneration(GenerateResponse response,
                                                  const AnswerStream& stream,
                                                  const absl::Status& outcome,
                                                  absl::string_view secret) {
  response.text = stream.text();
  response.timings.total_ms = stream.elapsed_ms();
  response.timings.first_token_ms = stream.first_text_ms();
  if (stream.cancelled()) {
    response.finish_reason = FinishReason::kCancelled;
    return response;
  }
  if (outcome.ok()) return response;
  if (stream.text().empty()) return WithContext(outcome, response.backend, secret);
  response.finish_reason = FinishReason::kError;
  response.error = Redact(absl::StrCat(response.backend, ": ", outcome.message()), secret);
  return response;
}

}  // namespace llive::backends
