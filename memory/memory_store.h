// MemoryStore: an agent's four memory layers (episodic, semantic, structural, parameter) in one
// SQLite file, with FAISS vector caches beside it, hybrid recall, surprise gates, phases,
// edge dynamics, forgetting, export/import and backup.
#pragma once

#include <cstdint>
#include <functional>
#include <iosfwd>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "memory/database.h"
#include "memory/embedder.h"
#include "memory/fts_rank.h"
#include "memory/fts_tokenizer.h"
#include "memory/phases.h"
#include "memory/records.h"
#include "memory/statement.h"
#include "memory/surprise_gate.h"
#include "memory/vector_index.h"

namespace llive::memory {

class VectorCache;

// How hybrid recall fuses its rankings (memory.recall_fusion).
// kRrf: score = sum over the text and vector rankings of 1 / (60 + rank) (rank from 1), times
//   (0.8 + 0.1 recency + 0.1 importance), so that recency and importance order near-ties.
// kWeighted: score = 0.45 bm25/max_bm25 + 0.45 cosine + 0.05 recency + 0.05 importance.
// recency = exp(-age / recency_tau_days) with age since the record's time.
enum class Fusion { kRrf, kWeighted };

struct StoreOptions {
  // The SQLite file (created when missing). Required.
  std::string database_path;
  // Folder for the FAISS cache files; empty keeps the indexes in memory only. Default empty.
  std::string index_dir;
  // Embeds events and entries; null means HashingEmbedder(512). Shared, must outlive nothing.
  std::shared_ptr<const Embedder> embedder;
  // Largest content accepted, in bytes (memory.max_content_bytes). Default 65536.
  int64_t max_content_bytes = 65536;
  // FAISS settings; `dim` is taken from the embedder. Default ivf_threshold 200000.
  VectorIndexOptions vector_index;
  // Fixed surprise gate threshold (memory.surprise_theta). Default 0.3.
  double surprise_theta = kDefaultSurpriseTheta;
  // The Bayesian gate; cold_start_theta is set from surprise_theta. Defaults in its header.
  BayesianSurpriseGate::Options bayesian_gate;
  // Recent vectors per agent that surprise is measured against. Default 64.
  int surprise_window = 64;
  // Phase thresholds (memory.phase_days.*). Defaults 7/30/90/180.
  PhaseDays phase_days;
  // Fusion of hybrid recall (memory.recall_fusion). Default kRrf.
  Fusion fusion = Fusion::kRrf;
  // Time constant of the recency term of recall, in days. Default 7.
  double recency_tau_days = 7;
  // Wait for another process's write lock this long before Unavailable. Default 5000 ms.
  int busy_timeout_ms = 5000;
  // Milliseconds since the Unix epoch; null means the system clock. For tests of ageing.
  std::function<int64_t()> clock;
};

// What recall looks for. Layers: episodic and semantic carry text and vectors.
struct RecallQuery {
  std::string agent_id;
  std::string text;
  int k = 10;
  std::vector<Layer> layers = {Layer::kEpisodic, Layer::kSemantic};
  std::vector<Phase> phases = {Phase::kHot, Phase::kWarm, Phase::kCold};
  int64_t from_ms = std::numeric_limits<int64_t>::min();  // record time window, inclusive
  int64_t to_ms = std::numeric_limits<int64_t>::max();
  enum class Mode { kHybrid, kText, kVector } mode = Mode::kHybrid;
  // Record the access on the returned records (last access time, access count), which keeps
  // them from ageing. Default true.
  bool touch = true;
};

struct RecallHit {
  Layer layer = Layer::kEpisodic;
  int64_t id = 0;
  std::string uid;
  std::string kind;
  std::string content;
  int64_t ts_ms = 0;    // event time, or entry creation time
  double score = 0;     // fused score, higher is better
  int text_rank = 0;    // 1-based rank in the BM25 list, 0 when absent
  int vector_rank = 0;  // 1-based rank in the vector list, 0 when absent
  double bm25 = 0;      // BM25 relevance (higher is better), 0 when absent
  double cosine = 0;    // cosine similarity, 0 when absent
  double recency = 0;
  double importance = 0;
  Phase phase = Phase::kHot;
  PrivacyClass privacy = PrivacyClass::kPrivate;
  Provenance provenance;
};

struct AgentStats {
  std::string agent_id;
  int64_t events = 0;
  int64_t unconsolidated_events = 0;
  int64_t entries = 0;
  int64_t pages = 0;
  int64_t edges = 0;
  int64_t artifacts = 0;
};

struct StoreStats {
  std::vector<AgentStats> agents;  // one per agent with any record, by agent id
  int64_t database_bytes = 0;      // main file plus WAL
  int schema_version = 0;
  std::string embedder_tag;
};

struct PhaseReport {
  int64_t changed = 0;  // records moved to another stored phase
  int64_t erased = 0;   // records deleted because they reached the erased phase
};

struct ImportReport {
  int64_t events = 0, entries = 0, pages = 0, edges = 0, artifacts = 0;
  int64_t skipped = 0;  // records whose uid was already present
};

// One store per database file per process; several processes may open the same file (one
// writer at a time, others wait up to busy_timeout_ms). Thread-safe: calls are serialised by
// an internal lock; vector index loading and rebuilding run on a background thread.
//
// Errors: InvalidArgument for bad input (agent id, UTF-8, empty or oversized content, bad
// JSON), NotFound for records that do not exist *for that agent* (another agent's record is
// indistinguishable from a missing one), FailedPrecondition for a database of a newer schema,
// DataLoss for a corrupt database or a tampered artifact, Unavailable for I/O and lock
// timeouts. A failed call changes nothing.
class MemoryStore {
 public:
  // Opens or creates the database, migrates its schema, and starts loading (or rebuilding)
  // the vector caches in the background: Open does not wait for them; searches meanwhile use
  // an exact scan of the vectors in SQLite.
  static absl::StatusOr<std::unique_ptr<MemoryStore>> Open(StoreOptions options);
  // Waits for background index work and saves the vector caches.
  ~MemoryStore();
  MemoryStore(const MemoryStore&) = delete;
  MemoryStore& operator=(const MemoryStore&) = delete;

  // Agent ids: 1 to 128 bytes of letters, digits and . _ - : @.
  static absl::Status ValidateAgentId(absl::string_view agent_id);

  // ---- episodic ----
  // Appends events in order, all or none, in one transaction. Each gets a vector, a surprise
  // (against the agent's recent window) and, when both surprise gates pass, a semantic entry
  // of kind "surprise" derived from it. Returns the new ids, ascending.
  absl::StatusOr<std::vector<int64_t>> AppendEvents(absl::string_view agent_id,
                                                    absl::Span<const EventInput> events);
  absl::StatusOr<int64_t> AppendEvent(absl::string_view agent_id, const EventInput& event);
  absl::StatusOr<Event> GetEvent(absl::string_view agent_id, int64_t id);
  // Events with from_id <= id <= to_id, oldest first, at most `limit`.
  absl::StatusOr<std::vector<Event>> EventsByIdRange(absl::string_view agent_id, int64_t from_id,
                                                     int64_t to_id, int limit);
  // Events with from_ms <= ts_ms <= to_ms, oldest first, at most `limit`.
  absl::StatusOr<std::vector<Event>> EventsByTime(absl::string_view agent_id, int64_t from_ms,
                                                  int64_t to_ms, int limit);
  // The newest `limit` events, newest first.
  absl::StatusOr<std::vector<Event>> RecentEvents(absl::string_view agent_id, int limit);
  // Events after the consolidated watermark, oldest first.
  absl::StatusOr<std::vector<Event>> UnconsolidatedEvents(absl::string_view agent_id, int limit);
  // The id of the last event consolidation has taken (0 when none).
  absl::StatusOr<int64_t> ConsolidatedWatermark(absl::string_view agent_id);
  // Moves the watermark forward to `event_id` (an event of this agent). InvalidArgument when
  // it would move backwards.
  absl::Status SetConsolidatedWatermark(absl::string_view agent_id, int64_t event_id);
  absl::Status SetEventFactors(absl::string_view agent_id, int64_t id,
                               absl::Span<const float> factors);

  // ---- semantic ----
  absl::StatusOr<int64_t> AddEntry(absl::string_view agent_id, const SemanticEntryInput& entry);
  // Replaces content, kind, metadata and importance in place (same id and uid); the vector
  // is recomputed and the FAISS caches follow.
  absl::Status UpdateEntry(absl::string_view agent_id, int64_t id, const SemanticEntryInput& entry);
  absl::StatusOr<SemanticEntry> GetEntry(absl::string_view agent_id, int64_t id);
  // Entries newest first.
  absl::StatusOr<std::vector<SemanticEntry>> ListEntries(absl::string_view agent_id, int limit);

  // ---- structural ----
  // Creates the page, or updates the agent's page of the same title in place: the id, uid and
  // every edge are kept; linked events are replaced by the given list.
  absl::StatusOr<int64_t> UpsertPage(absl::string_view agent_id, const PageInput& page);
  absl::StatusOr<Page> GetPage(absl::string_view agent_id, int64_t id);
  absl::StatusOr<Page> FindPage(absl::string_view agent_id, absl::string_view title);
  // Sets the edge's weight (clipped to [0,1]); creates it when missing. Both pages must be
  // the agent's.
  absl::Status SetEdge(absl::string_view agent_id, int64_t source, int64_t target, EdgeType type,
                       double weight);
  // What happened to an edge, with the constants of edge_dynamics.h.
  enum class EdgeSignal { kReadHit, kContradiction, kSurprise };
  absl::Status SignalEdge(absl::string_view agent_id, int64_t source, int64_t target, EdgeType type,
                          EdgeSignal signal, double surprise = 0);
  // Outgoing edges of `page`, heaviest first; dormant edges only when asked.
  absl::StatusOr<std::vector<Edge>> Neighbours(absl::string_view agent_id, int64_t page, int limit,
                                               bool include_dormant = false);
  // Decays every edge of the agent by the time since its last update, deletes those below
  // kPruneBelow and returns how many were deleted.
  absl::StatusOr<int64_t> DecayEdges(absl::string_view agent_id);
  // Records that a page was chosen and what it earned (reward in [0,1]).
  absl::Status RecordPageVisit(absl::string_view agent_id, int64_t page, double reward);
  // Pages by UCB1: mean reward + c sqrt(ln N / visits), unvisited pages first. Best first.
  absl::StatusOr<std::vector<std::pair<Page, double>>> RankPagesUcb1(absl::string_view agent_id,
                                                                     int k, double c = 1.4142);

  // ---- parameter ----
  absl::StatusOr<int64_t> PutArtifact(absl::string_view agent_id, const ArtifactInput& artifact);
  // The artifact, its sha256 verified: DataLoss when the stored bytes do not match.
  absl::StatusOr<Artifact> GetArtifact(absl::string_view agent_id, int64_t id);
  // The newest artifact of that kind and name. NotFound when none.
  absl::StatusOr<Artifact> LatestArtifact(absl::string_view agent_id, absl::string_view kind,
                                          absl::string_view name);
  // The newest artifact of each name of that kind, in name order, each verified as above
  // (DataLoss for the first damaged one). Empty when the agent has none of that kind.
  absl::StatusOr<std::vector<Artifact>> LatestArtifacts(absl::string_view agent_id,
                                                        absl::string_view kind);

  // ---- recall ----
  absl::StatusOr<std::vector<RecallHit>> Recall(const RecallQuery& query);

  // ---- ageing and forgetting ----
  // Moves every record to the phase of phases.h; records reaching `erased` are forgotten.
  absl::StatusOr<PhaseReport> ApplyPhases();
  // Erases one record so that its text is gone from the files: the row (with secure_delete),
  // its FTS5 terms (the index is merged), its vectors (FAISS caches rewritten), and the WAL is
  // checkpointed and truncated. NotFound when it is not the agent's. Slow on big stores:
  // batch erasures through ForgetAgent or ApplyPhases where possible.
  absl::Status Forget(absl::string_view agent_id, Layer layer, int64_t id);
  // Erases every record of the agent in every layer. Returns how many were erased.
  absl::StatusOr<int64_t> ForgetAgent(absl::string_view agent_id);

  // ---- export, import, backup, stats ----
  // Writes the agent's records as JSON Lines ({"type": "event"|"entry"|"page"|"edge"|
  // "artifact", ...}), oldest first. Returns the number of lines.
  absl::StatusOr<int64_t> Export(absl::string_view agent_id, std::ostream& out);
  // Reads JSON Lines written by Export into `agent_id` (the agent of the file is replaced),
  // in one transaction. Records whose uid exists are skipped. InvalidArgument naming the line
  // on bad input, and nothing is imported.
  absl::StatusOr<ImportReport> Import(absl::string_view agent_id, std::istream& in);
  // A consistent copy of the database at `path` (SQLite online backup), taken while others
  // keep writing. An existing file at `path` is AlreadyExists unless `overwrite` (then it is
  // replaced); the store's own database is InvalidArgument either way.
  absl::Status Backup(const std::string& path, bool overwrite = false);
  absl::StatusOr<StoreStats> Stats();
  // The number of vectors in the agent's FAISS index of `layer` (episodic or semantic) once it
  // is built and caught up with SQLite; waits for background work. For checks and stats.
  absl::StatusOr<int64_t> IndexedVectorCount(absl::string_view agent_id, Layer layer);
  // Blocks until the background vector index work queued so far is done.
  void WaitForIndexes();
  const Embedder& embedder() const { return *options_.embedder; }
  const std::string& path() const { return options_.database_path; }

 private:
  MemoryStore(StoreOptions options, std::unique_ptr<Database> db,
              std::unique_ptr<FtsLengths> fts_lengths, std::unique_ptr<FtsTermsAhead> fts_ahead);
  int64_t Now() const;
  // A prepared statement for `sql`, prepared once per store and reset for reuse.
  absl::StatusOr<StatementLease> Prepared(absl::string_view sql) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status CheckContent(absl::string_view what, absl::string_view content) const;
  absl::StatusOr<int64_t> EmbedderRowId() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<int64_t> InsertEntry(absl::string_view agent_id, const SemanticEntryInput& entry,
                                      absl::Span<const float> vector, double surprise,
                                      const std::string& uid, int64_t created_ms,
                                      const FtsTerms* terms = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<SurpriseWindow*> WindowFor(absl::string_view agent_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status RecordVectorChange(Layer layer, absl::string_view agent_id, int64_t id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::vector<std::pair<int64_t, double>>> TextSearch(
      Layer layer, absl::string_view agent_id, absl::string_view text, int limit,
      const RecallQuery& query) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // `term`'s document count among `agent_id`'s records of `layer` (cached, loosely fresh).
  absl::StatusOr<int64_t> DocumentFrequency(Layer layer, absl::string_view agent_id,
                                            absl::string_view term)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // How many records of `layer` `agent_id` has (cached until the layer grows by a tenth).
  absl::StatusOr<int64_t> AgentDocuments(Layer layer, absl::string_view agent_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status EraseRows(Layer layer, absl::string_view agent_id, const std::vector<int64_t>& ids)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status ScrubFiles() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<bool> PageBelongs(absl::string_view agent_id, int64_t page)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Memoises the FTS rows' lengths for ranking (before db_: the connection refers to it).
  absl::StatusOr<int> FtsLengthSlot(Layer layer) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  StoreOptions options_;
  std::unique_ptr<FtsLengths> fts_lengths_;
  // Terms tokenized ahead by an append's helper thread (before db_: the connection refers to it).
  std::unique_ptr<FtsTermsAhead> fts_ahead_;
  int64_t fts_lengths_data_version_ = -1;
  int64_t fts_length_queries_[FtsLengths::kSlots] = {0, 0};  // loaded whole at the second
  absl::Mutex mu_;
  std::unique_ptr<Database> db_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<Statement>> statements_ ABSL_GUARDED_BY(mu_);
  int64_t embedder_row_id_ ABSL_GUARDED_BY(mu_) = 0;
  std::string database_uid_;
  absl::flat_hash_map<std::string, std::unique_ptr<SurpriseWindow>> windows_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, std::unique_ptr<BayesianSurpriseGate>> gates_
      ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<std::string, int64_t> document_frequency_ ABSL_GUARDED_BY(mu_);
  struct AgentCount {
    int64_t documents = 0;
    int64_t counted_at_sequence = 0;  // the layer's last id when counted; 0: never counted
  };
  absl::flat_hash_map<std::string, AgentCount> agent_documents_ ABSL_GUARDED_BY(mu_);
  std::unique_ptr<VectorCache> vectors_;
};

}  // namespace llive::memory
