// The `llive` FTS5 tokenizer: SegmentText's rules (CJK bigrams, unicode61-like words) inside
// SQLite full-text search.
#pragma once

#include "absl/status/status.h"
#include "memory/database.h"

namespace llive::memory {

// Registers the tokenizer named "llive" on `db`'s connection. Every connection that reads or
// writes the memory FTS5 tables must do this first (SQLite keeps tokenizers per connection).
// Internal error when the SQLite library has no FTS5.
absl::Status RegisterFtsTokenizer(Database& db);

}  // namespace llive::memory
