// The episodic layer: ordered events, their surprise, and the consolidation watermark.
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "absl/strings/str_cat.h"
#include "memory/fts_tokenizer.h"
#include "memory/memory_store.h"
#include "memory/provenance_json.h"
#include "memory/store_rows.h"
#include "memory/vector_cache.h"
#include "nlohmann/json.hpp"

namespace llive::memory {
namespace {

absl::Status CheckMetadata(absl::string_view what, absl::string_view metadata) {
  if (metadata == "{}") return absl::OkStatus();  // the default, not worth a parse per event
  nlohmann::json json = nlohmann::json::parse(metadata.begin(), metadata.end(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(what, " metadata must be a JSON object"));
  }
  return absl::OkStatus();
}

absl::Status CheckScore(absl::string_view what, double value) {
  if (!(value >= 0 && value <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat(what, " ", value, " is outside [0, 1]"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Event>> CollectEvents(Statement& statement) {
  std::vector<Event> events;
  while (true) {
    absl::StatusOr<bool> row = statement.Step();
    if (!row.ok()) return row.status();
    if (!*row) return events;
    absl::StatusOr<Event> event = ReadEvent(statement);
    if (!event.ok()) return event.status();
    events.push_back(*std::move(event));
  }
}

// What an event's row and FTS text need besides the event itself.
struct PreparedEvent {
  std::string provenance;  // JSON
  FtsTerms fts;            // of FtsDocument(agent, content)
  double surprise = 1;
};

// Embeds a batch's events, renders their provenance and FTS text, tokenizes that text (FtsTerms)
// and computes their surprise, in order, on a helper thread while the caller writes the ones
// already prepared: the write loop (SQLite) and the preparing (embedding was a fifth of an
// append's CPU time, tokenizing for FTS5 another fifth of the writing thread's) then run side by
// side instead of one after the other. Batches under 64 events are prepared on the caller's
// thread in the constructor. `window` must not change until this is destroyed.
class EventPreparer {
 public:
  EventPreparer(const Embedder& embedder, absl::string_view agent_id,
                absl::Span<const EventInput> events, int64_t now, const SurpriseWindow& window)
      : embedder_(embedder),
        agent_id_(agent_id),
        events_(events),
        now_(now),
        window_(window),
        prepared_(events.size()),
        vectors_(events.size()) {
    constexpr size_t kThreadFrom = 64;
    if (events.size() < kThreadFrom) {
      Run();
    } else {
      helper_ = std::thread([this] { Run(); });
    }
  }
  ~EventPreparer() {
    stop_.store(true);
    if (helper_.joinable()) helper_.join();
  }

  // Blocks until event i is prepared; the error that stopped the preparing before it, if any.
  absl::Status WaitFor(size_t i) {
    if (ready_.load(std::memory_order_acquire) > i) return absl::OkStatus();
    std::unique_lock<std::mutex> lock(mu_);
    changed_.wait(lock, [&] { return ready_.load(std::memory_order_acquire) > i || finished_; });
    if (ready_.load(std::memory_order_acquire) > i) return absl::OkStatus();
    return error_.ok() ? absl::InternalError("event preparation stopped early") : error_;
  }
  const PreparedEvent& operator[](size_t i) const { return prepared_[i]; }
  // The vectors, once every event is prepared (WaitFor(size() - 1)).
  const std::vector<std::vector<float>>& vectors() const { return vectors_; }

 private:
  void Run() {
    absl::Status error;
    for (size_t i = 0; i < events_.size() && !stop_.load(std::memory_order_relaxed); ++i) {
      absl::StatusOr<std::vector<float>> vector = embedder_.Embed(events_[i].content);
      if (!vector.ok()) {
        error = vector.status();
        break;
      }
      vectors_[i] = *std::move(vector);
      PreparedEvent& event = prepared_[i];
      Provenance provenance = events_[i].provenance;
      if (provenance.created_at_ms == 0) provenance.created_at_ms = now_;
      event.provenance = ProvenanceToJson(provenance).dump();
      event.fts = FtsTerms(FtsDocument(agent_id_, events_[i].content));
      event.surprise = window_.SurpriseInBatch(vectors_, i);
      ready_.store(i + 1, std::memory_order_release);
      // A waiter re-checks under the lock, so waking it needs the lock only now and then.
      if ((i & 15) == 15) {
        std::lock_guard<std::mutex> lock(mu_);
        changed_.notify_one();
      }
    }
    std::lock_guard<std::mutex> lock(mu_);
    error_ = error;
    finished_ = true;
    changed_.notify_one();
  }

  const Embedder& embedder_;
  absl::string_view agent_id_;
  absl::Span<const EventInput> events_;
  int64_t now_;
  const SurpriseWindow& window_;
  std::vector<PreparedEvent> prepared_;
  std::vector<std::vector<float>> vectors_;
  std::atomic<size_t> ready_{0};
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::condition_variable changed_;
  bool finished_ = false;  // guarded by mu_
  absl::Status error_;     // guarded by mu_
  std::thread helper_;
};

const std::string& EventSelect() {
  static const std::string* select = new std::string(absl::StrCat(
      "SELECT ", kEventColumns, " FROM events e JOIN embedders m ON m.id = e.embedder_id "));
  return *select;
}

}  // namespace

absl::StatusOr<SurpriseWindow*> MemoryStore::WindowFor(absl::string_view agent_id) {
  auto it = windows_.find(agent_id);
  if (it != windows_.end()) return it->second.get();
  auto window = std::make_unique<SurpriseWindow>(options_.surprise_window);
  absl::StatusOr<StatementLease> recent = Prepared(
      "SELECT embedding FROM events WHERE agent_id = ?1 AND embedder_id = ?2 "
      "ORDER BY id DESC LIMIT ?3");
  if (!recent.ok()) return recent.status();
  (*recent)->Bind(1, agent_id).Bind(2, embedder_row_id_).Bind(3, int64_t{options_.surprise_window});
  std::vector<std::vector<float>> newest_first;
  while (true) {
    absl::StatusOr<bool> row = (*recent)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    newest_first.push_back((*recent)->ColumnFloats(0));
  }
  for (auto v = newest_first.rbegin(); v != newest_first.rend(); ++v) window->Remember(*v);
  return windows_.emplace(std::string(agent_id), std::move(window)).first->second.get();
}

absl::StatusOr<int64_t> MemoryStore::InsertEntry(absl::string_view agent_id,
                                                 const SemanticEntryInput& entry,
                                                 absl::Span<const float> vector, double surprise,
                                                 const std::string& uid, int64_t created_ms,
                                                 const FtsTerms* terms) {
  const int64_t now = Now();
  Provenance provenance = entry.provenance;
  if (provenance.created_at_ms == 0) provenance.created_at_ms = created_ms;
  absl::StatusOr<StatementLease> insert = Prepared(
      "INSERT INTO entries(uid, agent_id, kind, content, metadata, privacy, provenance, "
      "importance, surprise, created_ms, updated_ms, last_access_ms, embedder_id, embedding) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)");
  if (!insert.ok()) return insert.status();
  (*insert)
      ->Bind(1, uid)
      .Bind(2, agent_id)
      .Bind(3, entry.kind)
      .Bind(4, entry.content)
      .Bind(5, entry.metadata)
      .Bind(6, PrivacyName(entry.privacy))
      .Bind(7, ProvenanceToJson(provenance).dump())
      .Bind(8, entry.importance)
      .Bind(9, surprise)
      .Bind(10, created_ms)
      .Bind(11, now)
      .Bind(12, now)
      .Bind(13, embedder_row_id_)
      .BindBlob(14, vector.data(), vector.size() * sizeof(float));
  if (absl::Status s = (*insert)->Run(); !s.ok()) return s;
  const int64_t id = sqlite3_last_insert_rowid(db_->handle());
  absl::StatusOr<StatementLease> fts =
      Prepared("INSERT INTO entries_fts(rowid, content) VALUES (?1, ?2)");
  if (!fts.ok()) return fts.status();
  if (terms != nullptr) {
    (*fts)->Bind(1, id).Bind(2, terms->text());
  } else {
    (*fts)->Bind(1, id).Bind(2, FtsDocument(agent_id, entry.content));
  }
  fts_ahead_->Offer(terms);
  absl::Status inserted = (*fts)->Run();
  fts_ahead_->Offer(nullptr);
  if (!inserted.ok()) return inserted;
  return id;
}

absl::StatusOr<std::vector<int64_t>> MemoryStore::AppendEvents(
    absl::string_view agent_id, absl::Span<const EventInput> events) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  for (size_t i = 0; i < events.size(); ++i) {
    const EventInput& event = events[i];
    const std::string what = absl::StrCat("event ", i, " content");
    if (absl::Status s = CheckContent(what, event.content); !s.ok()) return s;
    if (event.kind.empty() || event.kind.size() > 64) {
      return absl::InvalidArgumentError(absl::StrCat("event ", i, " kind must be 1-64 bytes"));
    }
    if (absl::Status s = CheckMetadata(absl::StrCat("event ", i), event.metadata); !s.ok()) {
      return s;
    }
    if (absl::Status s = CheckScore(absl::StrCat("event ", i, " importance"), event.importance);
        !s.ok()) {
      return s;
    }
  }
  std::vector<int64_t> ids;
  if (events.empty()) return ids;
  const int64_t now = Now();

  absl::MutexLock lock(&mu_);
  absl::StatusOr<SurpriseWindow*> live_window = WindowFor(agent_id);
  if (!live_window.ok()) return live_window.status();
  auto& live_gate = gates_[agent_id];
  if (live_gate == nullptr)
    live_gate = std::make_unique<BayesianSurpriseGate>(options_.bayesian_gate);
  // The window and the gate change only when the transaction commits.
  EventPreparer prepared(*options_.embedder, agent_id, events, now, **live_window);
  BayesianSurpriseGate gate = *live_gate;
  bool promoted_any = false;

  absl::StatusOr<Transaction> transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return transaction.status();
  absl::StatusOr<StatementLease> insert = Prepared(
      "INSERT INTO events(uid, agent_id, ts_ms, kind, content, metadata, privacy, provenance, "
      "surprise, importance, last_access_ms, embedder_id, embedding) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)");
  if (!insert.ok()) return insert.status();
  absl::StatusOr<StatementLease> fts =
      Prepared("INSERT INTO events_fts(rowid, content) VALUES (?1, ?2)");
  if (!fts.ok()) return fts.status();
  ids.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    if (absl::Status s = prepared.WaitFor(i); !s.ok()) return s;
    const EventInput& event = events[i];
    const double surprise = prepared[i].surprise;
    const bool bayesian_pass = gate.Observe(surprise);
    const int64_t ts = event.ts_ms != 0 ? event.ts_ms : now;
    const std::string uid = NewUid();
    (*insert)->Reset();
    // Every bound value outlives the statement's run (the inputs, the prepared batch, `uid`).
    (*insert)
        ->BindView(1, uid)
        .BindView(2, agent_id)
        .Bind(3, ts)
        .BindView(4, event.kind)
        .BindView(5, event.content)
        .BindView(6, event.metadata)
        .BindView(7, PrivacyName(event.privacy))
        .BindView(8, prepared[i].provenance)
        .Bind(9, surprise)
        .Bind(10, event.importance)
        .Bind(11, now)
        .Bind(12, embedder_row_id_)
        .BindBlobView(13, prepared.vectors()[i].data(),
                      prepared.vectors()[i].size() * sizeof(float));
    if (absl::Status s = (*insert)->Run(); !s.ok()) return s;
    const int64_t id = sqlite3_last_insert_rowid(db_->handle());
    (*fts)->Reset();
    (*fts)->Bind(1, id).BindView(2, prepared[i].fts.text());
    fts_ahead_->Offer(&prepared[i].fts);
    absl::Status indexed = (*fts)->Run();
    fts_ahead_->Offer(nullptr);
    if (!indexed.ok()) return indexed;
    ids.push_back(id);
    if (surprise >= options_.surprise_theta && bayesian_pass) {
      SemanticEntryInput entry;
      entry.kind = "surprise";
      entry.content = event.content;
      entry.importance = event.importance;
      entry.privacy = event.privacy;
      entry.provenance = event.provenance;
      entry.provenance.source_type = "surprise_gate";
      entry.provenance.derived_from = {uid};
      absl::StatusOr<int64_t> entry_id = InsertEntry(agent_id, entry, prepared.vectors()[i],
                                                     surprise, NewUid(), ts, &prepared[i].fts);
      if (!entry_id.ok()) return entry_id.status();
      promoted_any = true;
    }
  }
  if (absl::Status s = transaction->Commit(); !s.ok()) return s;
  (*live_window)->RememberBatch(prepared.vectors());
  *live_gate = gate;
  if (absl::Status s = vectors_->CatchUp(*db_, Layer::kEpisodic, agent_id); !s.ok()) return s;
  if (promoted_any) {
    if (absl::Status s = vectors_->CatchUp(*db_, Layer::kSemantic, agent_id); !s.ok()) return s;
  }
  return ids;
}

absl::StatusOr<int64_t> MemoryStore::AppendEvent(absl::string_view agent_id,
                                                 const EventInput& event) {
  absl::StatusOr<std::vector<int64_t>> ids = AppendEvents(agent_id, {&event, 1});
  if (!ids.ok()) return ids.status();
  return ids->front();
}

absl::StatusOr<Event> MemoryStore::GetEvent(absl::string_view agent_id, int64_t id) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared(EventSelect() + "WHERE e.id = ?1 AND e.agent_id = ?2");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, id).Bind(2, agent_id);
  absl::StatusOr<std::vector<Event>> events = CollectEvents(**select);
  if (!events.ok()) return events.status();
  if (events->empty()) {
    return absl::NotFoundError(absl::StrCat("agent ", agent_id, " has no event ", id));
  }
  return std::move(events->front());
}

absl::StatusOr<std::vector<Event>> MemoryStore::EventsByIdRange(absl::string_view agent_id,
                                                                int64_t from_id, int64_t to_id,
                                                                int limit) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select = Prepared(
      EventSelect() + "WHERE e.agent_id = ?1 AND e.id BETWEEN ?2 AND ?3 ORDER BY e.id LIMIT ?4");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, agent_id).Bind(2, from_id).Bind(3, to_id).Bind(4, int64_t{limit});
  return CollectEvents(**select);
}

absl::StatusOr<std::vector<Event>> MemoryStore::EventsByTime(absl::string_view agent_id,
                                                             int64_t from_ms, int64_t to_ms,
                                                             int limit) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared(EventSelect() +
               "WHERE e.agent_id = ?1 AND e.ts_ms BETWEEN ?2 AND ?3 ORDER BY e.ts_ms, e.id "
               "LIMIT ?4");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, agent_id).Bind(2, from_ms).Bind(3, to_ms).Bind(4, int64_t{limit});
  return CollectEvents(**select);
}

absl::StatusOr<std::vector<Event>> MemoryStore::RecentEvents(absl::string_view agent_id,
                                                             int limit) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared(EventSelect() + "WHERE e.agent_id = ?1 ORDER BY e.id DESC LIMIT ?2");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, agent_id).Bind(2, int64_t{limit});
  return CollectEvents(**select);
}

absl::StatusOr<std::vector<Event>> MemoryStore::UnconsolidatedEvents(absl::string_view agent_id,
                                                                     int limit) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared(EventSelect() +
               "WHERE e.agent_id = ?1 AND e.id > coalesce((SELECT event_id FROM "
               "consolidation_watermarks WHERE agent_id = ?1), 0) ORDER BY e.id LIMIT ?2");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, agent_id).Bind(2, int64_t{limit});
  return CollectEvents(**select);
}

absl::StatusOr<int64_t> MemoryStore::ConsolidatedWatermark(absl::string_view agent_id) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared("SELECT event_id FROM consolidation_watermarks WHERE agent_id = ?1");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, agent_id);
  absl::StatusOr<bool> row = (*select)->Step();
  if (!row.ok()) return row.status();
  return *row ? (*select)->ColumnInt(0) : 0;
}

absl::Status MemoryStore::SetConsolidatedWatermark(absl::string_view agent_id, int64_t event_id) {
  absl::StatusOr<int64_t> current = ConsolidatedWatermark(agent_id);
  if (!current.ok()) return current.status();
  if (event_id < *current) {
    return absl::InvalidArgumentError(absl::StrCat("consolidated watermark of agent ", agent_id,
                                                   " is at event ", *current,
                                                   "; it cannot move back to ", event_id));
  }
  absl::MutexLock lock(&mu_);
  {
    absl::StatusOr<StatementLease> exists =
        Prepared("SELECT 1 FROM events WHERE id = ?1 AND agent_id = ?2");
    if (!exists.ok()) return exists.status();
    (*exists)->Bind(1, event_id).Bind(2, agent_id);
    absl::StatusOr<bool> row = (*exists)->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::NotFoundError(absl::StrCat("agent ", agent_id, " has no event ", event_id));
    }
  }
  absl::StatusOr<StatementLease> upsert = Prepared(
      "INSERT INTO consolidation_watermarks(agent_id, event_id) VALUES (?1, ?2) "
      "ON CONFLICT(agent_id) DO UPDATE SET event_id = max(event_id, excluded.event_id)");
  if (!upsert.ok()) return upsert.status();
  (*upsert)->Bind(1, agent_id).Bind(2, event_id);
  return (*upsert)->Run();
}

absl::Status MemoryStore::SetEventFactors(absl::string_view agent_id, int64_t id,
                                          absl::Span<const float> factors) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> update =
      Prepared("UPDATE events SET factors = ?1 WHERE id = ?2 AND agent_id = ?3");
  if (!update.ok()) return update.status();
  (*update)
      ->BindBlob(1, factors.data(), factors.size() * sizeof(float))
      .Bind(2, id)
      .Bind(3, agent_id);
  if (absl::Status s = (*update)->Run(); !s.ok()) return s;
  if (sqlite3_changes(db_->handle()) == 0) {
    return absl::NotFoundError(absl::StrCat("agent ", agent_id, " has no event ", id));
  }
  return absl::OkStatus();
}

}  // namespace llive::memory
