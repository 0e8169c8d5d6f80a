// `llive_bm25`, the FTS5 ranking function of recall: BM25 over the content column with the
// query terms' document frequencies given by the caller.
#pragma once

#include "absl/status/status.h"
#include "memory/database.h"

namespace llive::memory {

// Registers the FTS5 auxiliary function llive_bm25(table, df_1, ..., df_n) on `db`'s
// connection. It scores a row with BM25 as FTS5's bm25() does (k1 1.2, b 0.75, IDF
// log((N - df + 0.5) / (df + 0.5)) floored at 1e-6, lengths over all columns): phrase i of the
// MATCH (from 1) is weighed by the IDF of df_i. FTS5's bm25() finds each phrase's document count
// by walking the phrase's whole doclist on every query; at a million events that was 30 ms of a
// 35 ms query (docs/benchmarks.md). The store already knows each term's document frequency, so
// the caller passes it. Internal error when the SQLite library has no FTS5.
absl::Status RegisterFtsRank(Database& db);

}  // namespace llive::memory
