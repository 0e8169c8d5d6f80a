// A SQLite connection opened the way every llive database is opened.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace llive::memory {

struct DatabaseOptions {
  // Create the file when it does not exist. Default: true.
  bool create_if_missing = true;
  // Open read-only (no schema changes, no writes). Default: false.
  bool read_only = false;
  // How long a statement waits for another connection's lock before SQLITE_BUSY.
  // Default: 5000 ms, so a CLI beside a server waits rather than fails.
  int busy_timeout_ms = 5000;
  // Page size of a file this opening creates (an existing file keeps its own). Default: 16 KiB:
  // an event row with its 2 KiB vector filled a 4 KiB page alone, so appends wrote (and synced)
  // nearly twice the bytes they stored; at 16 KiB appends run about a quarter faster per
  // CPU-second and the file is a third smaller (docs/benchmarks.md).
  int new_page_size = 16384;
};

// One SQLite connection in WAL mode with foreign keys on. Not thread-safe: use one
// Database per thread, or guard it. Closing happens in the destructor.
class Database {
 public:
  // Opens (and, where allowed, creates) `path`. Returns Unavailable when the file
  // cannot be opened, DataLoss when it is not a SQLite database.
  static absl::StatusOr<std::unique_ptr<Database>> Open(const std::string& path,
                                                        const DatabaseOptions& options = {});
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  // Runs one or more SQL statements that take no parameters and return no rows.
  absl::Status Exec(const std::string& sql);
  // Returns the value of `PRAGMA user_version`, the schema version.
  absl::StatusOr<int> UserVersion();

  sqlite3* handle() const { return db_; }
  const std::string& path() const { return path_; }

  // The status for SQLite result `rc` on this connection, naming `what` was attempted.
  absl::Status Error(int rc, const std::string& what) const;

 private:
  Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  sqlite3* db_;
  std::string path_;
};

}  // namespace llive::memory
