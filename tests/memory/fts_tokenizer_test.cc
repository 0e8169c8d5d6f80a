// Tests of the `llive` FTS5 tokenizer's terms tokenized ahead (FtsTerms, FtsTermsAhead): a
// document indexed from offered terms is indexed exactly as if tokenized on the spot.
#include "memory/fts_tokenizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "memory/statement.h"
#include "tests/testing/temp_dir.h"

namespace llive::memory {
namespace {

using Instance = std::tuple<std::string, int64_t, int64_t>;  // term, rowid, offset

class FtsTermsAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir_.File("t.db"));
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    ASSERT_TRUE(RegisterFtsTokenizer(*db_, &ahead_).ok());
    ASSERT_TRUE(db_->Exec("CREATE VIRTUAL TABLE spot USING fts5(content, content='', "
                          "tokenize='llive'); CREATE VIRTUAL TABLE early USING fts5(content, "
                          "content='', tokenize='llive'); CREATE VIRTUAL TABLE spot_v USING "
                          "fts5vocab(spot, 'instance'); CREATE VIRTUAL TABLE early_v USING "
                          "fts5vocab(early, 'instance');")
                    .ok());
  }

  void Insert(const char* table, int64_t rowid, const std::string& text) {
    absl::StatusOr<Statement> insert = Statement::Prepare(
        *db_, std::string("INSERT INTO ") + table + "(rowid, content) VALUES (?1, ?2)");
    ASSERT_TRUE(insert.ok()) << insert.status();
    insert->Bind(1, rowid).Bind(2, text);
    ASSERT_TRUE(insert->Run().ok());
  }

  std::vector<Instance> Instances(const char* vocab) {
    absl::StatusOr<Statement> select = Statement::Prepare(
        *db_, std::string("SELECT term, doc, offset FROM ") + vocab + " ORDER BY 1, 2, 3");
    EXPECT_TRUE(select.ok()) << select.status();
    std::vector<Instance> instances;
    while (*select->Step()) {
      instances.emplace_back(select->ColumnText(0), select->ColumnInt(1), select->ColumnInt(2));
    }
    return instances;
  }

  testing::TempDir dir_;
  std::unique_ptr<Database> db_;
  FtsTermsAhead ahead_;
};

TEST_F(FtsTermsAheadTest, OfferedTermsIndexAsTheTokenizerWould) {
  const std::vector<std::string> texts = {
      FtsDocument("agent-1", "Café NAÏVE, don't-stop 42x 🎉"),
      FtsDocument("agent-2", "東京都に行く llamaモデル2つ and the the the"),
      "no agent mark here: plain words",
      FtsDocument("a", ""),
  };
  for (size_t i = 0; i < texts.size(); ++i) {
    const int64_t rowid = static_cast<int64_t>(i + 1);
    Insert("spot", rowid, texts[i]);
    const FtsTerms terms(texts[i]);
    ahead_.Offer(&terms);
    Insert("early", rowid, texts[i]);
    ahead_.Offer(nullptr);
  }
  EXPECT_EQ(ahead_.used(), static_cast<int64_t>(texts.size()));
  const std::vector<Instance> spot = Instances("spot_v");
  EXPECT_GT(spot.size(), 20u);
  EXPECT_EQ(Instances("early_v"), spot);
}

TEST_F(FtsTermsAheadTest, TermsOfAnotherTextAreNotUsed) {
  const FtsTerms stale(FtsDocument("a", "violin lesson"));
  ahead_.Offer(&stale);
  Insert("early", 1, FtsDocument("a", "rain all day"));
  Insert("spot", 1, FtsDocument("a", "rain all day"));
  ahead_.Offer(nullptr);
  EXPECT_EQ(ahead_.used(), 0);
  EXPECT_EQ(Instances("early_v"), Instances("spot_v"));
}

TEST_F(FtsTermsAheadTest, QueriesAreTokenizedOnTheSpot) {
  Insert("early", 1, FtsDocument("a", "violin lesson"));
  // Offered terms of the query text itself: a query is never a document being indexed.
  const std::string query = FtsDocument("a", "violin");
  const FtsTerms terms(query);
  ahead_.Offer(&terms);
  absl::StatusOr<Statement> select =
      Statement::Prepare(*db_, "SELECT count(*) FROM early WHERE early MATCH ?1");
  ASSERT_TRUE(select.ok()) << select.status();
  select->Bind(1, absl::StrCat("\"", FtsDocument("a", "violin"), "\""));
  ASSERT_TRUE(*select->Step());
  EXPECT_EQ(select->ColumnInt(0), 1);
  ahead_.Offer(nullptr);
  EXPECT_EQ(ahead_.used(), 0);
}

}  // namespace
}  // namespace llive::memory
