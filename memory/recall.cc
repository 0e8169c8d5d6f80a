// Recall: BM25 over the FTS5 tables, vectors through the FAISS caches, fused with recency and
// importance (see Fusion in memory_store.h).
#include <algorithm>
#include <cmath>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "memory/fts_tokenizer.h"
#include "memory/memory_store.h"
#include "memory/provenance_json.h"
#include "memory/store_rows.h"
#include "memory/text_segmenter.h"
#include "memory/vector_cache.h"
#include "memory/vector_index.h"

namespace llive::memory {
namespace {

// Words too common to carry meaning in an English question. Other scripts' common tokens are
// dropped by document frequency instead (see TextSearch).
const absl::flat_hash_set<std::string>& StopWords() {
  static const auto* words = new absl::flat_hash_set<std::string>{
      "a",    "about", "an",    "and",   "are",  "as",    "at",    "be",   "been",   "but",
      "by",   "can",   "could", "did",   "do",   "does",  "for",   "from", "had",    "has",
      "have", "he",    "her",   "his",   "how",  "i",     "if",    "in",   "into",   "is",
      "it",   "its",   "me",    "my",    "of",   "on",    "or",    "our",  "she",    "so",
      "that", "the",   "their", "them",  "then", "there", "these", "they", "this",   "to",
      "was",  "we",    "were",  "what",  "when", "where", "which", "who",  "whom",   "why",
      "will", "with",  "would", "you",   "your", "any",   "some",  "all",  "should", "tell",
      "us",   "him",   "am",    "again", "ever", "just",  "also",  "than", "too",    "very"};
  return *words;
}

// Terms in more than this share of documents are dropped from a query (while others remain):
// they match most of the corpus, cost the most to rank and change the ranking the least.
constexpr double kMaxDocumentShare = 0.05;
constexpr int kMaxQueryTerms = 16;
// A query's cost grows with the postings FTS5 walks and the rows llive_bm25 scores, about the
// sum of its terms' document frequencies (over all agents). Terms are kept rarest first while
// that sum stays within this budget (the rarest always), so the terms left out are the
// commonest, with the least weight in BM25. At a million events the rarest term alone often
// has more postings than this (docs/benchmarks.md); small stores never reach it.
constexpr int64_t kMaxQueryPostings = 20000;

const char* FtsTable(Layer layer) {
  return layer == Layer::kSemantic ? "entries_fts" : "events_fts";
}

std::string Quote(absl::string_view term) {
  return absl::StrCat("\"", absl::StrReplaceAll(term, {{"\"", "\"\""}}), "\"");
}

std::string PhaseList(const std::vector<Phase>& phases) {
  std::string list = ",";
  for (Phase phase : phases) absl::StrAppend(&list, PhaseName(phase), ",");
  return list;
}

struct Candidate {
  Layer layer;
  int64_t id;
  int text_rank = 0;
  int vector_rank = 0;
  double bm25 = 0;
  double cosine = 0;
};

}  // namespace

absl::StatusOr<int64_t> MemoryStore::DocumentFrequency(Layer layer, absl::string_view agent_id,
                                                       absl::string_view term) {
  const std::string indexed = FtsAgentTerm(agent_id, term);
  const std::string key = absl::StrCat(LayerName(layer), ":", indexed);
  if (auto it = document_frequency_.find(key); it != document_frequency_.end()) return it->second;
  // Counts go stale as memory grows; they only steer which terms a query keeps.
  if (document_frequency_.size() > 100000) document_frequency_.clear();
  absl::StatusOr<StatementLease> count =
      Prepared(layer == Layer::kSemantic ? "SELECT doc FROM temp.entries_vocab WHERE term = ?1"
                                         : "SELECT doc FROM temp.events_vocab WHERE term = ?1");
  if (!count.ok()) return count.status();
  (*count)->Bind(1, indexed);
  absl::StatusOr<bool> row = (*count)->Step();
  if (!row.ok()) return row.status();
  const int64_t frequency = *row ? (*count)->ColumnInt(0) : 0;
  document_frequency_[key] = frequency;
  return frequency;
}

absl::StatusOr<int64_t> MemoryStore::AgentDocuments(Layer layer, absl::string_view agent_id) {
  // The count only sets which share of the agent's records makes a term too common to search
  // for, so it is counted again only once the layer has grown by a tenth since.
  int64_t sequence = 0;
  {
    absl::StatusOr<StatementLease> last =
        Prepared("SELECT coalesce(seq, 0) FROM sqlite_sequence WHERE name = ?1");
    if (!last.ok()) return last.status();
    (*last)->Bind(1, absl::string_view(VectorTable(layer)));
    absl::StatusOr<bool> row = (*last)->Step();
    if (!row.ok()) return row.status();
    sequence = *row ? (*last)->ColumnInt(0) : 0;
  }
  AgentCount& cached = agent_documents_[absl::StrCat(LayerName(layer), ":", agent_id)];
  if (cached.counted_at_sequence > 0 && sequence <= cached.counted_at_sequence * 11 / 10 + 100) {
    return cached.documents;
  }
  absl::StatusOr<StatementLease> count =
      Prepared(layer == Layer::kSemantic ? "SELECT count(*) FROM entries WHERE agent_id = ?1"
                                         : "SELECT count(*) FROM events WHERE agent_id = ?1");
  if (!count.ok()) return count.status();
  (*count)->Bind(1, agent_id);
  absl::StatusOr<bool> row = (*count)->Step();
  if (!row.ok()) return row.status();
  cached.documents = *row ? (*count)->ColumnInt(0) : 0;
  cached.counted_at_sequence = std::max<int64_t>(sequence, 1);
  return cached.documents;
}

absl::StatusOr<int> MemoryStore::FtsLengthSlot(Layer layer) {
  // Event texts never change, and ids are never reused, so their memo stays valid; an entry's
  // text can be rewritten (UpdateEntry forgets its memo), by another process too: the entries'
  // memo is dropped whenever another connection has written, and then refilled row by row as
  // queries score them (not reloaded whole: a busy writer beside would make that every query).
  absl::StatusOr<StatementLease> version = Prepared("PRAGMA data_version");
  if (!version.ok()) return version.status();
  absl::StatusOr<bool> row = (*version)->Step();
  if (!row.ok()) return row.status();
  const int64_t data_version = *row ? (*version)->ColumnInt(0) : 0;
  const int slot = layer == Layer::kSemantic ? 1 : 0;
  if (data_version != fts_lengths_data_version_) {
    fts_lengths_data_version_ = data_version;
    fts_lengths_->Clear(1);
  }
  // Loading a million lengths takes about half a second: worth it for a store that answers
  // many queries, not for a one-shot search (the CLI), so it waits for the second query.
  if (++fts_length_queries_[slot] == 2) {
    if (absl::Status s = LoadFtsLengths(*db_, FtsTable(layer), slot, *fts_lengths_); !s.ok()) {
      return s;
    }
  }
  return slot;
}

absl::StatusOr<std::vector<std::pair<int64_t, double>>> MemoryStore::TextSearch(
    Layer layer, absl::string_view agent_id, absl::string_view text, int limit,
    const RecallQuery& query) {
  std::vector<std::pair<int64_t, double>> hits;
  if (absl::Status s = db_->Exec(
          "CREATE VIRTUAL TABLE IF NOT EXISTS temp.events_vocab USING fts5vocab(main, "
          "'events_fts', 'row'); CREATE VIRTUAL TABLE IF NOT EXISTS temp.entries_vocab USING "
          "fts5vocab(main, 'entries_fts', 'row');");
      !s.ok()) {
    return s;
  }
  std::vector<std::pair<int64_t, std::string>> terms;  // (document frequency, term)
  absl::flat_hash_set<std::string> seen;
  bool dropped_stop_word = false;
  std::vector<std::string> tokens = SegmentTextToStrings(text);
  for (const std::string& token : tokens) {
    if (StopWords().contains(token) || IsMixedScriptBigram(token)) {
      dropped_stop_word = true;
      continue;
    }
    if (!seen.insert(token).second) continue;
    absl::StatusOr<int64_t> frequency = DocumentFrequency(layer, agent_id, token);
    if (!frequency.ok()) return frequency.status();
    if (*frequency > 0) terms.emplace_back(*frequency, token);
  }
  if (terms.empty() && dropped_stop_word) {
    // A question made only of stop words still searches for them.
    for (const std::string& token : tokens) {
      if (!seen.insert(token).second) continue;
      absl::StatusOr<int64_t> frequency = DocumentFrequency(layer, agent_id, token);
      if (!frequency.ok()) return frequency.status();
      if (*frequency > 0) terms.emplace_back(*frequency, token);
    }
  }
  if (terms.empty()) return hits;
  std::sort(terms.begin(), terms.end());
  absl::StatusOr<int64_t> documents = AgentDocuments(layer, agent_id);
  if (!documents.ok()) return documents.status();
  const double max_frequency = std::max(100.0, kMaxDocumentShare * static_cast<double>(*documents));
  size_t keep = 0;
  int64_t postings = 0;
  while (keep < terms.size() && keep < kMaxQueryTerms &&
         (keep == 0 || (terms[keep].first <= max_frequency &&
                        postings + terms[keep].first <= kMaxQueryPostings))) {
    postings += terms[keep].first;
    ++keep;
  }
  terms.resize(keep);
  std::vector<std::string> quoted;
  for (const auto& term : terms) quoted.push_back(Quote(FtsDocument(agent_id, term.second)));
  // llive_bm25 (fts_rank.h) takes each term's document frequency, in the MATCH's order, as
  // parameters from `first` on (so that one prepared statement serves each term count).
  auto frequencies = [&](int first) {
    std::string list;
    for (size_t i = 0; i < terms.size(); ++i)
      absl::StrAppend(&list, ", ?", first + static_cast<int>(i));
    return list;
  };
  // Each term is the agent's own (fts_tokenizer.h): the MATCH itself keeps to the agent.
  const std::string match = absl::StrJoin(quoted, " OR ");
  const bool filtered = query.phases.size() < 4 ||
                        query.from_ms != std::numeric_limits<int64_t>::min() ||
                        query.to_ms != std::numeric_limits<int64_t>::max();
  absl::StatusOr<int> slot = FtsLengthSlot(layer);
  if (!slot.ok()) return slot.status();
  const char* table = FtsTable(layer);
  const std::string rank = absl::StrCat("llive_bm25(", table, ", ", *slot);
  const char* time_column = layer == Layer::kSemantic ? "created_ms" : "ts_ms";
  // Ranked from the FTS index alone; when filters apply, a few times more are fetched and
  // checked against the rows, and only when that is not enough does the join run.
  {
    absl::StatusOr<StatementLease> ranked =
        Prepared(absl::StrCat("SELECT rowid, ", rank, frequencies(3), ") AS score FROM ", table,
                              " WHERE ", table, " MATCH ?1 ORDER BY score DESC LIMIT ?2"));
    if (!ranked.ok()) return ranked.status();
    const int64_t fetch = filtered ? int64_t{limit} * 4 : int64_t{limit};
    (*ranked)->Bind(1, match).Bind(2, fetch);
    for (size_t i = 0; i < terms.size(); ++i)
      (*ranked)->Bind(3 + static_cast<int>(i), terms[i].first);
    while (true) {
      absl::StatusOr<bool> row = (*ranked)->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      hits.emplace_back((*ranked)->ColumnInt(0), (*ranked)->ColumnDouble(1));
    }
    if (!filtered) return hits;
    const bool exhausted = static_cast<int64_t>(hits.size()) < fetch;
    absl::StatusOr<StatementLease> check =
        Prepared(absl::StrCat("SELECT 1 FROM ", VectorTable(layer),
                              " WHERE id = ?1 AND instr(?2, ',' || phase || ',') "
                              "> 0 AND ",
                              time_column, " BETWEEN ?3 AND ?4"));
    if (!check.ok()) return check.status();
    const std::string phases = PhaseList(query.phases);
    std::vector<std::pair<int64_t, double>> kept;
    for (const auto& hit : hits) {
      (*check)->Reset();
      (*check)->Bind(1, hit.first).Bind(2, phases).Bind(3, query.from_ms).Bind(4, query.to_ms);
      absl::StatusOr<bool> row = (*check)->Step();
      if (!row.ok()) return row.status();
      if (*row) kept.push_back(hit);
      if (static_cast<int>(kept.size()) >= limit) break;
    }
    if (static_cast<int>(kept.size()) >= limit || exhausted) return kept;
  }
  hits.clear();
  absl::StatusOr<StatementLease> joined =
      Prepared(absl::StrCat("SELECT f.rowid, ", rank, frequencies(6), ") AS score FROM ", table,
                            " f JOIN ", VectorTable(layer), " r ON r.id = f.rowid WHERE ", table,
                            " MATCH ?1 AND instr(?2, ',' || r.phase || ',') > 0 AND r.",
                            time_column, " BETWEEN ?3 AND ?4 ORDER BY score DESC LIMIT ?5"));
  if (!joined.ok()) return joined.status();
  (*joined)
      ->Bind(1, match)
      .Bind(2, PhaseList(query.phases))
      .Bind(3, query.from_ms)
      .Bind(4, query.to_ms)
      .Bind(5, int64_t{limit});
  for (size_t i = 0; i < terms.size(); ++i)
    (*joined)->Bind(6 + static_cast<int>(i), terms[i].first);
  while (true) {
    absl::StatusOr<bool> row = (*joined)->Step();
    if (!row.ok()) return row.status();
    if (!*row) return hits;
    hits.emplace_back((*joined)->ColumnInt(0), (*joined)->ColumnDouble(1));
  }
}

absl::StatusOr<std::vector<RecallHit>> MemoryStore::Recall(const RecallQuery& query) {
  if (absl::Status s = ValidateAgentId(query.agent_id); !s.ok()) return s;
  if (query.k <= 0 || query.k > 1000) {
    return absl::InvalidArgumentError(absl::StrCat("recall k ", query.k, " must be 1 to 1000"));
  }
  if (absl::Status s = CheckContent("recall query", query.text); !s.ok()) return s;
  std::vector<float> vector;
  if (query.mode != RecallQuery::Mode::kText) {
    absl::StatusOr<std::vector<float>> embedded = options_.embedder->Embed(query.text);
    if (!embedded.ok()) return embedded.status();
    vector = *std::move(embedded);
  }
  const int depth = std::max(query.k * 5, 50);
  absl::MutexLock lock(&mu_);
  const int64_t now = Now();
  std::vector<Candidate> candidates;
  absl::flat_hash_map<std::pair<int, int64_t>, size_t> index_of;
  auto candidate = [&](Layer layer, int64_t id) -> Candidate& {
    auto [it, inserted] = index_of.try_emplace(std::pair<int, int64_t>(static_cast<int>(layer), id),
                                               candidates.size());
    if (inserted) candidates.push_back(Candidate{layer, id});
    return candidates[it->second];
  };
  // Phase and time filters apply after the vector search: fetch deeper to make up. Each hit
  // costs a row read below, so without filters the depth stays as for text.
  const bool filtered = query.phases.size() < 4 ||
                        query.from_ms != std::numeric_limits<int64_t>::min() ||
                        query.to_ms != std::numeric_limits<int64_t>::max();
  const int vector_depth = filtered ? depth * 2 : depth;
  const bool text_mode = query.mode != RecallQuery::Mode::kVector;
  const bool vector_mode = query.mode != RecallQuery::Mode::kText;
  std::vector<Layer> layers;
  for (Layer layer : query.layers) {
    if (layer == Layer::kEpisodic || layer == Layer::kSemantic) layers.push_back(layer);
  }
  std::vector<std::vector<std::pair<int64_t, double>>> text(layers.size());
  std::vector<std::vector<std::pair<int64_t, float>>> nearest(layers.size());
  // In hybrid recall the built vector indexes are searched on a helper thread while this one
  // runs the text searches: the two share nothing (the indexes are caught up with SQLite first,
  // and searching them needs no connection). Indexes still building are searched after.
  std::vector<const VectorIndex*> ready(layers.size(), nullptr);
  if (text_mode && vector_mode) {
    for (size_t l = 0; l < layers.size(); ++l) {
      absl::StatusOr<const VectorIndex*> index =
          vectors_->CaughtUpIndex(*db_, layers[l], query.agent_id);
      if (!index.ok()) return index.status();
      ready[l] = *index;
    }
  }
  {
    std::thread helper;
    if (std::any_of(ready.begin(), ready.end(),
                    [](const VectorIndex* i) { return i != nullptr; })) {
      helper = std::thread([&] {
        for (size_t l = 0; l < layers.size(); ++l) {
          if (ready[l] != nullptr) nearest[l] = ready[l]->Search(vector, vector_depth);
        }
      });
    }
    absl::Status failed;
    for (size_t l = 0; l < layers.size() && text_mode && failed.ok(); ++l) {
      absl::StatusOr<std::vector<std::pair<int64_t, double>>> found =
          TextSearch(layers[l], query.agent_id, query.text, depth, query);
      if (found.ok()) {
        text[l] = *std::move(found);
      } else {
        failed = found.status();
      }
    }
    if (helper.joinable()) helper.join();
    if (!failed.ok()) return failed;
  }
  for (size_t l = 0; l < layers.size() && vector_mode; ++l) {
    if (ready[l] != nullptr) continue;
    absl::StatusOr<std::vector<std::pair<int64_t, float>>> found =
        vectors_->Search(*db_, layers[l], query.agent_id, vector, vector_depth);
    if (!found.ok()) return found.status();
    nearest[l] = *std::move(found);
  }
  for (size_t l = 0; l < layers.size(); ++l) {
    for (size_t i = 0; i < text[l].size(); ++i) {
      Candidate& c = candidate(layers[l], text[l][i].first);
      c.text_rank = static_cast<int>(i) + 1;
      c.bm25 = text[l][i].second;
    }
    for (const auto& [id, cosine] : nearest[l]) candidate(layers[l], id).cosine = cosine;
  }

  // Each candidate's filters, time and importance first; the rest of a record (text, JSON
  // provenance) is read below only for the ones that make the top k.
  std::vector<RecallHit> hits;
  const std::string phases = PhaseList(query.phases);
  for (Candidate& c : candidates) {
    const bool semantic = c.layer == Layer::kSemantic;
    absl::StatusOr<StatementLease> row = Prepared(
        semantic ? "SELECT created_ms, importance FROM entries WHERE id = ?1 AND agent_id = ?2 "
                   "AND instr(?3, ',' || phase || ',') > 0 AND created_ms BETWEEN ?4 AND ?5"
                 : "SELECT ts_ms, importance FROM events WHERE id = ?1 AND agent_id = ?2 AND "
                   "instr(?3, ',' || phase || ',') > 0 AND ts_ms BETWEEN ?4 AND ?5");
    if (!row.ok()) return row.status();
    (*row)
        ->Bind(1, c.id)
        .Bind(2, query.agent_id)
        .Bind(3, phases)
        .Bind(4, query.from_ms)
        .Bind(5, query.to_ms);
    absl::StatusOr<bool> found = (*row)->Step();
    if (!found.ok()) return found.status();
    if (!*found) continue;
    RecallHit hit;
    hit.layer = c.layer;
    hit.id = c.id;
    hit.ts_ms = (*row)->ColumnInt(0);
    hit.importance = (*row)->ColumnDouble(1);
    hit.bm25 = c.bm25;
    hit.cosine = c.cosine;
    hit.text_rank = c.text_rank;
    const double age_days = std::max<double>(0, static_cast<double>(now - hit.ts_ms)) / 86400000.0;
    hit.recency = std::exp(-age_days / std::max(options_.recency_tau_days, 1e-9));
    hits.push_back(std::move(hit));
  }
  // Vector ranks among the records that passed the filters, per layer.
  {
    std::vector<RecallHit*> by_cosine;
    for (RecallHit& hit : hits) {
      if (hit.cosine != 0) by_cosine.push_back(&hit);
    }
    std::stable_sort(by_cosine.begin(), by_cosine.end(),
                     [](const RecallHit* a, const RecallHit* b) { return a->cosine > b->cosine; });
    absl::flat_hash_map<int, int> next_rank;
    for (RecallHit* hit : by_cosine) {
      int& rank = next_rank[static_cast<int>(hit->layer)];
      if (rank >= depth) continue;
      hit->vector_rank = ++rank;
    }
  }
  double max_bm25 = 0;
  for (const RecallHit& hit : hits) max_bm25 = std::max(max_bm25, hit.bm25);
  for (RecallHit& hit : hits) {
    if (options_.fusion == Fusion::kRrf) {
      double rrf = 0;
      if (hit.text_rank > 0) rrf += 1.0 / (60.0 + hit.text_rank);
      if (hit.vector_rank > 0) rrf += 1.0 / (60.0 + hit.vector_rank);
      hit.score = rrf * (0.8 + 0.1 * hit.recency + 0.1 * hit.importance);
    } else {
      hit.score = 0.45 * (max_bm25 > 0 ? hit.bm25 / max_bm25 : 0) +
                  0.45 * std::max(0.0, hit.cosine) + 0.05 * hit.recency + 0.05 * hit.importance;
    }
  }
  hits.erase(std::remove_if(
                 hits.begin(), hits.end(),
                 [](const RecallHit& hit) { return hit.text_rank == 0 && hit.vector_rank == 0; }),
             hits.end());
  std::stable_sort(hits.begin(), hits.end(),
                   [](const RecallHit& a, const RecallHit& b) { return a.score > b.score; });
  // The rest of each record, best first, until k are read. The surprise gate copies an
  // event's text into an entry: one text is shown once, best first.
  {
    absl::flat_hash_set<std::string> shown;
    std::vector<RecallHit> complete;
    for (RecallHit& hit : hits) {
      if (static_cast<int>(complete.size()) >= query.k) break;
      absl::StatusOr<StatementLease> row =
          Prepared(hit.layer == Layer::kSemantic
                       ? "SELECT uid, kind, content, phase, privacy, provenance FROM entries "
                         "WHERE id = ?1"
                       : "SELECT uid, kind, content, phase, privacy, provenance FROM events "
                         "WHERE id = ?1");
      if (!row.ok()) return row.status();
      (*row)->Bind(1, hit.id);
      absl::StatusOr<bool> found = (*row)->Step();
      if (!found.ok()) return found.status();
      if (!*found) continue;  // erased by another process since
      hit.content = (*row)->ColumnText(2);
      if (!shown.insert(hit.content).second) continue;
      hit.uid = (*row)->ColumnText(0);
      hit.kind = (*row)->ColumnText(1);
      absl::StatusOr<Phase> phase = ParsePhase((*row)->ColumnText(3));
      absl::StatusOr<PrivacyClass> privacy = ParsePrivacy((*row)->ColumnText(4));
      absl::StatusOr<Provenance> provenance = ProvenanceFromText((*row)->ColumnText(5));
      if (!phase.ok() || !privacy.ok() || !provenance.ok()) {
        return absl::DataLossError(
            absl::StrCat("stored record ", hit.id, " of agent ", query.agent_id, " is damaged"));
      }
      hit.phase = *phase;
      hit.privacy = *privacy;
      hit.provenance = *std::move(provenance);
      complete.push_back(std::move(hit));
    }
    hits = std::move(complete);
  }
  if (static_cast<int>(hits.size()) > query.k) hits.resize(static_cast<size_t>(query.k));

  if (query.touch && !hits.empty()) {
    absl::StatusOr<Transaction> transaction = Transaction::Begin(*db_);
    if (!transaction.ok()) return transaction.status();
    for (const RecallHit& hit : hits) {
      absl::StatusOr<StatementLease> touch =
          Prepared(hit.layer == Layer::kSemantic
                       ? "UPDATE entries SET last_access_ms = ?1, access_count = access_count + 1, "
                         "phase = 'hot' WHERE id = ?2"
                       : "UPDATE events SET last_access_ms = ?1, access_count = access_count + 1, "
                         "phase = 'hot' WHERE id = ?2");
      if (!touch.ok()) return touch.status();
      (*touch)->Bind(1, now).Bind(2, hit.id);
      if (absl::Status s = (*touch)->Run(); !s.ok()) return s;
    }
    if (absl::Status s = transaction->Commit(); !s.ok()) return s;
  }
  return hits;
}

}  // namespace llive::memory
