// Adapting embedding backends to the memory store's Embedder interface.
#include "runtime/backend_embedder.h"

#include <cmath>

#include "absl/strings/str_cat.h"

namespace llive::runtime {
namespace {

// Scales `vector` to unit length so that inner product is cosine, as the store expects.
absl::Status Normalise(std::vector<float>& vector, absl::string_view id) {
  double norm = 0;
  for (float x : vector) norm += static_cast<double>(x) * x;
  if (!(norm > 0) || !std::isfinite(norm)) {
    return absl::InvalidArgumentError(
        absl::StrCat("embedder ", id, " returned a zero or non-finite vector"));
  }
  const float scale = static_cast<float>(1.0 / std::sqrt(norm));
  for (float& x : vector) x *= scale;
  return absl::OkStatus();
}

}  // namespace

BackendEmbedder::BackendEmbedder(std::unique_ptr<backends::EmbeddingBackend> backend,
                                 std::string version, int dim)
    : backend_(std::move(backend)),
      id_(absl::StrCat(backend_->Name(), ":", backend_->Model())),
      version_(std::move(version)),
      dim_(dim) {}

absl::StatusOr<std::unique_ptr<BackendEmbedder>> BackendEmbedder::Create(
    std::unique_ptr<backends::EmbeddingBackend> backend, std::string version) {
  const std::string probe = "llive embedding dimension probe";
  absl::StatusOr<std::vector<std::vector<float>>> vectors =
      backend->Embed(std::vector<std::string>{probe});
  if (!vectors.ok()) return vectors.status();
  if (vectors->size() != 1 || (*vectors)[0].empty()) {
    return absl::InvalidArgumentError(absl::StrCat("embedding backend ", backend->Name(),
                                                   " returned no vector for a probe text"));
  }
  const int dim = static_cast<int>((*vectors)[0].size());
  return std::unique_ptr<BackendEmbedder>(
      new BackendEmbedder(std::move(backend), std::move(version), dim));
}

absl::StatusOr<std::vector<float>> BackendEmbedder::Embed(absl::string_view text) const {
  if (text.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("embedder ", id_, ": empty text"));
  }
  absl::StatusOr<std::vector<std::vector<float>>> vectors;
  {
    absl::MutexLock lock(&mutex_);
    vectors = backend_->Embed(std::vector<std::string>{std::string(text)});
  }
  if (!vectors.ok()) return vectors.status();
  if (vectors->size() != 1 || static_cast<int>((*vectors)[0].size()) != dim_) {
    return absl::UnavailableError(
        absl::StrCat("embedder ", id_, " answered with ",
                     vectors->empty() ? 0 : (*vectors)[0].size(), " dimensions instead of ", dim_,
                     "; the model behind the server changed: re-create the embedder"));
  }
  std::vector<float> vector = std::move((*vectors)[0]);
  if (absl::Status s = Normalise(vector, id_); !s.ok()) return s;
  return vector;
}

}  // namespace llive::runtime
