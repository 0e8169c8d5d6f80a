// Adapts SegmentText to SQLite's fts5_tokenizer callbacks.
#include "memory/fts_tokenizer.h"

#include <sqlite3.h>

#include "memory/statement.h"
#include "memory/text_segmenter.h"

namespace llive::memory {
namespace {

// The tokenizer has no options and no state; one static object serves every instance.
int CreateTokenizer(void*, const char**, int, Fts5Tokenizer** out) {
  static char instance;
  *out = reinterpret_cast<Fts5Tokenizer*>(&instance);
  return SQLITE_OK;
}

void DeleteTokenizer(Fts5Tokenizer*) {}

int Tokenize(Fts5Tokenizer*, void* context, int, const char* text, int bytes,
             int (*token_callback)(void*, int, const char*, int, int, int)) {
  int rc = SQLITE_OK;
  SegmentText(absl::string_view(text, static_cast<size_t>(bytes)), [&](const Token& token) {
    if (rc != SQLITE_OK) return;
    rc = token_callback(context, 0, token.text.data(), static_cast<int>(token.text.size()),
                        token.start, token.end);
  });
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

}  // namespace

absl::Status RegisterFtsTokenizer(Database& db) {
  absl::StatusOr<Statement> statement = Statement::Prepare(db, "SELECT fts5(?1)");
  if (!statement.ok()) return statement.status();
  fts5_api* api = nullptr;
  sqlite3_bind_pointer(statement->handle(), 1, &api, "fts5_api_ptr", nullptr);
  if (absl::StatusOr<bool> row = statement->Step(); !row.ok()) return row.status();
  if (api == nullptr || api->iVersion < 2) {
    return absl::InternalError("this SQLite library has no FTS5; llive needs SQLite >= 3.20");
  }
  static fts5_tokenizer tokenizer = {CreateTokenizer, DeleteTokenizer, Tokenize};
  int rc = api->xCreateTokenizer(api, "llive", nullptr, &tokenizer, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, "cannot register the llive FTS5 tokenizer");
  return absl::OkStatus();
}

}  // namespace llive::memory
