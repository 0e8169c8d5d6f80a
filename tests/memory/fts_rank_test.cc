// Tests of llive_bm25: the same scores as FTS5's bm25() over agent-scoped terms.
#include "memory/fts_rank.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "memory/fts_tokenizer.h"
#include "memory/statement.h"
#include "tests/testing/temp_dir.h"

namespace llive::memory {
namespace {

TEST(FtsRankTest, MatchesFts5Bm25OverOneAgentsTerms) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("m.db"));
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(RegisterFtsTokenizer(**db).ok());
  ASSERT_TRUE(RegisterFtsRank(**db).ok());
  ASSERT_TRUE((*db)->Exec("CREATE VIRTUAL TABLE t USING fts5(content, tokenize='llive')").ok());
  const std::vector<std::pair<const char*, const char*>> rows = {
      {"a", "violin lesson today with the new teacher"},
      {"a", "violin violin practice"},
      {"a", "lesson"},
      {"b", "violin"},
      {"a", "nothing of the kind"},
      {"a", "バイオリンのレッスン lesson"},
      {"a", "rain all day"},
      {"b", "rain again"},
      {"a", "a long walk"},
      {"b", "tea and cake"},
      {"a", "the car is red"},
      {"a", "emails"}};
  for (size_t i = 0; i < rows.size(); ++i) {
    absl::StatusOr<Statement> insert =
        Statement::Prepare(**db, "INSERT INTO t(rowid, content) VALUES (?1, ?2)");
    ASSERT_TRUE(insert.ok());
    insert->Bind(1, static_cast<int64_t>(i + 1))
        .Bind(2, FtsDocument(rows[i].first, rows[i].second));
    ASSERT_TRUE(insert->Run().ok());
  }
  // Agent a's document frequencies (violin 2, lesson 3), as the store passes them.
  absl::StatusOr<Statement> ours = Statement::Prepare(
      **db,
      "SELECT rowid, llive_bm25(t, -1, ?2, ?3) FROM t WHERE t MATCH ?1 ORDER BY 2 DESC, rowid");
  ASSERT_TRUE(ours.ok()) << ours.status();
  const std::string match =
      absl::StrCat("\"", FtsDocument("a", "violin"), "\" OR \"", FtsDocument("a", "lesson"), "\"");
  ours->Bind(1, match).Bind(2, int64_t{2}).Bind(3, int64_t{3});
  std::map<int64_t, double> scores;
  std::vector<int64_t> order;
  while (*ours->Step()) {
    order.push_back(ours->ColumnInt(0));
    scores[ours->ColumnInt(0)] = ours->ColumnDouble(1);
  }
  absl::StatusOr<Statement> theirs = Statement::Prepare(
      **db, "SELECT rowid, -bm25(t) FROM t WHERE t MATCH ?1 ORDER BY 2 DESC, rowid");
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  theirs->Bind(1, match);
  std::vector<int64_t> expected_order;
  while (*theirs->Step()) {
    expected_order.push_back(theirs->ColumnInt(0));
    EXPECT_NEAR(scores[theirs->ColumnInt(0)], theirs->ColumnDouble(1), 1e-9)
        << "row " << theirs->ColumnInt(0);
  }
  EXPECT_EQ(order, expected_order);
  // With the rows' lengths memoised (loaded from FTS5, and for a row added later, memoised at
  // its first scoring) the scores stay the same.
  FtsLengths lengths;
  ASSERT_TRUE(RegisterFtsRank(**db, &lengths).ok());
  ASSERT_TRUE(LoadFtsLengths(**db, "t", 0, lengths).ok());
  EXPECT_EQ(lengths.Get(0, 1), 7);  // "violin lesson today with the new teacher"
  {
    absl::StatusOr<Statement> insert =
        Statement::Prepare(**db, "INSERT INTO t(rowid, content) VALUES (13, ?1)");
    ASSERT_TRUE(insert.ok());
    insert->Bind(1, FtsDocument("b", "a violin on the shelf"));
    ASSERT_TRUE(insert->Run().ok());
  }
  EXPECT_EQ(lengths.Get(0, 13), -1);
  absl::StatusOr<Statement> memoised = Statement::Prepare(
      **db,
      "SELECT rowid, llive_bm25(t, 0, ?2, ?3) FROM t WHERE t MATCH ?1 ORDER BY 2 DESC, rowid");
  ASSERT_TRUE(memoised.ok()) << memoised.status();
  memoised->Bind(1, match).Bind(2, int64_t{2}).Bind(3, int64_t{3});
  theirs->Reset();
  theirs->Bind(1, match);
  std::map<int64_t, double> expected;  // bm25() now that the table has a 13th row
  while (*theirs->Step()) expected[theirs->ColumnInt(0)] = theirs->ColumnDouble(1);
  std::vector<int64_t> memoised_order;
  while (*memoised->Step()) {
    memoised_order.push_back(memoised->ColumnInt(0));
    EXPECT_NEAR(memoised->ColumnDouble(1), expected[memoised->ColumnInt(0)], 1e-9)
        << "row " << memoised->ColumnInt(0);
  }
  EXPECT_EQ(memoised_order, expected_order);
  // Agent b's new row is scored from FTS5's docsize and memoised.
  const std::string b_match = absl::StrCat("\"", FtsDocument("b", "violin"), "\"");
  memoised->Reset();
  memoised->Bind(1, b_match).Bind(2, int64_t{2}).Bind(3, int64_t{0});
  while (*memoised->Step()) {
  }
  EXPECT_EQ(lengths.Get(0, 13), 5);
  // Rows 1, 2, 3 and 6: agent a's only, not b's row 4 with the same word.
  EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()), (std::set<int64_t>{1, 2, 3, 6}));
}

}  // namespace
}  // namespace llive::memory
