// Tests of llive_bm25: the same scores as FTS5's bm25() with the agent column weighted 0.
#include "memory/fts_rank.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

#include "memory/fts_tokenizer.h"
#include "memory/statement.h"
#include "tests/testing/temp_dir.h"

namespace llive::memory {
namespace {

TEST(FtsRankTest, MatchesFts5Bm25WithoutTheAgentPhrase) {
  testing::TempDir dir;
  absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("m.db"));
  ASSERT_TRUE(db.ok()) << db.status();
  ASSERT_TRUE(RegisterFtsTokenizer(**db).ok());
  ASSERT_TRUE(RegisterFtsRank(**db).ok());
  ASSERT_TRUE((*db)
                  ->Exec("CREATE VIRTUAL TABLE t USING fts5(agent, content, tokenize='llive');"
                         "INSERT INTO t(rowid, agent, content) VALUES"
                         " (1, 'aga', 'violin lesson today with the new teacher'),"
                         " (2, 'aga', 'violin violin practice'),"
                         " (3, 'aga', 'lesson'),"
                         " (4, 'agb', 'violin'),"
                         " (5, 'aga', 'nothing of the kind'),"
                         " (6, 'aga', 'バイオリンのレッスン lesson'),"
                         " (7, 'aga', 'rain all day'), (8, 'agb', 'rain again'),"
                         " (9, 'aga', 'a long walk'), (10, 'agb', 'tea and cake'),"
                         " (11, 'aga', 'the car is red'), (12, 'aga', 'emails');")
                  .ok());
  // Document frequencies over the whole table (violin 3, lesson 3 of 12), as the store passes
  // them; few enough that the IDF is not floored.
  absl::StatusOr<Statement> ours = Statement::Prepare(
      **db, "SELECT rowid, llive_bm25(t, ?2, ?3) FROM t WHERE t MATCH ?1 ORDER BY 2 DESC, rowid");
  ASSERT_TRUE(ours.ok()) << ours.status();
  const std::string match = "agent : \"aga\" AND (\"violin\" OR \"lesson\")";
  ours->Bind(1, match).Bind(2, int64_t{3}).Bind(3, int64_t{3});
  std::map<int64_t, double> scores;
  std::vector<int64_t> order;
  while (*ours->Step()) {
    order.push_back(ours->ColumnInt(0));
    scores[ours->ColumnInt(0)] = ours->ColumnDouble(1);
  }
  absl::StatusOr<Statement> theirs = Statement::Prepare(
      **db, "SELECT rowid, -bm25(t, 0.0, 1.0) FROM t WHERE t MATCH ?1 ORDER BY 2 DESC, rowid");
  ASSERT_TRUE(theirs.ok()) << theirs.status();
  theirs->Bind(1, match);
  std::vector<int64_t> expected_order;
  while (*theirs->Step()) {
    expected_order.push_back(theirs->ColumnInt(0));
    EXPECT_NEAR(scores[theirs->ColumnInt(0)], theirs->ColumnDouble(1), 1e-9)
        << "row " << theirs->ColumnInt(0);
  }
  EXPECT_EQ(order, expected_order);
  EXPECT_EQ(order.size(), 4u);  // rows 1, 2, 3 and 6: agent aga only
}

}  // namespace
}  // namespace llive::memory
