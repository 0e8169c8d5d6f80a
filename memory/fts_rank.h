// `llive_bm25`, the FTS5 ranking function of recall: BM25 with the query terms' document
// frequencies given by the caller and the rows' lengths from memory.
#pragma once

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "memory/database.h"

namespace llive::memory {

// Token counts of FTS rows by rowid, one table per slot, so that ranking a row needs no read of
// FTS5's docsize table: that read (a b-tree seek per matching row) was 60% of a text query's
// time at a million events (docs/benchmarks.md). A length is only a memo of what FTS5 stores:
// a row not memoised is read from FTS5 and memoised. Rows are identified by rowid; the caller
// forgets a row whose text changes (Forget) or a whole slot (Clear) when another connection may
// have rewritten rows. Not thread-safe: used under the owning store's lock.
class FtsLengths {
 public:
  static constexpr int kSlots = 2;
  // The memoised length of `rowid` in `slot`, or -1.
  int Get(int slot, int64_t rowid) const;
  void Set(int slot, int64_t rowid, int length);
  void Forget(int slot, int64_t rowid) { Set(slot, rowid, -1); }
  void Clear(int slot) { lengths_[slot].clear(); }

 private:
  std::vector<int32_t> lengths_[kSlots];  // by rowid; -1: not memoised
};

// Registers the FTS5 auxiliary function llive_bm25(table, slot, df_1, ..., df_n) on `db`'s
// connection. It scores a row with BM25 as FTS5's bm25() does (k1 1.2, b 0.75, IDF
// log((N - df + 0.5) / (df + 0.5)) floored at 1e-6, lengths over all columns): phrase i of the
// MATCH (from 1) is weighed by the IDF of df_i. FTS5's bm25() finds each phrase's document count
// by walking the phrase's whole doclist on every query (30 ms of a 35 ms query at a million
// events); the store already knows each term's document frequency, so the caller passes it.
// Row lengths come from `lengths`' slot `slot` (0 to FtsLengths::kSlots - 1) when it is not
// null and the slot is not -1. `lengths` must outlive the connection. Internal error when the
// SQLite library has no FTS5.
absl::Status RegisterFtsRank(Database& db, FtsLengths* lengths = nullptr);

// Memoises every row length of FTS5 table `table` (its docsize table) in `slot` of `lengths`.
absl::Status LoadFtsLengths(Database& db, const char* table, int slot, FtsLengths& lengths);

}  // namespace llive::memory
