// The structural layer: concept pages and typed weighted edges, UCB1 over pages.
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "memory/edge_dynamics.h"
#include "memory/memory_store.h"
#include "memory/provenance_json.h"
#include "memory/store_rows.h"
#include "nlohmann/json.hpp"

namespace llive::memory {
namespace {

const std::string& PageSelect() {
  static const std::string* select =
      new std::string(absl::StrCat("SELECT ", kPageColumns, " FROM pages "));
  return *select;
}

}  // namespace

absl::StatusOr<bool> MemoryStore::PageBelongs(absl::string_view agent_id, int64_t page) {
  absl::StatusOr<StatementLease> select =
      Prepared("SELECT 1 FROM pages WHERE id = ?1 AND agent_id = ?2");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, page).Bind(2, agent_id);
  return (*select)->Step();
}

absl::StatusOr<int64_t> MemoryStore::UpsertPage(absl::string_view agent_id, const PageInput& page) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  if (absl::Status s = CheckContent("page title", page.title); !s.ok()) return s;
  if (!page.summary.empty()) {
    if (absl::Status s = CheckContent("page summary", page.summary); !s.ok()) return s;
  }
  nlohmann::json fields =
      nlohmann::json::parse(page.fields.begin(), page.fields.end(), nullptr, false);
  if (fields.is_discarded() || !fields.is_object()) {
    return absl::InvalidArgumentError("page fields must be a JSON object");
  }
  absl::MutexLock lock(&mu_);
  const int64_t now = Now();
  Provenance provenance = page.provenance;
  if (provenance.created_at_ms == 0) provenance.created_at_ms = now;
  absl::StatusOr<Transaction> transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return transaction.status();
  {
    // An existing page keeps its id, uid and therefore its edges.
    absl::StatusOr<StatementLease> upsert = Prepared(
        "INSERT INTO pages(uid, agent_id, title, summary, fields, privacy, provenance, "
        "created_ms, updated_ms, last_access_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8, ?8) "
        "ON CONFLICT(agent_id, title) DO UPDATE SET summary = excluded.summary, "
        "fields = excluded.fields, privacy = excluded.privacy, provenance = excluded.provenance, "
        "updated_ms = excluded.updated_ms, last_access_ms = excluded.last_access_ms, "
        "phase = 'hot'");
    if (!upsert.ok()) return upsert.status();
    (*upsert)
        ->Bind(1, NewUid())
        .Bind(2, agent_id)
        .Bind(3, page.title)
        .Bind(4, page.summary)
        .Bind(5, page.fields)
        .Bind(6, PrivacyName(page.privacy))
        .Bind(7, ProvenanceToJson(provenance).dump())
        .Bind(8, now);
    if (absl::Status s = (*upsert)->Run(); !s.ok()) return s;
  }
  int64_t id = 0;
  {
    absl::StatusOr<StatementLease> select =
        Prepared("SELECT id FROM pages WHERE agent_id = ?1 AND title = ?2");
    if (!select.ok()) return select.status();
    (*select)->Bind(1, agent_id).Bind(2, page.title);
    absl::StatusOr<bool> row = (*select)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::InternalError("upserted page vanished");
    id = (*select)->ColumnInt(0);
  }
  {
    absl::StatusOr<StatementLease> clear = Prepared("DELETE FROM page_events WHERE page_id = ?1");
    if (!clear.ok()) return clear.status();
    (*clear)->Bind(1, id);
    if (absl::Status s = (*clear)->Run(); !s.ok()) return s;
  }
  for (int64_t event : page.linked_events) {
    absl::StatusOr<StatementLease> link = Prepared(
        "INSERT OR IGNORE INTO page_events(page_id, event_id) "
        "SELECT ?1, id FROM events WHERE id = ?2 AND agent_id = ?3");
    if (!link.ok()) return link.status();
    (*link)->Bind(1, id).Bind(2, event).Bind(3, agent_id);
    if (absl::Status s = (*link)->Run(); !s.ok()) return s;
    if (sqlite3_changes(db_->handle()) == 0) {
      absl::StatusOr<StatementLease> check =
          Prepared("SELECT 1 FROM events WHERE id = ?1 AND agent_id = ?2");
      if (!check.ok()) return check.status();
      (*check)->Bind(1, event).Bind(2, agent_id);
      absl::StatusOr<bool> row = (*check)->Step();
      if (!row.ok()) return row.status();
      if (!*row) {
        return absl::NotFoundError(absl::StrCat("page \"", page.title, "\" links event ", event,
                                                " which agent ", agent_id, " does not have"));
      }
    }
  }
  if (absl::Status s = transaction->Commit(); !s.ok()) return s;
  return id;
}

absl::StatusOr<Page> MemoryStore::GetPage(absl::string_view agent_id, int64_t id) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared(PageSelect() + "WHERE id = ?1 AND agent_id = ?2");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, id).Bind(2, agent_id);
  absl::StatusOr<bool> row = (*select)->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::NotFoundError(absl::StrCat("agent ", agent_id, " has no page ", id));
  absl::StatusOr<Page> page = ReadPage(**select);
  if (!page.ok()) return page.status();
  absl::StatusOr<StatementLease> events =
      Prepared("SELECT event_id FROM page_events WHERE page_id = ?1 ORDER BY event_id");
  if (!events.ok()) return events.status();
  (*events)->Bind(1, id);
  while (true) {
    absl::StatusOr<bool> next = (*events)->Step();
    if (!next.ok()) return next.status();
    if (!*next) break;
    page->linked_events.push_back((*events)->ColumnInt(0));
  }
  return page;
}

absl::StatusOr<Page> MemoryStore::FindPage(absl::string_view agent_id, absl::string_view title) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  int64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    absl::StatusOr<StatementLease> select =
        Prepared("SELECT id FROM pages WHERE agent_id = ?1 AND title = ?2");
    if (!select.ok()) return select.status();
    (*select)->Bind(1, agent_id).Bind(2, title);
    absl::StatusOr<bool> row = (*select)->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::NotFoundError(
          absl::StrCat("agent ", agent_id, " has no page titled \"", title, "\""));
    }
    id = (*select)->ColumnInt(0);
  }
  return GetPage(agent_id, id);
}

absl::Status MemoryStore::SetEdge(absl::string_view agent_id, int64_t source, int64_t target,
                                  EdgeType type, double weight) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  if (!std::isfinite(weight)) return absl::InvalidArgumentError("edge weight must be finite");
  absl::MutexLock lock(&mu_);
  for (int64_t page : {source, target}) {
    absl::StatusOr<bool> belongs = PageBelongs(agent_id, page);
    if (!belongs.ok()) return belongs.status();
    if (!*belongs) {
      return absl::NotFoundError(absl::StrCat("agent ", agent_id, " has no page ", page));
    }
  }
  absl::StatusOr<StatementLease> upsert = Prepared(
      "INSERT INTO edges(source, target, type, agent_id, weight, updated_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(source, target, type) DO UPDATE SET "
      "weight = excluded.weight, updated_ms = excluded.updated_ms");
  if (!upsert.ok()) return upsert.status();
  (*upsert)
      ->Bind(1, source)
      .Bind(2, target)
      .Bind(3, EdgeTypeName(type))
      .Bind(4, agent_id)
      .Bind(5, ClipWeight(weight))
      .Bind(6, Now());
  return (*upsert)->Run();
}

absl::Status MemoryStore::SignalEdge(absl::string_view agent_id, int64_t source, int64_t target,
                                     EdgeType type, EdgeSignal signal, double surprise) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<Transaction> transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return transaction.status();
  double weight = 0;
  {
    absl::StatusOr<StatementLease> select = Prepared(
        "SELECT weight FROM edges WHERE source = ?1 AND target = ?2 AND type = ?3 AND "
        "agent_id = ?4");
    if (!select.ok()) return select.status();
    (*select)->Bind(1, source).Bind(2, target).Bind(3, EdgeTypeName(type)).Bind(4, agent_id);
    absl::StatusOr<bool> row = (*select)->Step();
    if (!row.ok()) return row.status();
    if (!*row) {
      return absl::NotFoundError(absl::StrCat("agent ", agent_id, " has no ", EdgeTypeName(type),
                                              " edge ", source, " -> ", target));
    }
    weight = (*select)->ColumnDouble(0);
  }
  switch (signal) {
    case EdgeSignal::kReadHit:
      weight = AfterReadHit(type, weight);
      break;
    case EdgeSignal::kContradiction:
      weight = AfterContradiction(weight);
      break;
    case EdgeSignal::kSurprise:
      weight = AfterSurprise(weight, surprise);
      break;
  }
  absl::StatusOr<StatementLease> update = Prepared(
      "UPDATE edges SET weight = ?1, updated_ms = ?2 WHERE source = ?3 AND target = ?4 AND "
      "type = ?5");
  if (!update.ok()) return update.status();
  (*update)->Bind(1, weight).Bind(2, Now()).Bind(3, source).Bind(4, target).Bind(
      5, EdgeTypeName(type));
  if (absl::Status s = (*update)->Run(); !s.ok()) return s;
  return transaction->Commit();
}

absl::StatusOr<std::vector<Edge>> MemoryStore::Neighbours(absl::string_view agent_id, int64_t page,
                                                          int limit, bool include_dormant) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select = Prepared(
      "SELECT source, target, type, weight, updated_ms FROM edges WHERE source = ?1 AND "
      "agent_id = ?2 AND weight >= ?3 ORDER BY weight DESC, target LIMIT ?4");
  if (!select.ok()) return select.status();
  (*select)
      ->Bind(1, page)
      .Bind(2, agent_id)
      .Bind(3, include_dormant ? 0.0 : kDormantBelow)
      .Bind(4, int64_t{limit});
  std::vector<Edge> edges;
  while (true) {
    absl::StatusOr<bool> row = (*select)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return edges;
    absl::StatusOr<EdgeType> type = ParseEdgeType((*select)->ColumnText(2));
    if (!type.ok()) return absl::DataLossError(type.status().message());
    Edge edge;
    edge.source = (*select)->ColumnInt(0);
    edge.target = (*select)->ColumnInt(1);
    edge.type = *type;
    edge.weight = (*select)->ColumnDouble(3);
    edge.dormant = edge.weight < kDormantBelow;
    edge.updated_ms = (*select)->ColumnInt(4);
    edges.push_back(edge);
  }
}

absl::StatusOr<int64_t> MemoryStore::DecayEdges(absl::string_view agent_id) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  const int64_t now = Now();
  absl::StatusOr<Transaction> transaction = Transaction::Begin(*db_);
  if (!transaction.ok()) return transaction.status();
  struct Change {
    int64_t source, target;
    std::string type;
    double weight;
  };
  std::vector<Change> changes;
  {
    absl::StatusOr<StatementLease> select =
        Prepared("SELECT source, target, type, weight, updated_ms FROM edges WHERE agent_id = ?1");
    if (!select.ok()) return select.status();
    (*select)->Bind(1, agent_id);
    while (true) {
      absl::StatusOr<bool> row = (*select)->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      absl::StatusOr<EdgeType> type = ParseEdgeType((*select)->ColumnText(2));
      if (!type.ok()) return absl::DataLossError(type.status().message());
      const double weight = (*select)->ColumnDouble(3);
      const double decayed = AfterDecay(*type, weight, now - (*select)->ColumnInt(4));
      if (decayed != weight) {
        changes.push_back(
            {(*select)->ColumnInt(0), (*select)->ColumnInt(1), (*select)->ColumnText(2), decayed});
      }
    }
  }
  int64_t pruned = 0;
  for (const Change& change : changes) {
    const bool prune = change.weight < kPruneBelow;
    absl::StatusOr<StatementLease> write =
        prune ? Prepared("DELETE FROM edges WHERE source = ?1 AND target = ?2 AND type = ?3")
              : Prepared(
                    "UPDATE edges SET weight = ?4, updated_ms = ?5 WHERE source = ?1 AND "
                    "target = ?2 AND type = ?3");
    if (!write.ok()) return write.status();
    (*write)->Bind(1, change.source).Bind(2, change.target).Bind(3, change.type);
    if (!prune) (*write)->Bind(4, change.weight).Bind(5, now);
    if (absl::Status s = (*write)->Run(); !s.ok()) return s;
    pruned += prune ? 1 : 0;
  }
  if (absl::Status s = transaction->Commit(); !s.ok()) return s;
  return pruned;
}

absl::Status MemoryStore::RecordPageVisit(absl::string_view agent_id, int64_t page, double reward) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  if (!(reward >= 0 && reward <= 1)) {
    return absl::InvalidArgumentError(absl::StrCat("reward ", reward, " is outside [0, 1]"));
  }
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> update = Prepared(
      "UPDATE pages SET visits = visits + 1, reward_sum = reward_sum + ?1, last_access_ms = ?2 "
      "WHERE id = ?3 AND agent_id = ?4");
  if (!update.ok()) return update.status();
  (*update)->Bind(1, reward).Bind(2, Now()).Bind(3, page).Bind(4, agent_id);
  if (absl::Status s = (*update)->Run(); !s.ok()) return s;
  if (sqlite3_changes(db_->handle()) == 0) {
    return absl::NotFoundError(absl::StrCat("agent ", agent_id, " has no page ", page));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::pair<Page, double>>> MemoryStore::RankPagesUcb1(
    absl::string_view agent_id, int k, double c) {
  if (absl::Status s = ValidateAgentId(agent_id); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  absl::StatusOr<StatementLease> select =
      Prepared(PageSelect() + "WHERE agent_id = ?1 AND phase != 'archived'");
  if (!select.ok()) return select.status();
  (*select)->Bind(1, agent_id);
  std::vector<std::pair<Page, double>> ranked;
  int64_t total_visits = 0;
  while (true) {
    absl::StatusOr<bool> row = (*select)->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    absl::StatusOr<Page> page = ReadPage(**select);
    if (!page.ok()) return page.status();
    total_visits += page->visits;
    ranked.emplace_back(*std::move(page), 0.0);
  }
  const double log_total = std::log(static_cast<double>(std::max<int64_t>(total_visits, 1)));
  for (auto& [page, score] : ranked) {
    score = page.visits == 0 ? std::numeric_limits<double>::infinity()
                             : page.reward_sum / static_cast<double>(page.visits) +
                                   c * std::sqrt(log_total / static_cast<double>(page.visits));
  }
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (static_cast<int>(ranked.size()) > k) ranked.resize(static_cast<size_t>(std::max(k, 0)));
  return ranked;
}

}  // namespace llive::memory
