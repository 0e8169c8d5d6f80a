// Tests of hybrid recall: BM25 and vectors fused, filters, scripts without spaces, isolation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/memory/store_test_util.h"

namespace llive::memory {
namespace {

class RecallTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(TestOptions(dir_));
    ASSERT_NE(store_, nullptr);
    std::vector<EventInput> events = {
        Message("My sister Hana moved to Osaka last spring", 1000),
        Message("The invoice for the printer came to 300 dollars", 2000),
        Message("We booked the dentist for Tuesday at 9", 3000),
        Message("来週の金曜日に京都で友達と会う予定です", 4000),
        Message("Hana said the weather in Osaka is humid", 5000),
        Message("The garden needs watering twice a week in summer", 6000),
    };
    events[1].importance = 0.9;
    absl::StatusOr<std::vector<int64_t>> ids = store_->AppendEvents("alice", events);
    ASSERT_TRUE(ids.ok()) << ids.status();
    ids_ = *ids;
    ASSERT_TRUE(
        store_->AppendEvent("bob", Message("Bob's secret: Osaka sister Hana code 1234")).ok());
  }
  testing::TempDir dir_;
  std::unique_ptr<MemoryStore> store_;
  std::vector<int64_t> ids_;
};

TEST_F(RecallTest, HybridFindsTheAnsweringEventsWithScoresAndProvenance) {
  RecallQuery query = Query("alice", "Where does my sister Hana live now?");
  query.layers = {Layer::kEpisodic};
  query.k = 3;
  absl::StatusOr<std::vector<RecallHit>> hits = store_->Recall(query);
  ASSERT_TRUE(hits.ok()) << hits.status();
  ASSERT_GE(hits->size(), 2u);
  EXPECT_EQ((*hits)[0].content, "My sister Hana moved to Osaka last spring");
  EXPECT_GT((*hits)[0].text_rank, 0);
  EXPECT_GT((*hits)[0].vector_rank, 0);
  EXPECT_GT((*hits)[0].bm25, 0);
  EXPECT_GT((*hits)[0].cosine, 0);
  EXPECT_GT((*hits)[0].score, (*hits)[1].score);
  EXPECT_EQ((*hits)[0].layer, Layer::kEpisodic);
  EXPECT_GT((*hits)[0].provenance.created_at_ms, 0);
  // Recall is an access: it keeps the record hot.
  EXPECT_EQ(store_->GetEvent("alice", (*hits)[0].id)->access_count, 1);
}

TEST_F(RecallTest, JapaneseQueriesMatchThroughBigrams) {
  for (auto mode : {RecallQuery::Mode::kText, RecallQuery::Mode::kVector}) {
    RecallQuery query = Query("alice", "京都で誰と会いますか");
    query.mode = mode;
    query.layers = {Layer::kEpisodic};
    absl::StatusOr<std::vector<RecallHit>> hits = store_->Recall(query);
    ASSERT_TRUE(hits.ok());
    ASSERT_FALSE(hits->empty());
    EXPECT_EQ((*hits)[0].content, "来週の金曜日に京都で友達と会う予定です");
  }
}

TEST_F(RecallTest, TimeWindowAndPhaseFiltersApplyToBothLists) {
  RecallQuery query = Query("alice", "Hana Osaka");
  query.layers = {Layer::kEpisodic};
  query.from_ms = 4000;
  absl::StatusOr<std::vector<RecallHit>> hits = store_->Recall(query);
  ASSERT_TRUE(hits.ok());
  ASSERT_FALSE(hits->empty());
  for (const RecallHit& hit : *hits) EXPECT_GE(hit.ts_ms, 4000) << hit.content;
  EXPECT_EQ((*hits)[0].content, "Hana said the weather in Osaka is humid");
  query.from_ms = std::numeric_limits<int64_t>::min();
  query.phases = {Phase::kArchived};
  EXPECT_TRUE(store_->Recall(query)->empty());
}

TEST_F(RecallTest, AgentsNeverSeeEachOthersRecords) {
  for (auto mode :
       {RecallQuery::Mode::kHybrid, RecallQuery::Mode::kText, RecallQuery::Mode::kVector}) {
    RecallQuery query = Query("alice", "Bob's secret code 1234");
    query.mode = mode;
    absl::StatusOr<std::vector<RecallHit>> hits = store_->Recall(query);
    ASSERT_TRUE(hits.ok());
    for (const RecallHit& hit : *hits)
      EXPECT_THAT(hit.content, ::testing::Not(::testing::HasSubstr("1234")));
    query.agent_id = "carol";
    EXPECT_TRUE(store_->Recall(query)->empty());
  }
  EXPECT_EQ(store_->GetEvent("bob", ids_[0]).status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->RecentEvents("carol", 10)->empty());
  EXPECT_TRUE(store_->EventsByIdRange("bob", 0, 1 << 30, 100)->size() == 1);
}

TEST_F(RecallTest, StopWordOnlyQuestionsStillWork) {
  RecallQuery query = Query("alice", "what is the");
  query.mode = RecallQuery::Mode::kText;
  EXPECT_TRUE(store_->Recall(query).ok());
}

TEST_F(RecallTest, WeightedFusionAlsoRanksTheAnswerFirst) {
  store_.reset();
  StoreOptions options = TestOptions(dir_);
  options.fusion = Fusion::kWeighted;
  store_ = OpenOrDie(options);
  RecallQuery query = Query("alice", "How much was the printer invoice?");
  query.layers = {Layer::kEpisodic};
  absl::StatusOr<std::vector<RecallHit>> hits = store_->Recall(query);
  ASSERT_TRUE(hits.ok());
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ((*hits)[0].content, "The invoice for the printer came to 300 dollars");
}

// BM25 uses memoised row lengths (fts_rank.h): an entry rewritten, here or by another
// connection, is scored with its new length, as a store that opened afterwards scores it.
TEST_F(RecallTest, RewrittenEntriesAreScoredWithTheirNewLength) {
  SemanticEntryInput entry;
  entry.content = "tea";
  absl::StatusOr<int64_t> id = store_->AddEntry("alice", entry);
  ASSERT_TRUE(id.ok()) << id.status();
  entry.content = "earl grey";
  ASSERT_TRUE(store_->AddEntry("alice", entry).ok());
  RecallQuery query = Query("alice", "tea");
  query.mode = RecallQuery::Mode::kText;
  query.layers = {Layer::kSemantic};
  query.touch = false;
  // The first query memoises the lengths it reads, the second loads them all.
  ASSERT_EQ(RecallOrFail(*store_, query).size(), 1u);
  ASSERT_EQ(RecallOrFail(*store_, query).size(), 1u);
  auto expect_fresh_scores = [&](MemoryStore& store) {
    std::unique_ptr<MemoryStore> fresh = OpenOrDie(TestOptions(dir_));
    const std::vector<RecallHit> expected = RecallOrFail(*fresh, query);
    const std::vector<RecallHit> got = RecallOrFail(store, query);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) EXPECT_DOUBLE_EQ(got[i].bm25, expected[i].bm25);
  };
  entry.content = "a long text about green tea from a small farm in the hills near Shizuoka";
  ASSERT_TRUE(store_->UpdateEntry("alice", *id, entry).ok());
  expect_fresh_scores(*store_);
  {
    std::unique_ptr<MemoryStore> other = OpenOrDie(TestOptions(dir_));
    entry.content = "tea";
    ASSERT_TRUE(other->UpdateEntry("alice", *id, entry).ok());
  }
  expect_fresh_scores(*store_);
}

}  // namespace
}  // namespace llive::memory
