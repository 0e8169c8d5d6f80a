// Tests of opening SQLite databases with llive's settings.
#include "memory/database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

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
