// Keeps FAISS indexes in step with SQLite: inserts follow an id watermark (ids are
// AUTOINCREMENT, never reused), updates and deletions follow vector_changes.seq.
#include "memory/vector_cache.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "memory/statement.h"
#include "memory/vector_math.h"
#include "spdlog/spdlog.h"

namespace llive::memory {
namespace {

// Cache files larger than this are loaded by the background thread, not on first use.
constexpr int64_t kInlineLoadBytes = 64 << 20;

// Reads inside one read transaction, so the vectors and the change sequence agree.
class ReadTransaction {
 public:
  explicit ReadTransaction(Database& db) : db_(db) { ok_ = db_.Exec("BEGIN").ok(); }
  ~ReadTransaction() {
    if (ok_) db_.Exec("COMMIT").IgnoreError();
  }
  bool ok() const { return ok_; }

 private:
  Database& db_;
  bool ok_;
};

struct Snapshot {
  std::vector<int64_t> ids;
  std::vector<float> vectors;
  int64_t max_seq = 0;
};

absl::StatusOr<int64_t> MaxChangeSeq(Database& db) {
  absl::StatusOr<Statement> max_seq =
      Statement::Prepare(db, "SELECT coalesce(max(seq), 0) FROM vector_changes");
  if (!max_seq.ok()) return max_seq.status();
  if (absl::StatusOr<bool> row = max_seq->Step(); !row.ok()) return row.status();
  return max_seq->ColumnInt(0);
}

// Every vector of one agent in one layer made by the store's embedder.
absl::StatusOr<Snapshot> ReadAll(Database& db, Layer layer, const std::string& agent_id,
                                 int64_t embedder_row_id, int dim) {
  ReadTransaction transaction(db);
  if (!transaction.ok()) return absl::UnavailableError(absl::StrCat("cannot read ", db.path()));
  Snapshot snapshot;
  absl::StatusOr<int64_t> max_seq = MaxChangeSeq(db);
  if (!max_seq.ok()) return max_seq.status();
  snapshot.max_seq = *max_seq;
  absl::StatusOr<Statement> rows =
      Statement::Prepare(db, absl::StrCat("SELECT id, embedding FROM ", VectorTable(layer),
                                          " WHERE agent_id = ?1 AND embedder_id = ?2 ORDER BY id"));
  if (!rows.ok()) return rows.status();
  rows->Bind(1, agent_id).Bind(2, embedder_row_id);
  const size_t bytes = static_cast<size_t>(dim) * sizeof(float);
  while (true) {
    absl::StatusOr<bool> row = rows->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const void* blob = sqlite3_column_blob(rows->handle(), 1);
    if (static_cast<size_t>(sqlite3_column_bytes(rows->handle(), 1)) != bytes) continue;
    snapshot.ids.push_back(rows->ColumnInt(0));
    // SQLite's blob pointers need not be aligned for float: copy bytes.
    const size_t at = snapshot.vectors.size();
    snapshot.vectors.resize(at + static_cast<size_t>(dim));
    std::memcpy(snapshot.vectors.data() + at, blob, bytes);
  }
  return snapshot;
}

std::vector<std::pair<int64_t, float>> ExactSearch(const Snapshot& snapshot,
                                                   absl::Span<const float> query, int k) {
  const size_t dim = query.size();
  std::vector<std::pair<int64_t, float>> scored(snapshot.ids.size());
  for (size_t i = 0; i < snapshot.ids.size(); ++i) {
    scored[i] = {snapshot.ids[i], DotProduct(query.data(), snapshot.vectors.data() + i * dim, dim)};
  }
  const size_t keep = std::min(scored.size(), static_cast<size_t>(std::max(k, 0)));
  std::partial_sort(scored.begin(), scored.begin() + keep, scored.end(),
                    [](const auto& a, const auto& b) { return a.second > b.second; });
  scored.resize(keep);
  return scored;
}

}  // namespace

const char* VectorTable(Layer layer) { return layer == Layer::kSemantic ? "entries" : "events"; }

VectorCache::VectorCache(VectorCacheOptions options) : options_(std::move(options)) {
  worker_ = std::thread([this] { Worker(); });
}

VectorCache::~VectorCache() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
    queue_.clear();
  }
  wake_.notify_all();
  worker_.join();
  if (absl::Status s = SaveAll(); !s.ok()) spdlog::warn("{}", std::string(s.message()));
}

std::string VectorCache::FileFor(const Key& key) const {
  return (std::filesystem::path(options_.index_dir) /
          absl::StrCat(LayerName(key.first), "-", absl::BytesToHexString(key.second), ".faiss"))
      .string();
}

VectorCache::Slot& VectorCache::SlotFor(const Key& key) { return slots_[key]; }

VectorIndex* VectorCache::Ready(const Key& key) {
  std::lock_guard<std::mutex> lock(mu_);
  Slot& slot = SlotFor(key);
  if (slot.built != nullptr) {
    slot.index = std::move(slot.built);
    slot.dirty = false;
  }
  return slot.index.get();
}

void VectorCache::Enqueue(const Key& key) {
  Slot& slot = SlotFor(key);
  if (slot.queued || stop_) return;
  slot.queued = true;
  queue_.push_back(key);
  wake_.notify_one();
}

absl::Status VectorCache::WarmUp(Database& db) {
  for (Layer layer : {Layer::kEpisodic, Layer::kSemantic}) {
    absl::StatusOr<Statement> agents =
        Statement::Prepare(db, absl::StrCat("SELECT DISTINCT agent_id FROM ", VectorTable(layer)));
    if (!agents.ok()) return agents.status();
    std::vector<std::string> found;
    while (true) {
      absl::StatusOr<bool> row = agents->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      found.push_back(agents->ColumnText(0));
    }
    std::lock_guard<std::mutex> lock(mu_);
    for (std::string& agent : found) Enqueue({layer, std::move(agent)});
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<VectorIndex>> VectorCache::LoadValid(Database& db, const Key& key) {
  if (options_.index_dir.empty()) return absl::NotFoundError("no index folder");
  absl::StatusOr<std::unique_ptr<VectorIndex>> index =
      VectorIndex::Load(FileFor(key), options_.index);
  if (!index.ok()) return index.status();
  const VectorIndexWatermarks& marks = (*index)->watermarks();
  absl::StatusOr<Statement> max_id =
      Statement::Prepare(db, "SELECT coalesce(seq, 0) FROM sqlite_sequence WHERE name = ?1");
  if (!max_id.ok()) return max_id.status();
  max_id->Bind(1, absl::string_view(VectorTable(key.first)));
  absl::StatusOr<bool> row = max_id->Step();
  if (!row.ok()) return row.status();
  const int64_t highest_id = *row ? max_id->ColumnInt(0) : 0;
  absl::StatusOr<int64_t> max_seq = MaxChangeSeq(db);
  if (!max_seq.ok()) return max_seq.status();
  if (marks.database_uid != options_.database_uid || marks.embedder_tag != options_.embedder_tag ||
      marks.indexed_up_to > highest_id || marks.changes_applied > *max_seq) {
    return absl::FailedPreconditionError(
        absl::StrCat(FileFor(key), " belongs to another database or embedder; rebuilding"));
  }
  return index;
}

absl::StatusOr<std::unique_ptr<VectorIndex>> VectorCache::BuildFromDatabase(Database& db,
                                                                            const Key& key) {
  absl::StatusOr<Snapshot> snapshot =
      ReadAll(db, key.first, key.second, options_.embedder_row_id, options_.index.dim);
  if (!snapshot.ok()) return snapshot.status();
  absl::StatusOr<std::unique_ptr<VectorIndex>> index =
      VectorIndex::Build(options_.index, snapshot->ids, snapshot->vectors);
  if (!index.ok()) return index.status();
  VectorIndexWatermarks& marks = (*index)->watermarks();
  marks.indexed_up_to = snapshot->ids.empty() ? 0 : snapshot->ids.back();
  marks.changes_applied = snapshot->max_seq;
  marks.database_uid = options_.database_uid;
  marks.embedder_tag = options_.embedder_tag;
  return index;
}

void VectorCache::Worker() {
  std::unique_ptr<Database> db;
  while (true) {
    Key key;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stop_ || !queue_.empty(); });
      if (stop_) break;
      key = queue_.front();
      queue_.pop_front();
      busy_ = true;
    }
    absl::StatusOr<std::unique_ptr<VectorIndex>> index = absl::UnavailableError("no connection");
    if (db == nullptr) {
      absl::StatusOr<std::unique_ptr<Database>> opened =
          Database::Open(options_.database_path, {.create_if_missing = false,
                                                  .read_only = true,
                                                  .busy_timeout_ms = options_.busy_timeout_ms});
      if (opened.ok())
        db = *std::move(opened);
      else
        index = opened.status();
    }
    if (db != nullptr) {
      // A loaded flat index past the IVF threshold is rebuilt as IVF.
      bool want_ivf = false;
      {
        std::lock_guard<std::mutex> lock(mu_);
        want_ivf = std::exchange(slots_[key].rebuild, false);
      }
      index = want_ivf ? absl::NotFoundError("rebuild") : LoadValid(*db, key);
      if (!index.ok()) {
        if (!absl::IsNotFound(index.status()))
          spdlog::info("{}", std::string(index.status().message()));
        index = BuildFromDatabase(*db, key);
        if (index.ok() && !options_.index_dir.empty()) {
          if (absl::Status s = (*index)->Save(FileFor(key)); !s.ok()) {
            spdlog::warn("{}", std::string(s.message()));
          }
        }
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    Slot& slot = slots_[key];
    slot.queued = false;
    if (index.ok()) {
      slot.built = *std::move(index);
      slot.last_error.clear();
    } else {
      slot.last_error = std::string(index.status().message());
      spdlog::warn("vector index {}: {}", FileFor(key), slot.last_error);
    }
    busy_ = false;
    idle_.notify_all();
  }
  std::lock_guard<std::mutex> lock(mu_);
  busy_ = false;
  idle_.notify_all();
}

void VectorCache::Wait() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_.wait(lock, [this] { return stop_ || (queue_.empty() && !busy_); });
}

absl::Status VectorCache::CatchUpIndex(Database& db, const Key& key, VectorIndex& index) {
  const auto [layer, agent_id] = key;
  ReadTransaction transaction(db);
  if (!transaction.ok()) return absl::UnavailableError(absl::StrCat("cannot read ", db.path()));
  VectorIndexWatermarks& marks = index.watermarks();
  const size_t dim = static_cast<size_t>(options_.index.dim);
  bool changed = false;

  absl::StatusOr<Statement> changes = Statement::Prepare(
      db,
      "SELECT seq, record_id FROM vector_changes WHERE layer = ?1 AND agent_id = ?2 AND seq > ?3 "
      "ORDER BY seq");
  if (!changes.ok()) return changes.status();
  changes->Bind(1, LayerName(layer)).Bind(2, agent_id).Bind(3, marks.changes_applied);
  std::vector<int64_t> touched;
  while (true) {
    absl::StatusOr<bool> row = changes->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    marks.changes_applied = changes->ColumnInt(0);
    touched.push_back(changes->ColumnInt(1));
  }
  if (!touched.empty()) {
    std::sort(touched.begin(), touched.end());
    touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
    index.Remove(touched);
    absl::StatusOr<Statement> current = Statement::Prepare(
        db, absl::StrCat("SELECT embedding FROM ", VectorTable(layer),
                         " WHERE id = ?1 AND agent_id = ?2 AND embedder_id = ?3"));
    if (!current.ok()) return current.status();
    for (int64_t id : touched) {
      if (id > marks.indexed_up_to) continue;  // the insert pass below adds it
      current->Reset();
      current->Bind(1, id).Bind(2, agent_id).Bind(3, options_.embedder_row_id);
      absl::StatusOr<bool> row = current->Step();
      if (!row.ok()) return row.status();
      if (!*row) continue;
      std::vector<float> vector = current->ColumnFloats(0);
      if (vector.size() == dim) index.Add({&id, 1}, vector);
    }
    changed = true;
  }

  absl::StatusOr<Statement> rows = Statement::Prepare(
      db, absl::StrCat("SELECT id, embedding FROM ", VectorTable(layer),
                       " WHERE agent_id = ?1 AND id > ?2 AND embedder_id = ?3 ORDER BY id"));
  if (!rows.ok()) return rows.status();
  rows->Bind(1, agent_id).Bind(2, marks.indexed_up_to).Bind(3, options_.embedder_row_id);
  std::vector<int64_t> ids;
  std::vector<float> vectors;
  while (true) {
    absl::StatusOr<bool> row = rows->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    const int64_t id = rows->ColumnInt(0);
    marks.indexed_up_to = id;
    if (static_cast<size_t>(sqlite3_column_bytes(rows->handle(), 1)) != dim * sizeof(float)) {
      continue;
    }
    ids.push_back(id);
    const size_t at = vectors.size();
    vectors.resize(at + dim);
    std::memcpy(vectors.data() + at, sqlite3_column_blob(rows->handle(), 1), dim * sizeof(float));
  }
  if (!ids.empty()) {
    index.Add(ids, vectors);
    changed = true;
  }
  if (changed) {
    std::lock_guard<std::mutex> lock(mu_);
    Slot& slot = SlotFor(key);
    slot.dirty = true;
    if (!index.is_ivf() && index.size() > options_.index.ivf_threshold && !slot.queued) {
      slot.rebuild = true;
      Enqueue(key);
    }
  }
  return absl::OkStatus();
}

absl::Status VectorCache::CatchUp(Database& db, Layer layer, absl::string_view agent_id) {
  const Key key{layer, std::string(agent_id)};
  VectorIndex* index = Ready(key);
  if (index == nullptr) return absl::OkStatus();
  return CatchUpIndex(db, key, *index);
}

absl::Status VectorCache::CatchUpAndSave(Database& db, Layer layer, absl::string_view agent_id) {
  const Key key{layer, std::string(agent_id)};
  VectorIndex* index = Ready(key);
  if (index == nullptr) {
    // No index in use: a cache file on disk may still hold removed vectors; drop it.
    if (!options_.index_dir.empty()) std::filesystem::remove(FileFor(key));
    return absl::OkStatus();
  }
  if (absl::Status s = CatchUpIndex(db, key, *index); !s.ok()) return s;
  if (options_.index_dir.empty()) return absl::OkStatus();
  if (absl::Status s = index->Save(FileFor(key)); !s.ok()) return s;
  std::lock_guard<std::mutex> lock(mu_);
  SlotFor(key).dirty = false;
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<int64_t, float>>> VectorCache::Search(
    Database& db, Layer layer, absl::string_view agent_id, absl::Span<const float> query, int k) {
  const Key key{layer, std::string(agent_id)};
  VectorIndex* index = Ready(key);
  if (index == nullptr) {
    bool queued = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      queued = SlotFor(key).queued;
    }
    if (!queued) {
      std::error_code ignored;
      const std::string file = options_.index_dir.empty() ? std::string() : FileFor(key);
      const auto file_bytes = file.empty() ? 0 : std::filesystem::file_size(file, ignored);
      const bool small_file =
          !ignored && file_bytes > 0 && file_bytes <= static_cast<uintmax_t>(kInlineLoadBytes);
      absl::StatusOr<std::unique_ptr<VectorIndex>> loaded =
          small_file ? LoadValid(db, key) : absl::NotFoundError("no small cache file");
      if (loaded.ok()) {
        std::lock_guard<std::mutex> lock(mu_);
        SlotFor(key).index = *std::move(loaded);
      } else if (!file.empty() && !ignored && file_bytes > 0 && !small_file) {
        std::lock_guard<std::mutex> lock(mu_);
        Enqueue(key);
        queued = true;
      }
    }
    index = Ready(key);
    if (index == nullptr) {
      absl::StatusOr<Snapshot> snapshot =
          ReadAll(db, layer, key.second, options_.embedder_row_id, options_.index.dim);
      if (!snapshot.ok()) return snapshot.status();
      std::vector<std::pair<int64_t, float>> hits = ExactSearch(*snapshot, query, k);
      if (!queued) {
        if (static_cast<int64_t>(snapshot->ids.size()) <= options_.inline_build_limit) {
          VectorIndexOptions flat = options_.index;
          flat.ivf_threshold = std::numeric_limits<int64_t>::max();
          absl::StatusOr<std::unique_ptr<VectorIndex>> built =
              VectorIndex::Build(flat, snapshot->ids, snapshot->vectors);
          if (built.ok()) {
            VectorIndexWatermarks& marks = (*built)->watermarks();
            marks.indexed_up_to = snapshot->ids.empty() ? 0 : snapshot->ids.back();
            marks.changes_applied = snapshot->max_seq;
            marks.database_uid = options_.database_uid;
            marks.embedder_tag = options_.embedder_tag;
            std::lock_guard<std::mutex> lock(mu_);
            Slot& slot = SlotFor(key);
            slot.index = *std::move(built);
            slot.dirty = true;
          }
        } else {
          std::lock_guard<std::mutex> lock(mu_);
          Enqueue(key);
        }
      }
      return hits;
    }
  }
  if (absl::Status s = CatchUpIndex(db, key, *index); !s.ok()) return s;
  return index->Search(query, k);
}

absl::StatusOr<const VectorIndex*> VectorCache::CaughtUpIndex(Database& db, Layer layer,
                                                              absl::string_view agent_id) {
  const Key key{layer, std::string(agent_id)};
  VectorIndex* index = Ready(key);
  if (index == nullptr) return nullptr;
  if (absl::Status s = CatchUpIndex(db, key, *index); !s.ok()) return s;
  return index;
}

absl::Status VectorCache::SaveAll() {
  if (options_.index_dir.empty()) return absl::OkStatus();
  std::lock_guard<std::mutex> lock(mu_);
  absl::Status result;
  for (auto& [key, slot] : slots_) {
    if (slot.built != nullptr) {
      slot.index = std::move(slot.built);
      slot.dirty = false;
    }
    if (slot.index == nullptr || !slot.dirty) continue;
    if (absl::Status s = slot.index->Save(FileFor(key)); !s.ok()) {
      result.Update(s);
    } else {
      slot.dirty = false;
    }
  }
  return result;
}

bool VectorCache::IsReady(Layer layer, absl::string_view agent_id) {
  return Ready({layer, std::string(agent_id)}) != nullptr;
}

int64_t VectorCache::Size(Layer layer, absl::string_view agent_id) {
  VectorIndex* index = Ready({layer, std::string(agent_id)});
  return index == nullptr ? -1 : index->size();
}

bool VectorCache::IsIvf(Layer layer, absl::string_view agent_id) {
  VectorIndex* index = Ready({layer, std::string(agent_id)});
  return index != nullptr && index->is_ivf();
}

}  // namespace llive::memory
