// BackendEmbedder: a model-backed EmbeddingBackend (OpenAI-compatible, Ollama) seen by the
// memory store as its Embedder. This is where `memory` and `backends` meet: neither includes
// the other.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "backends/embedding_backend.h"
#include "memory/embedder.h"

namespace llive::runtime {

// Thread-safe: calls into the backend are serialised by a mutex (the HTTP client keeps its
// connections for reuse between calls).
class BackendEmbedder : public memory::Embedder {
 public:
  // Wraps `backend`, embedding one probe text to learn the vector dimension. The
  // embedder's id is "NAME:MODEL" (e.g. "openai:text-embedding-3-small") and its version
  // is "1" unless `version` says otherwise, so a changed model gives another tag. Errors
  // as EmbeddingBackend::Embed; InvalidArgument for a backend that returns empty vectors.
  static absl::StatusOr<std::unique_ptr<BackendEmbedder>> Create(
      std::unique_ptr<backends::EmbeddingBackend> backend, std::string version = "1");

  std::string id() const override { return id_; }
  std::string version() const override { return version_; }
  int dim() const override { return dim_; }

  // The backend's vector for `text`, L2-normalised. InvalidArgument for empty text or a
  // zero vector; Unavailable when the backend answers with another dimension than at
  // creation (the model behind the server changed).
  absl::StatusOr<std::vector<float>> Embed(absl::string_view text) const override;

 private:
  BackendEmbedder(std::unique_ptr<backends::EmbeddingBackend> backend, std::string version,
                  int dim);

  mutable absl::Mutex mutex_;
  std::unique_ptr<backends::EmbeddingBackend> backend_ ABSL_GUARDED_BY(mutex_);
  const std::string id_;
  const std::string version_;
  const int dim_;
};

}  // namespace llive::runtime
