// Adapts SegmentText to SQLite's fts5_tokenizer callbacks, prefixing each term with its agent.
#include "memory/fts_tokenizer.h"

#include <sqlite3.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "memory/statement.h"
#include "memory/store_rows.h"
#include "memory/text_segmenter.h"

namespace llive::memory {
namespace {

constexpr char kAgentMark = '\x1e';
// Between the agent token and the term in an indexed term: no term or agent token holds it.
constexpr char kTermSeparator = '\x1f';

// Calls `term(bytes, size, start, end)` for each term the tokenizer indexes of `all`; stops at
// the first result other than SQLITE_OK and returns it (SQLITE_DONE, a stop asked for, as OK).
template <typename TermCallback>
int ForEachTerm(absl::string_view all, TermCallback term_callback) {
  // "<mark>agent-token<mark>content": terms become "agent-token<separator>term".
  std::string term;
  size_t offset = 0;
  if (!all.empty() && all.front() == kAgentMark) {
    const size_t end = all.find(kAgentMark, 1);
    if (end != absl::string_view::npos) {
      term = absl::StrCat(all.substr(1, end - 1), absl::string_view(&kTermSeparator, 1));
      offset = end + 1;
    }
  }
  const size_t prefix = term.size();
  int rc = SQLITE_OK;
  SegmentText(all.substr(offset), [&](const Token& token) {
    if (rc != SQLITE_OK) return;
    const int start = token.start + static_cast<int>(offset);
    const int end = token.end + static_cast<int>(offset);
    if (prefix == 0) {
      rc = term_callback(token.text.data(), static_cast<int>(token.text.size()), start, end);
      return;
    }
    term.resize(prefix);
    term.append(token.text.data(), token.text.size());
    rc = term_callback(term.data(), static_cast<int>(term.size()), start, end);
  });
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

// With no FtsTermsAhead registered, the tokenizer instance is this one, never offered anything.
FtsTermsAhead& NothingAhead() {
  static FtsTermsAhead* nothing = new FtsTermsAhead();
  return *nothing;
}

// The instance is the connection's FtsTermsAhead (its user data); the tokenizer has no options.
int CreateTokenizer(void* user_data, const char**, int, Fts5Tokenizer** out) {
  *out = reinterpret_cast<Fts5Tokenizer*>(user_data != nullptr ? user_data : &NothingAhead());
  return SQLITE_OK;
}

void DeleteTokenizer(Fts5Tokenizer*) {}

}  // namespace

struct FtsTermsAheadAccess {
  // The terms offered for `text` when they are of it and it is being indexed, else null.
  static const FtsTerms* For(FtsTermsAhead& ahead, int flags, absl::string_view text) {
    const FtsTerms* terms = ahead.offered_;
    if (terms == nullptr || (flags & FTS5_TOKENIZE_DOCUMENT) == 0 || terms->text_ != text) {
      return nullptr;
    }
    ++ahead.used_;
    return terms;
  }
  static int Replay(const FtsTerms& terms, void* context,
                    int (*token_callback)(void*, int, const char*, int, int, int)) {
    uint32_t from = 0;
    for (const FtsTerms::Term& term : terms.terms_) {
      const int rc = token_callback(context, 0, terms.bytes_.data() + from,
                                    static_cast<int>(term.end - from), term.start, term.stop);
      if (rc != SQLITE_OK) return rc == SQLITE_DONE ? SQLITE_OK : rc;
      from = term.end;
    }
    return SQLITE_OK;
  }
};

namespace {

int Tokenize(Fts5Tokenizer* tokenizer, void* context, int flags, const char* text, int bytes,
             int (*token_callback)(void*, int, const char*, int, int, int)) {
  absl::string_view all(text, static_cast<size_t>(bytes));
  auto& ahead = *reinterpret_cast<FtsTermsAhead*>(tokenizer);
  if (const FtsTerms* terms = FtsTermsAheadAccess::For(ahead, flags, all); terms != nullptr) {
    return FtsTermsAheadAccess::Replay(*terms, context, token_callback);
  }
  return ForEachTerm(all, [&](const char* term, int size, int start, int end) {
    return token_callback(context, 0, term, size, start, end);
  });
}

void FtsTextFunction(sqlite3_context* result, int, sqlite3_value** argv) {
  auto text = [](sqlite3_value* value) {
    const unsigned char* bytes = sqlite3_value_text(value);
    return absl::string_view(
        reinterpret_cast<const char*>(bytes),
        bytes == nullptr ? 0 : static_cast<size_t>(sqlite3_value_bytes(value)));
  };
  const std::string document = FtsDocument(text(argv[0]), text(argv[1]));
  sqlite3_result_text(result, document.data(), static_cast<int>(document.size()), SQLITE_TRANSIENT);
}

}  // namespace

FtsTerms::FtsTerms(std::string text) : text_(std::move(text)) {
  ForEachTerm(text_, [&](const char* term, int size, int start, int end) {
    bytes_.append(term, static_cast<size_t>(size));
    terms_.push_back(Term{static_cast<uint32_t>(bytes_.size()), start, end});
    return SQLITE_OK;
  });
}

std::string FtsDocument(absl::string_view agent_id, absl::string_view content) {
  return absl::StrCat(absl::string_view(&kAgentMark, 1), AgentToken(agent_id),
                      absl::string_view(&kAgentMark, 1), content);
}

std::string FtsAgentTerm(absl::string_view agent_id, absl::string_view term) {
  return absl::StrCat(AgentToken(agent_id), absl::string_view(&kTermSeparator, 1), term);
}

absl::Status RegisterFtsTokenizer(Database& db, FtsTermsAhead* ahead) {
  absl::StatusOr<Statement> statement = Statement::Prepare(db, "SELECT fts5(?1)");
  if (!statement.ok()) return statement.status();
  fts5_api* api = nullptr;
  sqlite3_bind_pointer(statement->handle(), 1, &api, "fts5_api_ptr", nullptr);
  if (absl::StatusOr<bool> row = statement->Step(); !row.ok()) return row.status();
  if (api == nullptr || api->iVersion < 2) {
    return absl::InternalError("this SQLite library has no FTS5; llive needs SQLite >= 3.20");
  }
  static fts5_tokenizer tokenizer = {CreateTokenizer, DeleteTokenizer, Tokenize};
  int rc = api->xCreateTokenizer(api, "llive", ahead, &tokenizer, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, "cannot register the llive FTS5 tokenizer");
  rc = sqlite3_create_function(db.handle(), "llive_fts_text", 2,
                               SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, nullptr,
                               FtsTextFunction, nullptr, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, "cannot register the llive_fts_text SQL function");
  return absl::OkStatus();
}

}  // namespace llive::memory
