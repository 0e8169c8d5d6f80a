// A prepared SQLite statement: the only way llive's memory code runs SQL with values.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "memory/database.h"

namespace llive::memory {

// One prepared statement on a Database. Not thread-safe (like its Database); it must
// not outlive the Database. Bind indexes are 1-based, column indexes 0-based, as in SQLite.
class Statement {
 public:
  // Prepares `sql` on `db`. InvalidArgument (naming the database) on a syntax error.
  static absl::StatusOr<Statement> Prepare(Database& db, absl::string_view sql);
  Statement(Statement&& other) noexcept;
  Statement& operator=(Statement&& other) noexcept;
  ~Statement();

  // Binding. Text and blobs are copied by SQLite (SQLITE_TRANSIENT), so arguments may die.
  Statement& Bind(int index, int64_t value);
  Statement& Bind(int index, double value);
  Statement& Bind(int index, absl::string_view text);
  Statement& BindBlob(int index, const void* data, size_t bytes);
  Statement& BindNull(int index);
  // Binding without a copy: SQLite reads the bytes where they are, so they must stay alive and
  // unchanged until the statement is reset or the index bound again (for large values written
  // in a loop, such as an event's vector: the copy was a malloc and a memcpy per value).
  Statement& BindView(int index, absl::string_view text);
  Statement& BindBlobView(int index, const void* data, size_t bytes);

  // Advances: true when a row is ready, false when done; an error status otherwise.
  absl::StatusOr<bool> Step();
  // Steps a statement that returns no rows to completion.
  absl::Status Run();
  // Makes the statement runnable again and clears its bindings.
  void Reset();

  int64_t ColumnInt(int column) const;
  double ColumnDouble(int column) const;
  std::string ColumnText(int column) const;
  std::string ColumnBlob(int column) const;
  std::vector<float> ColumnFloats(int column) const;
  bool ColumnIsNull(int column) const;

  sqlite3_stmt* handle() const { return stmt_; }

 private:
  Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Database* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// A statement borrowed from a cache: reset (and its bindings cleared) when the lease ends, so
// that a half-read SELECT never keeps a read transaction open.
class StatementLease {
 public:
  explicit StatementLease(Statement* statement) : statement_(statement) {}
  StatementLease(StatementLease&& other) noexcept
      : statement_(std::exchange(other.statement_, nullptr)) {}
  StatementLease& operator=(StatementLease&&) = delete;
  ~StatementLease() {
    if (statement_ != nullptr) statement_->Reset();
  }
  Statement* operator->() const { return statement_; }
  Statement& operator*() const { return *statement_; }

 private:
  Statement* statement_;
};

// A write transaction (BEGIN IMMEDIATE, so that one writer at a time holds the lock and
// others wait out the busy timeout). Rolls back on destruction unless committed.
class Transaction {
 public:
  static absl::StatusOr<Transaction> Begin(Database& db);
  Transaction(Transaction&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  ~Transaction();
  absl::Status Commit();

 private:
  explicit Transaction(Database* db) : db_(db) {}
  Database* db_;
};

}  // namespace llive::memory
