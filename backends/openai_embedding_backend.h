// EmbeddingBackend over an OpenAI-compatible POST {base}/embeddings.
#pragma once

#include <memory>

#include "backends/embedding_backend.h"

namespace llive::backends {

class OpenAIEmbeddingBackend : public EmbeddingBackend {
 public:
  // Fills empty options from the environment (OPENAI_BASE_URL, OPENAI_API_KEY,
  // LLIVE_OPENAI_EMBEDDING_MODEL). InvalidArgument for a bad URL or batch size.
  static absl::StatusOr<std::unique_ptr<OpenAIEmbeddingBackend>> Create(EmbeddingOptions options);

  absl::StatusOr<std::vector<std::vector<float>>> Embed(
      absl::Span<const std::string> texts) override;
  std::string Name() const override { return "openai"; }
  std::string Model() const override { return options_.model; }

 private:
  OpenAIEmbeddingBackend(EmbeddingOptions options, std::unique_ptr<http::HttpClient> client);
  EmbeddingOptions options_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace llive::backends
