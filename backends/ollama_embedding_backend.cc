// The Ollama embed wire format: {"model", "input": [...]} in, {"embeddings": [[...]]} out.
#include "backends/ollama_embedding_backend.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "backends/http/url.h"
#include "backends/http_generation.h"
#include "backends/ollama_backend.h"

namespace llive::backends {

absl::StatusOr<std::unique_ptr<OllamaEmbeddingBackend>> OllamaEmbeddingBackend::Create(
    EmbeddingOptions options) {
  if (options.base_url.empty()) {
    const char* host = std::getenv("OLLAMA_HOST");
    options.base_url = host != nullptr && *host != '\0' ? OllamaBaseUrl(host) : kOllamaDefaultHost;
  }
  if (options.model.empty()) {
    const char* model = std::getenv("LLIVE_OLLAMA_EMBEDDING_MODEL");
    options.model = model != nullptr && *model != '\0' ? model : "nomic-embed-text";
  }
  if (options.batch_size < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("ollama embeddings: batch size must be positive, not ", options.batch_size));
  }
  absl::StatusOr<http::Url> url = http::ParseUrl(options.base_url);
  if (!url.ok()) return WithContext(url.status(), "ollama embeddings host", "");
  absl::StatusOr<std::unique_ptr<http::HttpClient>> client = http::HttpClient::Create(options.http);
  if (!client.ok()) return WithContext(client.status(), "ollama embeddings", "");
  return std::unique_ptr<OllamaEmbeddingBackend>(
      new OllamaEmbeddingBackend(std::move(options), *std::move(client)));
}

OllamaEmbeddingBackend::OllamaEmbeddingBackend(EmbeddingOptions options,
                                               std::unique_ptr<http::HttpClient> client)
    : options_(std::move(options)), client_(std::move(client)) {}

absl::StatusOr<std::vector<std::vector<float>>> OllamaEmbeddingBackend::Embed(
    absl::Span<const std::string> texts) {
  std::vector<std::vector<float>> all;
  size_t dimension = 0;
  for (size_t start = 0; start < texts.size(); start += options_.batch_size) {
    absl::Span<const std::string> batch = texts.subspan(start, options_.batch_size);
    http::HttpRequest request;
    request.url = http::JoinUrl(options_.base_url, "api/embed");
    request.headers.push_back({"Content-Type", "application/json"});
    request.body = DumpJson({{"model", options_.model},
                             {"input", std::vector<std::string>(batch.begin(), batch.end())}});
    absl::StatusOr<http::HttpResponse> reply = client_->Send(request);
    if (!reply.ok()) return WithContext(reply.status(), "ollama embeddings", "");
    if (reply->status < 200 || reply->status > 299) {
      return StatusFromHttpError("ollama embeddings", request.url, *reply, "");
    }
    std::optional<nlohmann::json> json = ParseJson(reply->body);
    const nlohmann::json* embeddings = json ? JsonField(*json, "embeddings") : nullptr;
    if (embeddings == nullptr || !embeddings->is_array()) {
      return absl::UnavailableError(absl::StrCat("ollama embeddings: the answer from ", request.url,
                                                 " has no \"embeddings\" list: ",
                                                 ErrorMessageFromBody(reply->body)));
    }
    std::vector<std::vector<float>> vectors;
    for (const nlohmann::json& embedding : *embeddings) {
      std::vector<float>& vector = vectors.emplace_back();
      if (!embedding.is_array()) {
        return absl::UnavailableError("ollama embeddings: an embedding is not a list of numbers");
      }
      for (const nlohmann::json& value : embedding) {
        if (!value.is_number()) {
          return absl::UnavailableError("ollama embeddings: an embedding holds a non-number");
        }
        vector.push_back(value.get<float>());
      }
    }
    if (absl::Status s = CheckEmbeddingBatch("ollama embeddings", vectors, batch.size(), &dimension);
        !s.ok()) {
      return s;
    }
    for (std::vector<float>& vector : vectors) all.push_back(std::move(vector));
  }
  return all;
}

}  // namespace llive::backends
