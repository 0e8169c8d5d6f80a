// Checks shared by the embedding backends.
#include "backends/embedding_backend.h"

#include "absl/strings/str_cat.h"

namespace llive::backends {

absl::Status CheckEmbeddingBatch(absl::string_view backend,
                                 const std::vector<std::vector<float>>& vectors, size_t count,
                                 size_t* dimension) {
  if (vectors.size() != count) {
    return absl::UnavailableError(absl::StrCat(backend, ": asked for ", count,
                                               " embeddings, the server returned ",
                                               vectors.size()));
  }
  for (const std::vector<float>& vector : vectors) {
    if (*dimension == 0) *dimension = vector.size();
    if (vector.empty() || vector.size() != *dimension) {
      return absl::UnavailableError(absl::StrCat(backend,
                                                 ": the server returned embeddings of different "
                                                 "dimensions (",
                                                 *dimension, " and ", vector.size(), ")"));
    }
  }
  return absl::OkStatus();
}

}  // namespace llive::backends
