// MemoryStore: opening, shared helpers, stats and backup. The layers live in
// episodic_layer.cc, semantic_layer.cc, structural_layer.cc and parameter_layer.cc; recall in
// recall.cc; ageing and erasure in forgetting.cc; JSON Lines in memory_export.cc.
#include "memory/memory_store.h"

#include <chrono>
#include <filesystem>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "memory/fts_rank.h"
#include "memory/fts_tokenizer.h"
#include "memory/hashing_embedder.h"
#include "memory/schema.h"
#include "memory/text_segmenter.h"
#include "memory/vector_cache.h"

namespace llive::memory {

absl::StatusOr<std::unique_ptr<MemoryStore>> MemoryStore::Open(StoreOptions options) {
  if (options.database_path.empty()) {
    return absl::InvalidArgumentError("StoreOptions.database_path is empty; name a database file");
  }
  if (options.embedder == nullptr) options.embedder = std::make_shared<HashingEmbedder>(512);
  options.vector_index.dim = options.embedder->dim();
  options.bayesian_gate.cold_start_theta = options.surprise_theta;
  if (!options.index_dir.empty()) {
    std::error_code error;
    std::filesystem::create_directories(options.index_dir, error);
    if (error) {
      return absl::UnavailableError(absl::StrCat("cannot create the index folder ",
                                                 options.index_dir, ": ", error.message()));
    }
  }
  absl::StatusOr<std::unique_ptr<Database>> db =
      Database::Open(options.database_path, {.busy_timeout_ms = options.busy_timeout_ms});
  if (!db.ok()) return db.status();
  auto fts_ahead = std::make_unique<FtsTermsAhead>();
  if (absl::Status s = RegisterFtsTokenizer(**db, fts_ahead.get()); !s.ok()) return s;
  auto fts_lengths = std::make_unique<FtsLengths>();
  if (absl::Status s = RegisterFtsRank(**db, fts_lengths.get()); !s.ok()) return s;
  // Deleted content is overwritten with zeros, not left in free pages.
  if (absl::Status s = (*db)->Exec("PRAGMA secure_delete = ON"); !s.ok()) return s;
  if (absl::Status s = MigrateSchema(**db); !s.ok()) return s;

  std::unique_ptr<MemoryStore> store(new MemoryStore(std::move(options), *std::move(db),
                                                     std::move(fts_lengths), std::move(fts_ahead)));
  absl::MutexLock lock(&store->mu_);
  {
    absl::StatusOr<StatementLease> uid =
        store->Prepared("SELECT value FROM store_info WHERE key = 'database_uid'");
    if (!uid.ok()) return uid.status();
    absl::StatusOr<bool> row = (*uid)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::DataLossError(absl::StrCat(store->path(), " has no database_uid"));
    store->database_uid_ = (*uid)->ColumnText(0);
  }
  absl::StatusOr<int64_t> embedder_row = store->EmbedderRowId();
  if (!embedder_row.ok()) return embedder_row.status();
  store->vectors_ = std::make_unique<VectorCache>(VectorCacheOptions{
      .database_path = store->options_.database_path,
      .index_dir = store->options_.index_dir,
      .index = store->options_.vector_index,
      .database_uid = store->database_uid_,
      .embedder_tag = store->options_.embedder->tag(),
      .embedder_row_id = *embedder_row,
      .busy_timeout_ms = store->options_.busy_timeout_ms,
  });
  if (absl::Status s = store->vectors_->WarmUp(*store->db_); !s.ok()) return s;
  return store;
}

MemoryStore::MemoryStore(StoreOptions options, std::unique_ptr<Database> db,
                         std::unique_ptr<FtsLengths> fts_lengths,
                         std::unique_ptr<FtsTermsAhead> fts_ahead)
    : options_(std::move(options)),
      fts_lengths_(std::move(fts_lengths)),
      fts_ahead_(std::move(fts_ahead)),
      db_(std::move(db)) {}

MemoryStore::~MemoryStore() {
  vectors_.reset();  // joins the background thread and saves the caches
  absl::MutexLock lock(&mu_);
  statements_.clear();
}

int64_t MemoryStore::Now() const {
  if (options_.clock) return options_.clock();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

absl::StatusOr<StatementLease> MemoryStore::Prepared(absl::string_view sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    absl::StatusOr<Statement> statement = Statement::Prepare(*db_, sql);
    if (!statement.ok()) return statement.status();
    it = statements_.emplace(std::string(sql), std::make_unique<Statement>(*std::move(statement)))
             .first;
  }
  it->second->Reset();
  return StatementLease(it->second.get());
}

absl::Status MemoryStore::ValidateAgentId(absl::string_view agent_id) {
  if (agent_id.empty() || agent_id.size() > 128) {
    return absl::InvalidArgumentError(
        absl::StrCat("agent id \"", agent_id.substr(0, 40), "\" must be 1 to 128 bytes long"));
  }
  for (char c : agent_id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-' || c == ':' || c == '@';
    if (!ok) {
      return absl::InvalidArgumentError(
          absl::StrCat("agent id \"", absl::CHexEscape(agent_id.substr(0, 40)),
                       "\" may hold only letters, digits and . _ - : @"));
    }
  }
  return absl::OkStatus();
}

absl::Status MemoryStore::CheckContent(absl::string_view what, absl::string_view content) const {
  if (content.empty()) return absl::InvalidArgumentError(absl::StrCat(what, " is empty"));
  if (static_cast<int64_t>(content.size()) > options_.max_content_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", content.size(), " bytes, over the limit of ",
                     options_.max_content_bytes, " (memory.max_content_bytes); split it"));
  }
  if (!IsValidUtf8(content)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " is not valid UTF-8"));
  }
  return absl::OkStatus();
}

absl::StatusOr<int64_t> MemoryStore::EmbedderRowId() {
  if (embedder_row_id_ != 0) return embedder_row_id_;
  const std::string tag = options_.embedder->tag();
  {
    absl::StatusOr<StatementLease> insert =
        Prepared("INSERT OR IGNORE INTO embedders(name, dim) VALUES (?1, ?2)");
    if (!insert.ok()) return insert.status();
    (*insert)->Bind(1, tag).Bind(2, int64_t{options_.embedder->dim()});
    if (absl::Status s = (*insert)->Run(); !s.ok()) return s;
  }
  absl::StatusOr<StatementLease> select = Prepared("SELECT id FROM embedders WHERE name = ?1");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, tag);
  absl::StatusOr<bool> row = (*select)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError(absl::StrCat("embedder ", tag, " was not recorded"));
  embedder_row_id_ = (*select)->ColumnInt(0);
  return embedder_row_id_;
}

absl::Status MemoryStore::RecordVectorChange(Layer layer, absl::string_view agent_id, int64_t id) {
  absl::StatusOr<StatementLease> insert =
      Prepared("INSERT INTO vector_changes(layer, agent_id, record_id) VALUES (?1, ?2, ?3)");
  if (!insert.ok()) return insert.status();
  (*insert)->Bind(1, LayerName(layer)).Bind(2, agent_id).Bind(3, id);
  return (*insert)->Run();
}

absl::Status MemoryStore::Backup(const std::string& path, bool overwrite) {
  std::error_code error;
  if (std::filesystem::exists(path, error)) {
    if (std::filesystem::equivalent(path, this->path(), error)) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot back up ", this->path(), " onto itself; give another file"));
    }
    if (!overwrite) {
      return absl::AlreadyExistsError(absl::StrCat(
          path,
          " already exists; the backup would replace it (remove it, or overwrite it on purpose)"));
    }
  }
  absl::MutexLock lock(&mu_);
  // A WAL database's page size is fixed, and a backup copies pages: the copy gets this one's.
  int page_size = 0;
  {
    absl::StatusOr<StatementLease> size = Prepared("PRAGMA page_size");
    if (!size.ok()) return size.status();
    absl::StatusOr<bool> row = (*size)->Step();
    if (!row.ok()) return row.status();
    page_size = static_cast<int>((*size)->ColumnInt(0));
  }
  absl::StatusOr<std::unique_ptr<Database>> target =
      Database::Open(path, {.new_page_size = page_size});
  if (!target.ok()) return target.status();
  sqlite3_backup* backup = sqlite3_backup_init((*target)->handle(), "main", db_->handle(), "main");
  if (backup == nullptr) return (*target)->Error(SQLITE_ERROR, "cannot start the backup");
  int rc = SQLITE_OK;
  // Pages in steps, so a long backup lets other connections in between.
  do {
    rc = sqlite3_backup_step(backup, 1024);
  } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
  sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) return (*target)->Error(rc, "backup failed");
  return (*target)->Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

absl::StatusOr<StoreStats> MemoryStore::Stats() {
  absl::MutexLock lock(&mu_);
  StoreStats stats;
  absl::StatusOr<int> version = db_->UserVersion();
  if (!version.ok()) return version.status();
  stats.schema_version = *version;
  stats.embedder_tag = options_.embedder->tag();
  std::error_code ignored;
  stats.database_bytes =
      static_cast<int64_t>(std::filesystem::file_size(options_.database_path, ignored));
  const auto wal = std::filesystem::file_size(options_.database_path + "-wal", ignored);
  if (!ignored) stats.database_bytes += static_cast<int64_t>(wal);
  absl::StatusOr<StatementLease> counts = Prepared(R"sql(
    WITH agents AS (SELECT agent_id FROM events UNION SELECT agent_id FROM entries
                    UNION SELECT agent_id FROM pages UNION SELECT agent_id FROM artifacts)
    SELECT a.agent_id,
      (SELECT count(*) FROM events WHERE agent_id = a.agent_id),
      (SELECT count(*) FROM events WHERE agent_id = a.agent_id AND id > coalesce(
          (SELECT event_id FROM consolidation_watermarks WHERE agent_id = a.agent_id), 0)),
      (SELECT count(*) FROM entries WHERE agent_id = a.agent_id),
      (SELECT count(*) FROM pages WHERE agent_id = a.agent_id),
      (SELECT count(*) FROM edges WHERE agent_id = a.agent_id),
      (SELECT count(*) FROM artifacts WHERE agent_id = a.agent_id)
    FROM agents a ORDER BY a.agent_id)sql");
  if (!counts.ok()) return counts.status();
  while (true) {
    absl::StatusOr<bool> row = (*counts)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    stats.agents.push_back(AgentStats{(*counts)->ColumnText(0), (*counts)->ColumnInt(1),
                                      (*counts)->ColumnInt(2), (*counts)->ColumnInt(3),
                                      (*counts)->ColumnInt(4), (*counts)->ColumnInt(5),
                                      (*counts)->ColumnInt(6)});
  }
  return stats;
}

void MemoryStore::WaitForIndexes() { vectors_->Wait(); }

absl::StatusOr<int64_t> MemoryStore::IndexedVectorCount(absl::string_view agent_id, Layer layer) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  const std::vector<float> probe(static_cast<size_t>(options_.embedder->dim()), 0.0f);
  for (int attempt = 0; attempt < 3; ++attempt) {
    vectors_->Wait();
    absl::MutexLock lock(&mu_);
    // A search builds (or queues) the index and catches it up.
    absl::StatusOr<std::vector<std::pair<int64_t, float>>> found =
        vectors_->Search(*db_, layer, agent_id, probe, 1);
    if (!found.ok()) return found.status();
    if (int64_t size = vectors_->Size(layer, agent_id); size >= 0) return size;
  }
  return absl::UnavailableError(
      absl::StrCat("the vector index of agent ", agent_id, " could not be built; see the log"));
}

}  // namespace llive::memory
