// Opening SQLite connections with llive's settings (WAL, foreign keys, busy timeout).
#include "memory/database.h"

#include "absl/strings/str_cat.h"

namespace llive::memory {

absl::Status Database::Error(int rc, const std::string& what) const {
  const char* detail = db_ != nullptr ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
  std::string message = absl::StrCat(what, " on ", path_, ": ", detail);
  switch (rc & 0xff) {
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return absl::DataLossError(message);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
      return absl::UnavailableError(message);
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_TOOBIG:
    case SQLITE_RANGE:
      return absl::InvalidArgumentError(message);
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
      return absl::PermissionDeniedError(message);
    default:
      return absl::InternalError(message);
  }
}

absl::StatusOr<std::unique_ptr<Database>> Database::Open(const std::string& path,
                                                         const DatabaseOptions& options) {
  // SQLite counts every allocation under a global mutex unless told not to, before its first
  // use in the process (later, sqlite3_config refuses harmlessly); llive reads no such
  // statistics, and the lock and unlock were 9% of a text query's time.
  static const int memstatus_off = sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  (void)memstatus_off;
  int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    flags |= SQLITE_OPEN_READWRITE;
    if (options.create_if_missing) flags |= SQLITE_OPEN_CREATE;
  }
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  std::unique_ptr<Database> db(new Database(raw, path));
  if (rc != SQLITE_OK) {
    return db->Error(rc, "cannot open database");
  }
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  // The first read of the schema is what tells a non-database file apart.
  if (absl::Status s = db->Exec("PRAGMA foreign_keys = ON;"); !s.ok()) return s;
  // A page cache of 64 MiB keeps the inner pages of the b-trees and FTS5 segments that every
  // batch touches (the default 2 MiB re-read them from the file on each batch), and reads
  // through a memory map skip a copy per page. Both are reads only: writes still go
  // through the WAL, so crash safety is unchanged.
  if (absl::Status s = db->Exec("PRAGMA cache_size = -65536; PRAGMA mmap_size = 1073741824;");
      !s.ok()) {
    return s;
  }
  if (!options.read_only) {
    // Only takes effect while the file is still empty (before WAL mode writes its header).
    if (absl::Status s = db->Exec(absl::StrCat("PRAGMA page_size = ", options.new_page_size));
        !s.ok()) {
      return s;
    }
    // Checkpoints every 8,192 pages of WAL (32 MiB at 4 KiB pages, 128 MiB at 16 KiB) rather
    // than 1,000: a batch of 1,000 events wrote about 1,000 4 KiB pages, so the default
    // checkpointed, and synced, after nearly every batch.
    if (absl::Status s = db->Exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                                  "PRAGMA wal_autocheckpoint = 8192;");
        !s.ok()) {
      return s;
    }
  }
  if (absl::StatusOr<int> version = db->UserVersion(); !version.ok()) return version.status();
  return db;
}

Database::~Database() { sqlite3_close_v2(db_); }

absl::Status Database::Exec(const std::string& sql) {
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "SQL failed");
  return absl::OkStatus();
}

absl::StatusOr<int> Database::UserVersion() {
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v2(db_, "PRAGMA user_version", -1, &stmt, nullptr);
  if (rc != SQLITE_OK) return Error(rc, "cannot read the schema version");
  rc = sqlite3_step(stmt);
  int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW) return Error(rc, "cannot read the schema version");
  return version;
}

}  // namespace llive::memory
