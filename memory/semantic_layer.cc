// The semantic layer: distilled entries with vectors, updated in place.
#include "absl/strings/str_cat.h"
#include "memory/fts_tokenizer.h"
#include "memory/memory_store.h"
#include "memory/provenance_json.h"
#include "memory/store_rows.h"
#include "memory/vector_cache.h"
#include "nlohmann/json.hpp"

namespace llive::memory {
namespace {

absl::Status CheckEntry(const SemanticEntryInput& entry) {
  if (entry.kind.empty() || entry.kind.size() > 64) {
    return absl::InvalidArgumentError("entry kind must be 1-64 bytes");
  }
  nlohmann::json json =
      nlohmann::json::parse(entry.metadata.begin(), entry.metadata.end(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError("entry metadata must be a JSON object");
  }
  if (!(entry.importance >= 0 && entry.importance <= 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("entry importance ", entry.importance, " is outside [0, 1]"));
  }
  return absl::OkStatus();
}

const std::string& EntrySelect() {
  static const std::string* select = new std::string(absl::StrCat(
      "SELECT ", kEntryColumns, " FROM entries e JOIN embedders m ON m.id = e.embedder_id "));
  return *select;
}

}  // namespace

absl::StatusOr<int64_t> MemoryStore::AddEntry(absl::string_view agent_id,
                                              const SemanticEntryInput& entry) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  if (absl::Status s = CheckContent("entry content", entry.content); !s.ok()) return s;
  if (absl::Status s = CheckEntry(entry); !s.ok()) return s;
  absl::StatusOr<std::vector<float>> vector = options_.embedder->Embed(entry.content);
  if (!vector.ok()) return vector.status();
  absl::MutexLock lock(&mu_);
  absl::StatusOr<SurpriseWindow*> window = WindowFor(agent_id);
  if (!window.ok()) return window.status();
  const double surprise = (*window)->Surprise(*vector);
  absl::StatusOr<Transaction> transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return transaction.status();
  absl::StatusOr<int64_t> id = InsertEntry(agent_id, entry, *vector, surprise, NewUid(), Now());
  if (!id.ok()) return id.status();
  if (absl::Status s = transaction->Commit(); !s.ok()) return s;
  if (absl::Status s = vectors_->CatchUp(*db_, Layer::kSemantic, agent_id); !s.ok()) return s;
  return *id;
}

absl::Status MemoryStore::UpdateEntry(absl::string_view agent_id, int64_t id,
                                      const SemanticEntryInput& entry) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  if (absl::Status s = CheckContent("entry content", entry.content); !s.ok()) return s;
  if (absl::Status s = CheckEntry(entry); !s.ok()) return s;
  absl::StatusOr<std::vector<float>> vector = options_.embedder->Embed(entry.content);
  if (!vector.ok()) return vector.status();
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return transaction.status();
  std::string old_content;
  {
    absl::StatusOr<StatementLease> select =
        Prepared("SELECT content FROM entries WHERE id = ?1 AND agent_id = ?2");
    if (!select.ok()) return select.status();
    (*select)->Bind(1, id).Bind(2, agent_id);
    absl::StatusOr<bool> row = (*select)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::NotFoundError(absl::StrCat("agent ", agent_id, " has no entry ", id));
    old_content = (*select)->ColumnText(0);
  }
  {
    absl::StatusOr<StatementLease> update = Prepared(
        "UPDATE entries SET kind = ?1, content = ?2, metadata = ?3, importance = ?4, "
        "privacy = ?5, updated_ms = ?6, embedder_id = ?7, embedding = ?8 WHERE id = ?9");
    if (!update.ok()) return update.status();
    (*update)
        ->Bind(1, entry.kind)
        .Bind(2, entry.content)
        .Bind(3, entry.metadata)
        .Bind(4, entry.importance)
        .Bind(5, PrivacyName(entry.privacy))
        .Bind(6, Now())
        .Bind(7, embedder_row_id_)
        .BindBlob(8, vector->data(), vector->size() * sizeof(float))
        .Bind(9, id);
    if (absl::Status s = (*update)->Run(); !s.ok()) return s;
  }
  {
    absl::StatusOr<StatementLease> remove =
        Prepared("INSERT INTO entries_fts(entries_fts, rowid, content) VALUES ('delete', ?1, ?2)");
    if (!remove.ok()) return remove.status();
    (*remove)->Bind(1, id).Bind(2, FtsDocument(agent_id, old_content));
    fts_lengths_->Forget(1, id);
    if (absl::Status s = (*remove)->Run(); !s.ok()) return s;
  }
  {
    absl::StatusOr<StatementLease> insert =
        Prepared("INSERT INTO entries_fts(rowid, content) VALUES (?1, ?2)");
    if (!insert.ok()) return insert.status();
    (*insert)->Bind(1, id).Bind(2, FtsDocument(agent_id, entry.content));
    if (absl::Status s = (*insert)->Run(); !s.ok()) return s;
  }
  if (absl::Status s = RecordVectorChange(Layer::kSemantic, agent_id, id); !s.ok()) return s;
  if (absl::Status s = transaction->Commit(); !s.ok()) return s;
  return vectors_->CatchUp(*db_, Layer::kSemantic, agent_id);
}

absl::StatusOr<SemanticEntry> MemoryStore::GetEntry(absl::string_view agent_id, int64_t id) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared(EntrySelect() + "WHERE e.id = ?1 AND e.agent_id = ?2");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, id).Bind(2, agent_id);
  absl::StatusOr<bool> row = (*select)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("agent ", agent_id, " has no entry ", id));
  return ReadEntry(**select);
}

absl::StatusOr<std::vector<SemanticEntry>> MemoryStore::ListEntries(absl::string_view agent_id,
                                                                    int limit) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared(EntrySelect() + "WHERE e.agent_id = ?1 ORDER BY e.id DESC LIMIT ?2");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, agent_id).Bind(2, int64_t{limit});
  std::vector<SemanticEntry> entries;
  while (true) {
    absl::StatusOr<bool> row = (*select)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return entries;
    absl::StatusOr<SemanticEntry> entry = ReadEntry(**select);
    if (!entry.ok()) return entry.status();
    entries.push_back(*std::move(entry));
  }
}

}  // namespace llive::memory
