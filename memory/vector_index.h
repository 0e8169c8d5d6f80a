// An in-memory FAISS index of one agent's vectors in one layer, saved to a cache file with the
// watermarks that say how far it follows SQLite.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace faiss {
struct Index;
}

namespace llive::memory {

// How an index is built: exact inner product up to `ivf_threshold` vectors, an inverted file
// above it (index_factory spelling "IVF<nlist>,Flat" or "IVF<nlist>,SQ8").
struct VectorIndexOptions {
  int dim = 512;
  // Vector count above which Build() makes an IVF index. Default 200000 (memory.ivf_threshold).
  int64_t ivf_threshold = 200000;
  // Inverted lists probed per query. Default 96 (recall@10 above 0.9 at 250,000 vectors per
  // agent in bench/memory_bench, which measures it for several values).
  int ivf_nprobe = 96;
  // Store IVF vectors as 8-bit scalar codes (4x smaller, slightly lower recall). Default false.
  bool ivf_sq8 = false;
};

// What a cache file says about the SQLite state it reflects.
struct VectorIndexWatermarks {
  int64_t indexed_up_to = 0;    // highest record id added
  int64_t changes_applied = 0;  // highest vector_changes.seq replayed
  std::string database_uid;     // the database the index was built from
  std::string embedder_tag;     // the embedder whose vectors it holds
};

// Not thread-safe: the owner serialises calls. Search results are (record id, inner product).
class VectorIndex {
 public:
  // An index of `ids`/`vectors` (row-major, ids.size() x dim): exact when there are at most
  // ivf_threshold vectors, else IVF trained on (a sample of) them.
  static absl::StatusOr<std::unique_ptr<VectorIndex>> Build(const VectorIndexOptions& options,
                                                            absl::Span<const int64_t> ids,
                                                            absl::Span<const float> vectors);
  // Reads a cache file written by Save. NotFound when it does not exist; DataLoss when it is
  // truncated, corrupt or of another dimension (the caller rebuilds from SQLite).
  static absl::StatusOr<std::unique_ptr<VectorIndex>> Load(const std::string& path,
                                                           const VectorIndexOptions& options);
  ~VectorIndex();

  // Writes the index and its watermarks atomically (temporary file, rename). Not synced to
  // disk: after a power cut the cache may be old or torn, which Load detects.
  absl::Status Save(const std::string& path) const;

  void Add(absl::Span<const int64_t> ids, absl::Span<const float> vectors);
  void Remove(absl::Span<const int64_t> ids);
  // The `k` nearest ids by inner product, best first (fewer when the index is smaller).
  std::vector<std::pair<int64_t, float>> Search(absl::Span<const float> query, int k) const;

  int64_t size() const;
  bool is_ivf() const { return is_ivf_; }
  VectorIndexWatermarks& watermarks() { return watermarks_; }
  const VectorIndexWatermarks& watermarks() const { return watermarks_; }

 private:
  VectorIndex(std::unique_ptr<faiss::Index> index, bool is_ivf, int dim);
  std::unique_ptr<faiss::Index> index_;
  bool is_ivf_;
  int dim_;
  VectorIndexWatermarks watermarks_;
};

}  // namespace llive::memory
