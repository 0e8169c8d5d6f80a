// The `llive` FTS5 tokenizer: SegmentText's rules (CJK bigrams, unicode61-like words) inside
// SQLite full-text search, with every term of a document scoped to its agent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "memory/database.h"

namespace llive::memory {

// The terms the `llive` tokenizer gives one FTS text, worked out ahead of the text's insert, so
// that the tokenizing (a fifth of an append's time on the writing thread) can run on another
// thread than the SQLite write (see FtsTermsAhead). Immutable once built; thread-compatible.
class FtsTerms {
 public:
  FtsTerms() = default;
  // Tokenizes `text` (an FtsDocument, or any text) exactly as the tokenizer does.
  explicit FtsTerms(std::string text);
  // The text the terms are of: what the FTS insert must bind for them to be used.
  const std::string& text() const { return text_; }
  size_t size() const { return terms_.size(); }

 private:
  friend struct FtsTermsAheadAccess;
  struct Term {
    uint32_t end;  // in bytes_; the term starts where the previous one ends
    int start;     // byte range of the term in text_
    int stop;
  };
  std::string text_;
  std::string bytes_;  // the terms, one after another
  std::vector<Term> terms_;
};

// One per connection: the terms of the text that the connection's next FTS write will
// tokenize, if the writer has them. The tokenizer uses them for a document whose bytes equal
// their text (and tokenizes anything else itself), so a stale or wrong offer costs a
// comparison, never a wrong index. Used under the connection's owner's lock.
class FtsTermsAhead {
 public:
  // Offers `terms` (not owned; null withdraws) until the next Offer.
  void Offer(const FtsTerms* terms) { offered_ = terms; }
  // How many documents were indexed from offered terms (for tests).
  int64_t used() const { return used_; }

 private:
  friend struct FtsTermsAheadAccess;
  const FtsTerms* offered_ = nullptr;
  int64_t used_ = 0;
};

// Registers, on `db`'s connection, the tokenizer named "llive" and the SQL function
// llive_fts_text(agent_id, content), which returns FtsDocument(agent_id, content) (schema
// migrations use it to re-index stored rows). Every connection that reads or writes the memory
// FTS5 tables must do this first (SQLite keeps tokenizers per connection). With `ahead`
// (which must outlive the connection), the tokenizer takes a document's terms from it when
// offered. Internal error when the SQLite library has no FTS5.
absl::Status RegisterFtsTokenizer(Database& db, FtsTermsAhead* ahead = nullptr);

// The text an FTS table stores for `agent_id`'s `content`: the agent between two U+001E marks,
// then the content. The tokenizer indexes each of the content's terms as
// FtsAgentTerm(agent_id, term), so that a term's doclist holds one agent's rows only: a query
// walks its own agent's postings, never another's, and needs no separate agent phrase.
// Text that does not start with the mark is tokenized unscoped.
std::string FtsDocument(absl::string_view agent_id, absl::string_view content);

// A term as the tokenizer indexes it for `agent_id` (as fts5vocab lists it).
std::string FtsAgentTerm(absl::string_view agent_id, absl::string_view term);

}  // namespace llive::memory
