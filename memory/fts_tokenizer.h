// The `llive` FTS5 tokenizer: SegmentText's rules (CJK bigrams, unicode61-like words) inside
// SQLite full-text search, with every term of a document scoped to its agent.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "memory/database.h"

namespace llive::memory {

// Registers, on `db`'s connection, the tokenizer named "llive" and the SQL function
// llive_fts_text(agent_id, content), which returns FtsDocument(agent_id, content) (schema
// migrations use it to re-index stored rows). Every connection that reads or writes the memory
// FTS5 tables must do this first (SQLite keeps tokenizers per connection). Internal error when
// the SQLite library has no FTS5.
absl::Status RegisterFtsTokenizer(Database& db);

// The text an FTS table stores for `agent_id`'s `content`: the agent between two U+001E marks,
// then the content. The tokenizer indexes each of the content's terms as
// FtsAgentTerm(agent_id, term), so that a term's doclist holds one agent's rows only: a query
// walks its own agent's postings, never another's, and needs no separate agent phrase.
// Text that does not start with the mark is tokenized unscoped.
std::string FtsDocument(absl::string_view agent_id, absl::string_view content);

// A term as the tokenizer indexes it for `agent_id` (as fts5vocab lists it).
std::string FtsAgentTerm(absl::string_view agent_id, absl::string_view term);

}  // namespace llive::memory
