// The memory schema, version by version. A released migration is never edited: a change is
// a new version appended to kMigrations, tested from a committed database of the old one.
#include "memory/schema.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "memory/statement.h"

namespace llive::memory {
namespace {

// Version 1: the four layers. Every record has agent_id, privacy and provenance (a JSON
// object, see provenance_json.h). Text search tables are contentless FTS5 tables using
// the `llive` tokenizer (fts_tokenizer.h); their first column holds the agent as one token
// so that the agent filter is part of the MATCH, not a filter after ranking.
constexpr char kVersion1[] = R"sql(
CREATE TABLE store_info(
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL);
-- Ties FAISS cache files to this database, so a cache of another file is never trusted.
INSERT INTO store_info VALUES ('database_uid', lower(hex(randomblob(16))));

CREATE TABLE embedders(
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  dim INTEGER NOT NULL CHECK (dim > 0));

-- AUTOINCREMENT: ids never come back after a deletion, which the FAISS watermarks rely on.
CREATE TABLE events(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uid TEXT NOT NULL UNIQUE,
  agent_id TEXT NOT NULL,
  ts_ms INTEGER NOT NULL,
  kind TEXT NOT NULL,
  content TEXT NOT NULL,
  metadata TEXT NOT NULL,
  privacy TEXT NOT NULL CHECK (privacy IN ('private', 'shared', 'public')),
  provenance TEXT NOT NULL,
  surprise REAL NOT NULL,
  importance REAL NOT NULL,
  factors BLOB,
  phase TEXT NOT NULL DEFAULT 'hot' CHECK (phase IN ('hot', 'warm', 'cold', 'archived')),
  last_access_ms INTEGER NOT NULL,
  access_count INTEGER NOT NULL DEFAULT 0,
  embedder_id INTEGER NOT NULL REFERENCES embedders(id),
  embedding BLOB NOT NULL);
CREATE INDEX events_by_agent ON events(agent_id, id);
CREATE INDEX events_by_agent_time ON events(agent_id, ts_ms);
CREATE VIRTUAL TABLE events_fts USING fts5(agent, content, content='', tokenize='llive');

CREATE TABLE consolidation_watermarks(
  agent_id TEXT PRIMARY KEY,
  event_id INTEGER NOT NULL);

CREATE TABLE entries(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  uid TEXT NOT NULL UNIQUE,
  agent_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  content TEXT NOT NULL,
  metadata TEXT NOT NULL,
  privacy TEXT NOT NULL CHECK (privacy IN ('private', 'shared', 'public')),
  provenance TEXT NOT NULL,
  importance REAL NOT NULL,
  surprise REAL NOT NULL,
  phase TEXT NOT NULL DEFAULT 'hot' CHECK (phase IN ('hot', 'warm', 'cold', 'archived')),
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  last_access_ms INTEGER NOT NULL,
  access_count INTEGER NOT NULL DEFAULT 0,
  embedder_id INTEGER NOT NULL REFERENCES embedders(id),
  embedding BLOB NOT NULL);
CREATE INDEX entries_by_agent ON entries(agent_id, id);
CREATE VIRTUAL TABLE entries_fts USING fts5(agent, content, content='', tokenize='llive');

CREATE TABLE pages(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  agent_id TEXT NOT NULL,
  title TEXT NOT NULL,
  summary TEXT NOT NULL,
  fields TEXT NOT NULL,
  privacy TEXT NOT NULL CHECK (privacy IN ('private', 'shared', 'public')),
  provenance TEXT NOT NULL,
  phase TEXT NOT NULL DEFAULT 'hot' CHECK (phase IN ('hot', 'warm', 'cold', 'archived')),
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  last_access_ms INTEGER NOT NULL,
  visits INTEGER NOT NULL DEFAULT 0,
  reward_sum REAL NOT NULL DEFAULT 0,
  UNIQUE (agent_id, title));

CREATE TABLE page_events(
  page_id INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
  event_id INTEGER NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  PRIMARY KEY (page_id, event_id)) WITHOUT ROWID;
CREATE INDEX page_events_by_event ON page_events(event_id);

CREATE TABLE edges(
  source INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
  target INTEGER NOT NULL REFERENCES pages(id) ON DELETE CASCADE,
  type TEXT NOT NULL CHECK (type IN ('derived_from', 'contradicts', 'generalizes',
                                     'temporal_after', 'co_occurs_with', 'linked_concept')),
  agent_id TEXT NOT NULL,
  weight REAL NOT NULL CHECK (weight >= 0 AND weight <= 1),
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (source, target, type)) WITHOUT ROWID;
CREATE INDEX edges_by_target ON edges(target);

CREATE TABLE artifacts(
  id INTEGER PRIMARY KEY,
  uid TEXT NOT NULL UNIQUE,
  agent_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  format_version INTEGER NOT NULL,
  bytes BLOB NOT NULL,
  sha256 TEXT NOT NULL,
  privacy TEXT NOT NULL CHECK (privacy IN ('private', 'shared', 'public')),
  provenance TEXT NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE INDEX artifacts_by_agent ON artifacts(agent_id, kind, name, id);

-- Updates and deletions of vectors, so that FAISS caches (which follow inserts by an
-- indexed-up-to id watermark) can also replay what changed below their watermark.
CREATE TABLE vector_changes(
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  layer TEXT NOT NULL CHECK (layer IN ('episodic', 'semantic')),
  agent_id TEXT NOT NULL,
  record_id INTEGER NOT NULL);
CREATE INDEX vector_changes_by_agent ON vector_changes(layer, agent_id, seq);
)sql";

// Version 2: the text search tables index each term with its agent as prefix (FtsDocument in
// fts_tokenizer.h) in one column, instead of an `agent` column ANDed into every query: a query
// walked the agent token's doclist (a quarter of a million rows per agent at a million events)
// and every other agent's postings of its terms. The stored rows are indexed again.
constexpr char kVersion2[] = R"sql(
DROP TABLE events_fts;
CREATE VIRTUAL TABLE events_fts USING fts5(content, content='', tokenize='llive');
INSERT INTO events_fts(rowid, content) SELECT id, llive_fts_text(agent_id, content) FROM events;
DROP TABLE entries_fts;
CREATE VIRTUAL TABLE entries_fts USING fts5(content, content='', tokenize='llive');
INSERT INTO entries_fts(rowid, content)
  SELECT id, llive_fts_text(agent_id, content) FROM entries;
)sql";

// Version 3: CHECK constraints that allowed three or more values with IN compare with OR
// instead. SQLite checks an IN list of more than two constants by building a temporary b-tree of
// the list (a pager, its page cache, a row per value) on every row written and dropping it: two
// per event and per entry (privacy and phase), about a tenth of an append's writing thread. The
// rule is the same, so every stored row still obeys it and nothing is copied: the tables' SQL is
// edited in place, SQLite's documented way to change a CHECK constraint (the schema version is
// bumped by MigrateSchema, kEditsSchemaText). A table whose SQL differs is left as it was.
constexpr char kVersion3[] = R"sql(
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(replace(replace(sql,
  'CHECK (privacy IN (''private'', ''shared'', ''public''))',
  'CHECK (privacy = ''private'' OR privacy = ''shared'' OR privacy = ''public'')'),
  'CHECK (phase IN (''hot'', ''warm'', ''cold'', ''archived''))',
  'CHECK (phase = ''hot'' OR phase = ''warm'' OR phase = ''cold'' OR phase = ''archived'')'),
  'CHECK (type IN (''derived_from'', ''contradicts'', ''generalizes'',
                                     ''temporal_after'', ''co_occurs_with'', ''linked_concept''))',
  'CHECK (type = ''derived_from'' OR type = ''contradicts'' OR type = ''generalizes'' OR
                  type = ''temporal_after'' OR type = ''co_occurs_with'' OR
                  type = ''linked_concept'')')
  WHERE type = 'table' AND name IN ('events', 'entries', 'pages', 'edges', 'artifacts');
PRAGMA writable_schema = OFF;
)sql";

struct Migration {
  const char* sql;
  // Writes sqlite_schema directly: the schema version (SQLite's schema cookie) must then be
  // bumped so that every connection, this one included, reads the schema again.
  bool edits_schema_text;
};

constexpr std::array<Migration, kSchemaVersion> kMigrations = {
    Migration{kVersion1, false}, Migration{kVersion2, false}, Migration{kVersion3, true}};

absl::Status BumpSchemaCookie(Database& db) {
  absl::StatusOr<Statement> read = Statement::Prepare(db, "PRAGMA schema_version");
  if (!read.ok()) return read.status();
  absl::StatusOr<bool> row = read->Step();
  if (!row.ok()) return row.status();
  if (!*row) return absl::InternalError("PRAGMA schema_version returned no row");
  const int64_t cookie = read->ColumnInt(0);
  read->Reset();
  return db.Exec(absl::StrCat("PRAGMA schema_version = ", cookie + 1));
}

}  // namespace

absl::Status MigrateSchema(Database& db) {
  absl::StatusOr<int> version = db.UserVersion();
  if (!version.ok()) return version.status();
  if (*version > kSchemaVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat(db.path(), " has memory schema version ", *version, " but this llive knows ",
                     "versions up to ", kSchemaVersion,
                     "; open it with a newer llive (the file was left untouched)"));
  }
  while (*version < kSchemaVersion) {
    absl::StatusOr<Transaction> transaction = Transaction::Begin(db);
    if (!transaction.ok()) return transaction.status();
    // Another process may have migrated while this one waited for the lock.
    absl::StatusOr<int> current = db.UserVersion();
    if (!current.ok()) return current.status();
    if (*current != *version) {
      version = current;
      continue;
    }
    const Migration& migration = kMigrations[*version];
    absl::Status s = db.Exec(migration.sql);
    if (s.ok() && migration.edits_schema_text) s = BumpSchemaCookie(db);
    if (migration.edits_schema_text) {
      // Off again even when the migration failed (the pragma is the connection's, not undone
      // by the rollback).
      if (absl::Status off = db.Exec("PRAGMA writable_schema = OFF"); s.ok()) s = off;
    }
    if (!s.ok()) {
      return absl::Status(s.code(), absl::StrCat("migration to schema version ", *version + 1,
                                                 " failed: ", s.message()));
    }
    if (absl::Status s = db.Exec(absl::StrCat("PRAGMA user_version = ", *version + 1)); !s.ok()) {
      return s;
    }
    if (absl::Status s = transaction->Commit(); !s.ok()) return s;
    *version += 1;
  }
  return absl::OkStatus();
}

}  // namespace llive::memory
