// Forgetting that leaves no trace in the files (rows with secure_delete, FTS5 terms merged
// away, FAISS caches rewritten, WAL checkpointed and truncated), and ageing through phases.
#include <map>

#include "absl/strings/str_cat.h"
#include "memory/fts_tokenizer.h"
#include "memory/memory_store.h"
#include "memory/store_rows.h"
#include "memory/vector_cache.h"

namespace llive::memory {
namespace {

const char* TableOf(Layer layer) {
  switch (layer) {
    case Layer::kEpisodic:
      return "events";
    case Layer::kSemantic:
      return "entries";
    case Layer::kStructural:
      return "pages";
    case Layer::kParameter:
      return "artifacts";
  }
  return "events";
}

}  // namespace

absl::Status MemoryStore::EraseRows(Layer layer, absl::string_view agent_id,
                                    const std::vector<int64_t>& ids) {
  const bool has_text = layer == Layer::kEpisodic || layer == Layer::kSemantic;
  for (int64_t id : ids) {
    if (has_text) {
      std::string content;
      {
        absl::StatusOr<StatementLease> select = Prepared(absl::StrCat(
            "SELECT content FROM ", TableOf(layer), " WHERE id = ?1 AND agent_id = ?2"));
        if (!select.ok()) return select.status();
        (*select)->Bind(1, id).Bind(2, agent_id);
        absl::StatusOr<bool> row = (*select)->Step();
        if (!row.ok()) return row.status();
        if (!*row) continue;
        content = (*select)->ColumnText(0);
      }
      const char* fts = layer == Layer::kSemantic ? "entries_fts" : "events_fts";
      absl::StatusOr<StatementLease> remove = Prepared(absl::StrCat(
          "INSERT INTO ", fts, "(", fts, ", rowid, content) VALUES ('delete', ?1, ?2)"));
      if (!remove.ok()) return remove.status();
      (*remove)->Bind(1, id).Bind(2, FtsDocument(agent_id, content));
      if (absl::Status s = (*remove)->Run(); !s.ok()) return s;
      if (absl::Status s = RecordVectorChange(layer, agent_id, id); !s.ok()) return s;
    }
    if (layer == Layer::kEpisodic) {
      // Entries the surprise gate copied verbatim from this event go with it.
      std::vector<int64_t> copies;
      {
        absl::StatusOr<StatementLease> select = Prepared(
            "SELECT n.id FROM entries n, json_each(n.provenance, '$.derived_from') d "
            "WHERE n.agent_id = ?1 AND n.kind = 'surprise' AND d.value = "
            "(SELECT uid FROM events WHERE id = ?2)");
        if (!select.ok()) return select.status();
        (*select)->Bind(1, agent_id).Bind(2, id);
        while (true) {
          absl::StatusOr<bool> row = (*select)->Step();
          if (!row.ok()) return row.status();
          if (!*row) break;
          copies.push_back((*select)->ColumnInt(0));
        }
      }
      if (absl::Status s = EraseRows(Layer::kSemantic, agent_id, copies); !s.ok()) return s;
    }
    absl::StatusOr<StatementLease> erase =
        Prepared(absl::StrCat("DELETE FROM ", TableOf(layer), " WHERE id = ?1 AND agent_id = ?2"));
    if (!erase.ok()) return erase.status();
    (*erase)->Bind(1, id).Bind(2, agent_id);
    if (absl::Status s = (*erase)->Run(); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status MemoryStore::ScrubFiles() {
  // 'optimize' merges every FTS5 segment into one, dropping the erased terms; the freed pages
  // are zeroed by secure_delete.
  if (absl::Status s = db_->Exec("INSERT INTO events_fts(events_fts) VALUES ('optimize');"
                                 "INSERT INTO entries_fts(entries_fts) VALUES ('optimize');");
      !s.ok()) {
    return s;
  }
  absl::StatusOr<StatementLease> checkpoint = Prepared("PRAGMA wal_checkpoint(TRUNCATE)");
  if (!checkpoint.ok()) return checkpoint.status();
  absl::StatusOr<bool> row = (*checkpoint)->Step();
  if (!row.ok()) return row.status();
  if (*row && (*checkpoint)->ColumnInt(0) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "the records were erased, but another connection to ", path(),
        " is reading, so the write-ahead log still holds old pages; run `llive memory forget` "
        "again (or close the other process) to finish scrubbing"));
  }
  return absl::OkStatus();
}

absl::Status MemoryStore::Forget(absl::string_view agent_id, Layer layer, int64_t id) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  {
    absl::StatusOr<StatementLease> exists = Prepared(
        absl::StrCat("SELECT 1 FROM ", TableOf(layer), " WHERE id = ?1 AND agent_id = ?2"));
    if (!exists.ok()) return exists.status();
    (*exists)->Bind(1, id).Bind(2, agent_id);
    absl::StatusOr<bool> row = (*exists)->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::NotFoundError(
          absl::StrCat("agent ", agent_id, " has no ", LayerName(layer), " record ", id));
    }
  }
  absl::StatusOr<Transaction> transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return transaction.status();
  if (absl::Status s = EraseRows(layer, agent_id, {id}); !s.ok()) return s;
  if (absl::Status s = transaction->Commit(); !s.ok()) return s;
  windows_.erase(agent_id);
  if (layer == Layer::kEpisodic || layer == Layer::kSemantic) {
    for (Layer changed : {Layer::kEpisodic, Layer::kSemantic}) {
      if (absl::Status s = vectors_->CatchUpAndSave(*db_, changed, agent_id); !s.ok()) return s;
    }
  }
  return ScrubFiles();
}

absl::StatusOr<int64_t> MemoryStore::ForgetAgent(absl::string_view agent_id) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return transaction.status();
  int64_t erased = 0;
  for (Layer layer : {Layer::kStructural, Layer::kEpisodic, Layer::kSemantic, Layer::kParameter}) {
    std::vector<int64_t> ids;
    {
      absl::StatusOr<StatementLease> select =
          Prepared(absl::StrCat("SELECT id FROM ", TableOf(layer), " WHERE agent_id = ?1"));
      if (!select.ok()) return select.status();
      (*select)->Bind(1, agent_id);
      while (true) {
        absl::StatusOr<bool> row = (*select)->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        ids.push_back((*select)->ColumnInt(0));
      }
    }
    if (absl::Status s = EraseRows(layer, agent_id, ids); !s.ok()) return s;
    erased += static_cast<int64_t>(ids.size());
  }
  {
    absl::StatusOr<StatementLease> watermark =
        Prepared("DELETE FROM consolidation_watermarks WHERE agent_id = ?1");
    if (!watermark.ok()) return watermark.status();
    (*watermark)->Bind(1, agent_id);
    if (absl::Status s = (*watermark)->Run(); !s.ok()) return s;
  }
  if (absl::Status s = transaction->Commit(); !s.ok()) return s;
  windows_.erase(agent_id);
  gates_.erase(agent_id);
  for (Layer layer : {Layer::kEpisodic, Layer::kSemantic}) {
    if (absl::Status s = vectors_->CatchUpAndSave(*db_, layer, agent_id); !s.ok()) return s;
  }
  if (absl::Status s = ScrubFiles(); !s.ok()) return s;
  return erased;
}

absl::StatusOr<PhaseReport> MemoryStore::ApplyPhases() {
  absl::MutexLock lock(&mu_);
  const int64_t now = Now();
  PhaseReport report;
  absl::StatusOr<Transaction> transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return transaction.status();
  std::map<std::pair<Layer, std::string>, std::vector<int64_t>> to_erase;
  for (Layer layer : {Layer::kEpisodic, Layer::kSemantic, Layer::kStructural}) {
    struct Change {
      int64_t id;
      Phase phase;
    };
    std::vector<Change> changes;
    {
      const char* surprise = layer == Layer::kStructural ? "0.0" : "surprise";
      absl::StatusOr<StatementLease> select =
          Prepared(absl::StrCat("SELECT id, agent_id, last_access_ms, ", surprise,
                                ", privacy, phase FROM ", TableOf(layer)));
      if (!select.ok()) return select.status();
      while (true) {
        absl::StatusOr<bool> row = (*select)->Step();
        if (!row.ok()) return row.status();
        if (!*row) break;
        absl::StatusOr<PrivacyClass> privacy = ParsePrivacy((*select)->ColumnText(4));
        absl::StatusOr<Phase> current = ParsePhase((*select)->ColumnText(5));
        if (!privacy.ok() || !current.ok()) {
          return absl::DataLossError(absl::StrCat("record ", (*select)->ColumnInt(0), " of ",
                                                  TableOf(layer), " has a damaged phase"));
        }
        const Phase phase = DecidePhase(options_.phase_days, (*select)->ColumnInt(2), now,
                                        (*select)->ColumnDouble(3), *privacy);
        if (phase == Phase::kErased) {
          to_erase[{layer, (*select)->ColumnText(1)}].push_back((*select)->ColumnInt(0));
        } else if (phase != *current) {
          changes.push_back({(*select)->ColumnInt(0), phase});
        }
      }
    }
    for (const Change& change : changes) {
      absl::StatusOr<StatementLease> update =
          Prepared(absl::StrCat("UPDATE ", TableOf(layer), " SET phase = ?1 WHERE id = ?2"));
      if (!update.ok()) return update.status();
      (*update)->Bind(1, PhaseName(change.phase)).Bind(2, change.id);
      if (absl::Status s = (*update)->Run(); !s.ok()) return s;
    }
    report.changed += static_cast<int64_t>(changes.size());
  }
  for (const auto& [key, ids] : to_erase) {
    if (absl::Status s = EraseRows(key.first, key.second, ids); !s.ok()) return s;
    report.erased += static_cast<int64_t>(ids.size());
  }
  if (absl::Status s = transaction->Commit(); !s.ok()) return s;
  if (report.erased > 0) {
    for (const auto& [key, ids] : to_erase) {
      windows_.erase(key.second);
      if (key.first == Layer::kStructural) continue;
      for (Layer changed : {Layer::kEpisodic, Layer::kSemantic}) {
        if (absl::Status s = vectors_->CatchUpAndSave(*db_, changed, key.second); !s.ok()) {
          return s;
        }
      }
    }
    if (absl::Status s = ScrubFiles(); !s.ok()) return s;
  }
  return report;
}

}  // namespace llive::memory
