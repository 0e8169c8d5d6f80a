// EmbeddingBackend: a model that turns texts into vectors (served over HTTP). The
// runtime adapts it to the memory store's Embedder.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "backends/http/http_client.h"

namespace llive::backends {

// Implementations are thread-safe.
class EmbeddingBackend {
 public:
  virtual ~EmbeddingBackend() = default;

  // One vector per text, in the order of `texts`, all of one dimension; requests are
  // split into batches of the backend's batch size. An empty list gives an empty
  // result. Errors as LLMBackend::Generate (Unavailable, DeadlineExceeded,
  // ResourceExhausted, Unauthenticated, ...), plus Unavailable for an answer with the
  // wrong number of vectors or mixed dimensions.
  virtual absl::StatusOr<std::vector<std::vector<float>>> Embed(
      absl::Span<const std::string> texts) = 0;

  // "openai" or "ollama".
  virtual std::string Name() const = 0;
  // The model that makes the vectors (part of the embedder's identity in memory).
  virtual std::string Model() const = 0;
};

struct EmbeddingOptions {
  std::string base_url;  // empty: as the chat backend of the same name
  std::string api_key;   // OpenAI only; empty: $OPENAI_API_KEY
  // empty: $LLIVE_OPENAI_EMBEDDING_MODEL or "text-embedding-3-small" (OpenAI),
  // $LLIVE_OLLAMA_EMBEDDING_MODEL or "nomic-embed-text" (Ollama)
  std::string model;
  int batch_size = 64;  // texts per request
  http::HttpClientOptions http;
};

// Checks one batch's vectors: `count` of them, all of `*dimension` (set by the first
// batch when 0). Unavailable naming `backend` otherwise.
absl::Status CheckEmbeddingBatch(absl::string_view backend,
                                 const std::vector<std::vector<float>>& vectors, size_t count,
                                 size_t* dimension);

}  // namespace llive::backends
