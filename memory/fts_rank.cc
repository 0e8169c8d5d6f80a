// BM25 with caller-given document frequencies and memoised row lengths as an FTS5 auxiliary
// function.
#include "memory/fts_rank.h"

#include <sqlite3.h>

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "memory/statement.h"

namespace llive::memory {
namespace {

constexpr double kK1 = 1.2;
constexpr double kB = 0.75;

// A row's token count over all columns: FTS5's docsize blob is one SQLite varint per column.
int SumOfVarints(const unsigned char* bytes, int size) {
  int64_t sum = 0;
  int i = 0;
  while (i < size) {
    uint64_t value = 0;
    int n = 0;
    for (; n < 8 && i < size; ++n) {
      const unsigned char byte = bytes[i++];
      value = (value << 7) | (byte & 0x7f);
      if ((byte & 0x80) == 0) break;
      if (n == 7 && i < size) value = (value << 8) | bytes[i++];  // a 9th byte is 8 bits
    }
    sum += static_cast<int64_t>(value);
  }
  return static_cast<int>(std::min<int64_t>(sum, 0x7fffffff));
}

void Bm25(const Fts5ExtensionApi* api, Fts5Context* fts, sqlite3_context* result, int argc,
          sqlite3_value** argv) {
  auto* lengths = static_cast<FtsLengths*>(api->xUserData(fts));
  const int slot = argc > 0 ? sqlite3_value_int(argv[0]) : -1;
  const bool memo = lengths != nullptr && slot >= 0 && slot < FtsLengths::kSlots;
  int length = memo ? lengths->Get(slot, api->xRowid(fts)) : -1;
  int rc = SQLITE_OK;
  if (length < 0) {
    rc = api->xColumnSize(fts, -1, &length);
    if (rc == SQLITE_OK && memo) lengths->Set(slot, api->xRowid(fts), length);
  }
  sqlite3_int64 total = 0, rows = 0;
  if (rc == SQLITE_OK) rc = api->xColumnTotalSize(fts, -1, &total);
  if (rc == SQLITE_OK) rc = api->xRowCount(fts, &rows);
  const double average = rows > 0 && total > 0 ? static_cast<double>(total) / rows : 1.0;
  const double norm = kK1 * (1 - kB + kB * length / average);
  double score = 0;
  const int phrases = std::min(api->xPhraseCount(fts), argc - 1);
  for (int phrase = 0; rc == SQLITE_OK && phrase < phrases; ++phrase) {
    Fts5PhraseIter iterator;
    int column = -1, offset = 0, frequency = 0;
    rc = api->xPhraseFirst(fts, phrase, &iterator, &column, &offset);
    for (; rc == SQLITE_OK && column >= 0; api->xPhraseNext(fts, &iterator, &column, &offset)) {
      ++frequency;
    }
    if (frequency == 0) continue;
    // FTS5's IDF, floored the same way so that very common terms still count a little.
    const double n = sqlite3_value_double(argv[phrase + 1]);
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

int FtsLengths::Get(int slot, int64_t rowid) const {
  const std::vector<int32_t>& lengths = lengths_[slot];
  return rowid >= 0 && rowid < static_cast<int64_t>(lengths.size())
             ? lengths[static_cast<size_t>(rowid)]
             : -1;
}

void FtsLengths::Set(int slot, int64_t rowid, int length) {
  std::vector<int32_t>& lengths = lengths_[slot];
  if (rowid < 0) return;
  if (rowid >= static_cast<int64_t>(lengths.size())) {
    if (length < 0) return;
    lengths.resize(std::max<size_t>(static_cast<size_t>(rowid) + 1, lengths.size() * 5 / 4), -1);
  }
  lengths[static_cast<size_t>(rowid)] = length;
}

absl::Status RegisterFtsRank(Database& db, FtsLengths* lengths) {
  absl::StatusOr<Statement> statement = Statement::Prepare(db, "SELECT fts5(?1)");
  if (!statement.ok()) return statement.status();
  fts5_api* api = nullptr;
  sqlite3_bind_pointer(statement->handle(), 1, &api, "fts5_api_ptr", nullptr);
  if (absl::StatusOr<bool> row = statement->Step(); !row.ok()) return row.status();
  if (api == nullptr || api->iVersion < 2) {
    return absl::InternalError("this SQLite library has no FTS5; llive needs SQLite >= 3.20");
  }
  int rc = api->xCreateFunction(api, "llive_bm25", lengths, Bm25, nullptr);
  if (rc != SQLITE_OK) return db.Error(rc, "cannot register the llive_bm25 FTS5 function");
  return absl::OkStatus();
}

absl::Status LoadFtsLengths(Database& db, const char* table, int slot, FtsLengths& lengths) {
  absl::StatusOr<Statement> select =
      Statement::Prepare(db, absl::StrCat("SELECT id, sz FROM ", table, "_docsize"));
  if (!select.ok()) return select.status();
  while (true) {
    absl::StatusOr<bool> row = select->Step();
    if (!row.ok()) return row.status();
    if (!*row) return absl::OkStatus();
    const auto* bytes = static_cast<const unsigned char*>(sqlite3_column_blob(select->handle(), 1));
    const int size = sqlite3_column_bytes(select->handle(), 1);
    lengths.Set(slot, select->ColumnInt(0), SumOfVarints(bytes, size));
  }
}

}  // namespace llive::memory
