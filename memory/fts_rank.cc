// BM25 with caller-given document frequencies as an FTS5 auxiliary function.
#include "memory/fts_rank.h"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>

#include "memory/statement.h"

namespace llive::memory {
namespace {

constexpr double kK1 = 1.2;
constexpr double kB = 0.75;

void Bm25(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* result, int argc,
          sqlite3_value** argv) {
  int length = 0;
  sqlite3_int64 total = 0, rows = 0;
  // Lengths over all columns, as bm25() counts them.
  int rc = api->xColumnSize(fts, -1, &length);
  if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &total);
  if (rc == SQLITE_OK) rc = api->xRowCount(fts, &rows);
  const double average = rows > 0 && total > 0 ? static_cast<double>(total) / rows : 1.0;
  const double norm = kK1 * (1 - kB + kB * length / average);
  double score = 0;
  const int phrases = std::min(api->xPhraseCount(fts), argc);
  for (int phrase = 0; rc == SQLITE_OK && phrase < phrases; ++phrase) {
    Fts5PhraseIter iterator;
    int column = -1, offset = 0, frequency = 0;
    rc = api->xPhraseFirst(fts, phrase, &iterator, &column, &offset);
    for (; rc == SQLITE_OK && column >= 0; api->xPhraseNext(fts, &iterator, &column, &offset)) {
      ++frequency;
    }
    if (frequency == 0) continue;
    // FTS5's IDF, floored the same way so that very common terms still count a little.
    const double n = sqlite3_value_double(argv[phrase]);
    const double idf = std::max(1e-6, std::log((static_cast<double>(rows) - n + 0.5) / (n + 0.5)));
    score += idf * frequency * (kK1 + 1) / (frequency + norm);
  }
  if (rc != SQLITE_OK) {
    sqlite3_result_error_code(result, rc);
    return;
  }
  sqlite3_result_double(result, score);
}

}  // namespace

absl::Status RegisterFtsRank(Database& db) {
  absl::StatusOr<Statement> statement = Statement::Prepare(db, "SELECT fts5(?1)");
  if (!statement.ok()) return statement.status();
  fts5_api* api = nullptr;
  sqlite3_bind_pointer(statement->handle(), 1, &api, "fts5_api_ptr", nullptr);
  if (absl::StatusOr<bool> row = statement->Step(); !row.ok()) return row.status();
  if (api == nullptr || api->iVersion < 2) {
    return absl::InternalError("this SQLite library has no FTS5; llive needs SQLite >= 3.20");
  }
  int rc = api->xCreateFunction(api, "llive_bm25", nullptr, Bm25, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, "cannot register the llive_bm25 FTS5 function");
  return absl::OkStatus();
}

}  // namespace llive::memory
