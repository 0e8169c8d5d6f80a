// Tests of opening SQLite databases with llive's settings.
#include "memory/database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "memory/statement.h"
#include "tests/testing/temp_dir.h"

namespace llive::memory {
namespace {

using ::testing::HasSubstr;

TEST(DatabaseTest, OpensInWalModeWithForeignKeys) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("m.db"));
  ASSERT_TRUE(db.ok()) << db.status();
  sqlite3_stmt* stmt = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2((*db)->handle(), "PRAGMA journal_mode", -1, &stmt, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(stmt), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)), "wal");
  sqlite3_finalize(stmt);
  ASSERT_TRUE((*db)
                  ->Exec("CREATE TABLE p(id INTEGER PRIMARY KEY);"
                         "CREATE TABLE c(p INTEGER REFERENCES p(id));")
                  .ok());
  absl::Status violation = (*db)->Exec("INSERT INTO c VALUES (42);");
  EXPECT_EQ(violation.code(), absl::StatusCode::kInvalidArgument) << violation;
  EXPECT_EQ(*(*db)->UserVersion(), 0);
}

// Values bound without a copy are stored as bound: empty text stays text, an empty blob a blob.
TEST(DatabaseTest, ValuesBoundInPlaceAreStoredAsBound) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("m.db"));
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE((*db)->Exec("CREATE TABLE t(a, b, c, d)").ok());
  absl::StatusOr<Statement> insert =
      Statement::Prepare(**db, "INSERT INTO t VALUES (?1, ?2, ?3, ?4)");
  ASSERT_TRUE(insert.ok()) << insert.status();
  const std::string text = "in place";
  const float floats[2] = {1.5f, -2.0f};
  insert->BindView(1, text)
      .BindView(2, absl::string_view())
      .BindBlobView(3, floats, sizeof(floats))
      .BindBlobView(4, nullptr, 0);
  ASSERT_TRUE(insert->Run().ok());
  absl::StatusOr<Statement> select =
      Statement::Prepare(**db, "SELECT a, typeof(b), length(b), c, typeof(d), length(d) FROM t");
  ASSERT_TRUE(select.ok()) << select.status();
  ASSERT_TRUE(*select->Step());
  EXPECT_EQ(select->ColumnText(0), "in place");
  EXPECT_EQ(select->ColumnText(1), "text");
  EXPECT_EQ(select->ColumnInt(2), 0);
  EXPECT_EQ(select->ColumnFloats(3), std::vector<float>({1.5f, -2.0f}));
  EXPECT_EQ(select->ColumnText(4), "blob");
  EXPECT_EQ(select->ColumnInt(5), 0);
}

TEST(DatabaseTest, NotADatabaseIsDataLoss) {
  testing::TempDir dir;
  std::ofstream(dir.File("bad.db")) << std::string(4096, 'z');
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("bad.db"));
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(db.status().message(), HasSubstr("bad.db"));
}

TEST(DatabaseTest, MissingFileWithoutCreateIsUnavailable) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<Database>> db =
      Database::Open(dir.File("none.db"), {.create_if_missing = false});
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), absl::StatusCode::kUnavailable);
}

TEST(DatabaseTest, SqlErrorsNameTheFile) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("m.db"));
  ASSERT_TRUE(db.ok());
  absl::Status status = (*db)->Exec("SELEC nonsense");
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("m.db"));
  EXPECT_THAT(status.message(), HasSubstr("syntax error"));
}

}  // namespace
}  // namespace llive::memory
