// The FAISS caches of a MemoryStore: one VectorIndex per (layer, agent), kept in step with
// SQLite by watermarks, loaded or rebuilt in the background, exact scan meanwhile.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "memory/database.h"
#include "memory/records.h"
#include "memory/vector_index.h"

namespace llive::memory {

struct VectorCacheOptions {
  std::string database_path;  // for the background thread's own connection
  std::string index_dir;      // empty: never read or write cache files
  VectorIndexOptions index;
  std::string database_uid;
  std::string embedder_tag;
  int64_t embedder_row_id = 0;  // embedders.id of the store's embedder
  int busy_timeout_ms = 5000;
  // Agents with at most this many vectors are indexed on first use without waiting for the
  // background thread (the exact scan reads them anyway). Default 50000.
  int64_t inline_build_limit = 50000;
};

// Thread-safety: the methods taking a Database run on the store's connection and must be
// serialised by the store (its lock); the background thread only exchanges finished indexes
// through an internal mutex.
class VectorCache {
 public:
  explicit VectorCache(VectorCacheOptions options);
  // Stops the background thread after its current job and saves the caches that changed.
  ~VectorCache();

  // Queues loading (or rebuilding) of the caches of every (layer, agent) that has vectors.
  absl::Status WarmUp(Database& db);
  // Brings the agent's index up to date with SQLite (new rows, updates, deletions, also
  // those of other processes) and returns the `k` nearest record ids by inner product. Uses
  // an exact scan of SQLite while the index is being built.
  absl::StatusOr<std::vector<std::pair<int64_t, float>>> Search(Database& db, Layer layer,
                                                                absl::string_view agent_id,
                                                                absl::Span<const float> query,
                                                                int k);
  // Catches the agent's index up with SQLite as Search does and returns it, or null while none
  // is in use yet (Search then scans SQLite). The index stays valid until this cache is next
  // called for the same layer and agent; searching it needs no Database, so that may run on
  // another thread meanwhile.
  absl::StatusOr<const VectorIndex*> CaughtUpIndex(Database& db, Layer layer,
                                                   absl::string_view agent_id);
  // Catches a ready index up after the store wrote (cheap when nothing else wrote).
  absl::Status CatchUp(Database& db, Layer layer, absl::string_view agent_id);
  // Catches up and rewrites the cache file now, so removed vectors leave the disk.
  absl::Status CatchUpAndSave(Database& db, Layer layer, absl::string_view agent_id);
  // Blocks until queued background jobs are done.
  void Wait();
  // Saves every index whose watermarks moved since it was loaded or saved.
  absl::Status SaveAll();
  // Whether the agent's index is loaded and in use (for tests and stats).
  bool IsReady(Layer layer, absl::string_view agent_id);
  // The number of vectors in the index in use, -1 when none is.
  int64_t Size(Layer layer, absl::string_view agent_id);
  // Whether it is an IVF index (for tests and stats).
  bool IsIvf(Layer layer, absl::string_view agent_id);

 private:
  struct Slot {
    std::unique_ptr<VectorIndex> index;  // in use; touched only under the store's lock
    std::unique_ptr<VectorIndex> built;  // handed over by the background thread
    bool queued = false;
    bool rebuild = false;  // queued to replace a flat index that outgrew ivf_threshold
    bool dirty = false;
    std::string last_error;
  };
  using Key = std::pair<Layer, std::string>;

  std::string FileFor(const Key& key) const;
  Slot& SlotFor(const Key& key);  // mu_ held
  // Takes over a finished background build; returns the index in use or null.
  VectorIndex* Ready(const Key& key);
  void Enqueue(const Key& key);  // mu_ held
  void Worker();
  absl::StatusOr<std::unique_ptr<VectorIndex>> LoadValid(Database& db, const Key& key);
  absl::StatusOr<std::unique_ptr<VectorIndex>> BuildFromDatabase(Database& db, const Key& key);
  absl::Status CatchUpIndex(Database& db, const Key& key, VectorIndex& index);

  VectorCacheOptions options_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::map<Key, Slot> slots_;
  std::deque<Key> queue_;
  bool busy_ = false;
  bool stop_ = false;
  std::thread worker_;
};

// The SQL table of a layer's vectors: "events" or "entries" (only those two have vectors).
const char* VectorTable(Layer layer);

}  // namespace llive::memory
