// Tests of schema versioning: fresh databases, reopening, refusing newer schemas.
#include "memory/schema.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "memory/fts_tokenizer.h"
#include "memory/statement.h"
#include "tests/memory/store_test_util.h"

namespace llive::memory {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(SchemaTest, FreshStoreIsAtTheCurrentVersionWithWalAndForeignKeys) {
  testing::TempDir dir;
  {
    std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
    ASSERT_NE(store, nullptr);
    absl::StatusOr<StoreStats> stats = store->Stats();
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->schema_version, kSchemaVersion);
  }
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("memory.db"));
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*(*db)->UserVersion(), kSchemaVersion);
  absl::StatusOr<Statement> mode = Statement::Prepare(**db, "PRAGMA journal_mode");
  ASSERT_TRUE(mode.ok());
  ASSERT_TRUE(*mode->Step());
  EXPECT_EQ(mode->ColumnText(0), "wal");
  absl::StatusOr<Statement> page_size = Statement::Prepare(**db, "PRAGMA page_size");
  ASSERT_TRUE(page_size.ok());
  ASSERT_TRUE(*page_size->Step());
  EXPECT_EQ(page_size->ColumnInt(0), 16384);
  // Reopening migrates nothing and keeps the data.
  ASSERT_TRUE(MigrateSchema(**db).ok());
  EXPECT_EQ(*(*db)->UserVersion(), kSchemaVersion);
}

TEST(SchemaTest, NewerSchemaIsRefusedAndLeftUntouched) {
  testing::TempDir dir;
  {
    std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
    ASSERT_TRUE(store->AppendEvent("a", Message("kept safe")).ok());
  }
  {
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("memory.db"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("PRAGMA user_version = 99").ok());
  }
  absl::StatusOr<std::unique_ptr<MemoryStore>> store = MemoryStore::Open(TestOptions(dir));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("version 99"));
  EXPECT_THAT(store.status().message(), HasSubstr("newer llive"));
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("memory.db"));
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*(*db)->UserVersion(), 99);
  ASSERT_TRUE(RegisterFtsTokenizer(**db).ok());
  absl::StatusOr<Statement> count = Statement::Prepare(**db, "SELECT count(*) FROM events");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE(*count->Step());
  EXPECT_EQ(count->ColumnInt(0), 1);
}

// The tables' SQL and what `sql` compiles to, read on a fresh connection.
std::string TableSql(Database& db, const std::string& table) {
  absl::StatusOr<Statement> select =
      Statement::Prepare(db, "SELECT sql FROM sqlite_schema WHERE type = 'table' AND name = ?1");
  EXPECT_TRUE(select.ok()) << select.status();
  select->Bind(1, table);
  absl::StatusOr<bool> row = select->Step();
  EXPECT_TRUE(row.ok() && *row) << table;
  return row.ok() && *row ? select->ColumnText(0) : "";
}

std::vector<std::string> Opcodes(Database& db, const std::string& sql) {
  absl::StatusOr<Statement> explain = Statement::Prepare(db, "EXPLAIN " + sql);
  EXPECT_TRUE(explain.ok()) << explain.status();
  std::vector<std::string> opcodes;
  while (explain.ok() && *explain->Step()) opcodes.push_back(explain->ColumnText(1));
  return opcodes;
}

// Version 3: the CHECK constraints of more than two values are OR chains, so that writing a row
// builds no temporary b-tree for them, and they still refuse what they refused.
void ExpectVersion3Checks(Database& db) {
  for (const char* table : {"events", "entries", "pages", "edges", "artifacts"}) {
    const std::string sql = TableSql(db, table);
    EXPECT_THAT(sql, Not(HasSubstr(" IN ("))) << sql;
    EXPECT_THAT(sql, HasSubstr("CHECK (")) << sql;
  }
  EXPECT_THAT(Opcodes(db,
                      "INSERT INTO events(uid, agent_id, ts_ms, kind, content, metadata, privacy, "
                      "provenance, surprise, importance, last_access_ms, embedder_id, embedding) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
              Not(Contains("OpenEphemeral")));
  EXPECT_THAT(Opcodes(db,
                      "INSERT INTO entries(uid, agent_id, kind, content, metadata, privacy, "
                      "provenance, importance, surprise, created_ms, updated_ms, last_access_ms, "
                      "embedder_id, embedding) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                      "?11, ?12, ?13, ?14)"),
              Not(Contains("OpenEphemeral")));
  absl::Status wrong_privacy =
      db.Exec("UPDATE events SET privacy = 'secret' WHERE id = (SELECT min(id) FROM events)");
  EXPECT_THAT(wrong_privacy.message(), HasSubstr("CHECK constraint failed"));
  absl::Status wrong_phase =
      db.Exec("UPDATE entries SET phase = 'lukewarm' WHERE id = (SELECT min(id) FROM entries)");
  EXPECT_THAT(wrong_phase.message(), HasSubstr("CHECK constraint failed"));
  EXPECT_TRUE(db.Exec("UPDATE events SET phase = 'warm', privacy = 'public' WHERE id = (SELECT "
                      "min(id) FROM events)")
                  .ok());
  absl::StatusOr<Statement> check = Statement::Prepare(db, "PRAGMA integrity_check");
  ASSERT_TRUE(check.ok()) << check.status();
  ASSERT_TRUE(*check->Step());
  EXPECT_EQ(check->ColumnText(0), "ok");
}

// Copies the committed database of schema version `version` into dir as memory.db.
void CopyFixture(testing::TempDir& dir, int version) {
  std::filesystem::copy_file(std::string(LLIVE_SOURCE_DIR) + "/tests/fixtures/memory/schema_v" +
                                 std::to_string(version) + ".db",
                             dir.File("memory.db"));
}

// A migrated fixture store: at the current version, agent `fixture` has its two events (the
// first holding `first`), and text search finds one for each of `words`.
void ExpectFixtureReadable(MemoryStore& store, const std::string& first,
                           const std::vector<std::string>& words) {
  EXPECT_EQ(store.Stats()->schema_version, kSchemaVersion);
  absl::StatusOr<std::vector<Event>> events = store.EventsByIdRange("fixture", 0, 100, 10);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].content, first);
  for (const std::string& word : words) {
    RecallQuery query = Query("fixture", word);
    query.mode = RecallQuery::Mode::kText;
    EXPECT_EQ(RecallOrFail(store, query).size(), 1u) << word;
  }
}

// Every released schema version has a committed database written by that version's llive;
// opening it must migrate it and keep every record readable and searchable.
TEST(SchemaTest, CommittedVersion1DatabaseOpensAndIsSearchable) {
  testing::TempDir dir;
  CopyFixture(dir, 1);
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  ASSERT_NE(store, nullptr);
  ExpectFixtureReadable(*store, "Schema v1 fixture: Hana moved to Osaka", {"Osaka", "日本語"});
  RecallQuery query = Query("fixture", "Osaka");
  query.mode = RecallQuery::Mode::kText;
  // Version 2 re-indexed the text with agent-scoped terms: another agent's search with the same
  // words finds only its own record, and the fixture agent's still finds only its own.
  ASSERT_TRUE(store->AppendEvent("other", Message("Other agent also went to Osaka")).ok());
  RecallQuery other = Query("other", "Osaka");
  other.mode = RecallQuery::Mode::kText;
  ASSERT_EQ(RecallOrFail(*store, other).size(), 1u);
  EXPECT_EQ(RecallOrFail(*store, other)[0].content, "Other agent also went to Osaka");
  query.text = "Osaka";
  ASSERT_EQ(RecallOrFail(*store, query).size(), 1u);
  EXPECT_EQ(RecallOrFail(*store, query)[0].content, "Schema v1 fixture: Hana moved to Osaka");
  // The fixture's vectors come from hashing@1; this build's embedder re-tags new ones.
  EXPECT_TRUE(store->AppendEvent("fixture", Message("written after the upgrade")).ok());
  // Its 4 KiB pages (new stores have 16 KiB) go into a backup unchanged.
  ASSERT_TRUE(store->Backup(dir.File("backup.db")).ok());
  absl::StatusOr<std::unique_ptr<Database>> backup = Database::Open(dir.File("backup.db"));
  ASSERT_TRUE(backup.ok()) << backup.status();
  absl::StatusOr<Statement> count = Statement::Prepare(**backup, "SELECT count(*) FROM events");
  ASSERT_TRUE(count.ok());
  ASSERT_TRUE(*count->Step());
  EXPECT_EQ(count->ColumnInt(0), 4);
  ExpectVersion3Checks(**backup);
}

TEST(SchemaTest, FreshStoreHasNoInListChecks) {
  testing::TempDir dir;
  {
    std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
    ASSERT_TRUE(store->AppendEvent("a", Message("a surprising first event")).ok());
  }
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("memory.db"));
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(RegisterFtsTokenizer(**db).ok());
  ExpectVersion3Checks(**db);
}

// The committed version 2 database (written by llive at 91f2519 with `llive memory add`: two
// events of agent `fixture`, one of `other`, each promoted to an entry by surprise).
TEST(SchemaTest, CommittedVersion2DatabaseOpensAndIsSearchable) {
  testing::TempDir dir;
  CopyFixture(dir, 2);
  {
    absl::StatusOr<std::unique_ptr<Database>> before = Database::Open(dir.File("memory.db"));
    ASSERT_TRUE(before.ok());
    ASSERT_EQ(*(*before)->UserVersion(), 2);
    EXPECT_THAT(TableSql(**before, "events"), HasSubstr("privacy IN ("));
  }
  {
    std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
    ASSERT_NE(store, nullptr);
    ExpectFixtureReadable(*store, "Schema v2 fixture: Ren adopted a cat named Miso",
                          {"cat", "茶道"});
    RecallQuery query = Query("fixture", "cat");
    query.mode = RecallQuery::Mode::kText;
    // The store's own connection writes with the new schema right after migrating it.
    absl::StatusOr<std::vector<int64_t>> ids = store->AppendEvents(
        "fixture", {Message("written after the upgrade: the cat likes tea"), Message("more")});
    ASSERT_TRUE(ids.ok()) << ids.status();
    query.text = "cat";
    EXPECT_EQ(RecallOrFail(*store, query).size(), 2u);
    RecallQuery other = Query("other", "cat");
    other.mode = RecallQuery::Mode::kText;
    EXPECT_EQ(RecallOrFail(*store, other).size(), 1u);
  }
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("memory.db"));
  ASSERT_TRUE(db.ok()) << db.status();
  EXPECT_EQ(*(*db)->UserVersion(), kSchemaVersion);
  ASSERT_TRUE(RegisterFtsTokenizer(**db).ok());
  ExpectVersion3Checks(**db);
}

TEST(SchemaTest, NotADatabaseIsDataLoss) {
  testing::TempDir dir;
  std::ofstream(dir.File("memory.db")) << std::string(8192, 'x');
  absl::StatusOr<std::unique_ptr<MemoryStore>> store = MemoryStore::Open(TestOptions(dir));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace llive::memory
