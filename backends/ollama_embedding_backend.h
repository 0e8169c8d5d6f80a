// EmbeddingBackend over Ollama's POST /api/embed.
#pragma once

#include <memory>

#include "backends/embedding_backend.h"

namespace llive::backends {

class OllamaEmbeddingBackend : public EmbeddingBackend {
 public:
  // Fills empty options from the environment (OLLAMA_HOST,
  // LLIVE_OLLAMA_EMBEDDING_MODEL). InvalidArgument for a bad URL or batch size.
  static absl::StatusOr<std::unique_ptr<OllamaEmbeddingBackend>> Create(EmbeddingOptions options);

  absl::StatusOr<std::vector<std::vector<float>>> Embed(
      absl::Span<const std::string> texts) override;
  std::string Name() const override { return "ollama"; }
  std::string Model() const override { return options_.model; }

 private:
  OllamaEmbeddingBackend(EmbeddingOptions options, std::unique_ptr<http::HttpClient> client);
  EmbeddingOptions options_;
  std::unique_ptr<http::HttpClient> client_;
};

}  // namespace llive::backends
