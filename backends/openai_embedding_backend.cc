// The OpenAI embeddings wire format: {"input": [...]} in, {"data": [{"index",
// "embedding"}]} out (ordered by index, which servers need not keep).
#include "backends/openai_embedding_backend.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "backends/http/url.h"
#include "backends/http_generation.h"
#include "backends/openai_backend.h"

namespace llive::backends {

absl::StatusOr<std::unique_ptr<OpenAIEmbeddingBackend>> OpenAIEmbeddingBackend::Create(
    EmbeddingOptions options) {
  auto env = [](const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? std::string(value) : std::string();
  };
  if (options.base_url.empty()) options.base_url = env("OPENAI_BASE_URL");
  if (options.base_url.empty()) options.base_url = kOpenAIDefaultBaseUrl;
  if (options.api_key.empty()) options.api_key = env("OPENAI_API_KEY");
  if (options.model.empty()) options.model = env("LLIVE_OPENAI_EMBEDDING_MODEL");
  if (options.model.empty()) options.model = "text-embedding-3-small";
  if (options.batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("openai embeddings: batch size must be positive, not ", options.batch_size));
  }
  absl::StatusOr<http::Url> url = http::ParseUrl(options.base_url);
  if (!url.ok()) return WithContext(url.status(), "openai embeddings base URL", "");
  absl::StatusOr<std::unique_ptr<http::HttpClient>> client = http::HttpClient::Create(options.http);
  if (!client.ok()) return WithContext(client.status(), "openai embeddings", options.api_key);
  return std::unique_ptr<OpenAIEmbeddingBackend>(
      new OpenAIEmbeddingBackend(std::move(options), *std::move(client)));
}

OpenAIEmbeddingBackend::OpenAIEmbeddingBackend(EmbeddingOptions options,
                                               std::unique_ptr<http::HttpClient> client)
    : options_(std::move(options)), client_(std::move(client)) {}

absl::StatusOr<std::vector<std::vector<float>>> OpenAIEmbeddingBackend::Embed(
    absl::Span<const std::string> texts) {
  const std::string& secret = options_.api_key;
  std::vector<std::vector<float>> all;
  size_t dimension = 0;
  for (size_t start = 0; start < texts.size(); start += options_.batch_size) {
    absl::Span<const std::string> batch = texts.subspan(start, options_.batch_size);
    http::HttpRequest request;
    request.url = http::JoinUrl(options_.base_url, "embeddings");
    request.headers.push_back({"Content-Type", "application/json"});
    if (!secret.empty()) request.headers.push_back({"Authorization", absl::StrCat("Bearer ", secret)});
    request.body = DumpJson({{"model", options_.model},
                             {"input", std::vector<std::string>(batch.begin(), batch.end())}});
    absl::StatusOr<http::HttpResponse> reply = client_->Send(request);
    if (!reply.ok()) return WithContext(reply.status(), "openai embeddings", secret);
    if (reply->status < 200 || reply->status > 299) {
      return StatusFromHttpError("openai embeddings", request.url, *reply, secret);
    }
    std::optional<nlohmann::json> json = ParseJson(reply->body);
    const nlohmann::json* data = json ? JsonField(*json, "data") : nullptr;
    if (data == nullptr || !data->is_array()) {
      return absl::UnavailableError(
          Redact(absl::StrCat("openai embeddings: the answer from ", request.url,
                              " has no \"data\" list: ", ErrorMessageFromBody(reply->body)),
                 secret));
    }
    std::vector<std::vector<float>> vectors(data->size());
    for (size_t i = 0; i < data->size(); ++i) {
      const nlohmann::json& item = (*data)[i];
      int64_t index = JsonInteger(item, "index", static_cast<int64_t>(i));
      const nlohmann::json* embedding = JsonField(item, "embedding");
      if (index < 0 || index >= static_cast<int64_t>(vectors.size()) || embedding == nullptr ||
          !embedding->is_array()) {
        return absl::UnavailableError(absl::StrCat("openai embeddings: item ", i, " of the answer from ",
                                                   request.url, " is malformed"));
      }
      for (const nlohmann::json& value : *embedding) {
        if (!value.is_number()) {
          return absl::UnavailableError("openai embeddings: an embedding holds a non-number");
        }
        vectors[index].push_back(value.get<float>());
      }
    }
    if (absl::Status s = CheckEmbeddingBatch("openai embeddings", vectors, batch.size(), &dimension);
        !s.ok()) {
      return s;
    }
    for (std::vector<float>& vector : vectors) all.push_back(std::move(vector));
  }
  return all;
}

}  // namespace llive::backends
