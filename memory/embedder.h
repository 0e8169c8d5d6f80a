// The interface that turns text into vectors for the memory store. Implementations: the
// hashing embedder here; model-backed ones live with the backends and are adapted by runtime.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llive::memory {

// Maps text to an L2-normalised vector of dim() floats, so that inner product is cosine.
// Implementations must be safe to call from several threads at once.
class Embedder {
 public:
  virtual ~Embedder() = default;
  // A short stable name of the method, e.g. "hashing", "openai:text-embedding-3-small".
  virtual std::string id() const = 0;
  // Changes whenever the same text would get a different vector.
  virtual std::string version() const = 0;
  virtual int dim() const = 0;
  // The vector of `text`. InvalidArgument on text the embedder cannot take (e.g. not UTF-8),
  // Unavailable when a remote model did not answer.
  virtual absl::StatusOr<std::vector<float>> Embed(absl::string_view text) const = 0;

  // The tag stored beside every vector: "id@version/dim". Vectors with another tag are
  // re-embedded or ignored, never compared.
  std::string tag() const;
};

}  // namespace llive::memory
