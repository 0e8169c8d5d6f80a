// Bad input gets a clear error and changes nothing already stored.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "memory/hashing_embedder.h"
#include "tests/memory/store_test_util.h"

namespace llive::memory {
namespace {

using ::testing::HasSubstr;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StoreOptions options = TestOptions(dir_);
    options.max_content_bytes = 1000;
    store_ = OpenOrDie(options);
    ASSERT_TRUE(store_->AppendEvent("a", Message("already stored")).ok());
  }
  void ExpectNothingChanged() {
    EXPECT_EQ(store_->RecentEvents("a", 10)->size(), 1u);
    EXPECT_EQ(store_->Stats()->agents.size(), 1u);
  }
  testing::TempDir dir_;
  std::unique_ptr<MemoryStore> store_;
};

TEST_F(BadInputTest, InvalidUtf8) {
  absl::Status status = store_->AppendEvent("a", Message("bad \xc3\x28 bytes")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("UTF-8"));
  SemanticEntryInput entry;
  entry.content = "\xff";
  EXPECT_EQ(store_->AddEntry("a", entry).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->Recall(Query("a", "\xfe")).status().code(), absl::StatusCode::kInvalidArgument);
  ExpectNothingChanged();
}

TEST_F(BadInputTest, EmptyAndOversizedContent) {
  EXPECT_THAT(store_->AppendEvent("a", Message("")).status().message(), HasSubstr("empty"));
  absl::Status big = store_->AppendEvent("a", Message(std::string(1001, 'x'))).status();
  EXPECT_EQ(big.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(big.message(), HasSubstr("1001 bytes, over the limit of 1000"));
  EXPECT_TRUE(store_->AppendEvent("a", Message(std::string(1000, 'x'))).ok());
  EXPECT_EQ(store_->RecentEvents("a", 10)->size(), 2u);
}

TEST_F(BadInputTest, ABatchWithOneBadEventStoresNothing) {
  absl::Status status =
      store_->AppendEvents("a", {Message("fine"), Message("also fine"), Message("")}).status();
  EXPECT_THAT(status.message(), HasSubstr("event 2"));
  EventInput bad_metadata = Message("fine");
  bad_metadata.metadata = "[1, 2]";
  EXPECT_EQ(store_->AppendEvents("a", {Message("ok"), bad_metadata}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EventInput bad_importance = Message("fine");
  bad_importance.importance = 1.5;
  EXPECT_EQ(store_->AppendEvent("a", bad_importance).status().code(),
            absl::StatusCode::kInvalidArgument);
  ExpectNothingChanged();
}

TEST_F(BadInputTest, MalformedAndForeignAgentIds) {
  for (std::string agent : {std::string(""), std::string("has space"), std::string("../etc"),
                            std::string(129, 'a'), std::string("a\0b", 3)}) {
    EXPECT_EQ(store_->AppendEvent(agent, Message("x")).status().code(),
              absl::StatusCode::kInvalidArgument)
        << agent;
    EXPECT_EQ(store_->Recall(Query(agent, "x")).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  // A well-formed id of another agent sees nothing of "a" and cannot touch it.
  const int64_t id = store_->RecentEvents("a", 1)->front().id;
  EXPECT_EQ(store_->GetEvent("intruder", id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Forget("intruder", Layer::kEpisodic, id).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->SetEventFactors("intruder", id, {}).code(), absl::StatusCode::kNotFound);
  ExpectNothingChanged();
}

// A hashing embedder whose remote model "goes away" for texts that contain FAIL.
class FailingEmbedder : public Embedder {
 public:
  std::string id() const override { return inner_.id(); }
  std::string version() const override { return inner_.version(); }
  int dim() const override { return inner_.dim(); }
  absl::StatusOr<std::vector<float>> Embed(absl::string_view text) const override {
    ++calls_;
    if (absl::StrContains(text, "FAIL")) return absl::UnavailableError("embedding model gone");
    return inner_.Embed(text);
  }
  mutable std::atomic<int> calls_{0};

 private:
  HashingEmbedder inner_;
};

// The embedding of a batch is prepared on a helper thread while earlier events are written: an
// embedder failing deep inside a large batch must roll the whole batch back, return its error,
// and leave the store usable (no thread left waiting, earlier batches intact).
TEST(BatchEmbeddingFailureTest, AFailureDeepInABatchStoresNothingOfIt) {
  testing::TempDir dir;
  StoreOptions options = TestOptions(dir);
  auto embedder = std::make_shared<FailingEmbedder>();
  options.embedder = embedder;
  std::unique_ptr<MemoryStore> store = OpenOrDie(options);
  ASSERT_NE(store, nullptr);
  std::vector<EventInput> first, second;
  for (int i = 0; i < 1500; ++i) first.push_back(Message("first batch event " + std::to_string(i)));
  for (int i = 0; i < 3000; ++i) {
    second.push_back(Message((i == 2600 ? "FAIL " : "second batch event ") + std::to_string(i)));
  }
  ASSERT_TRUE(store->AppendEvents("a", first).ok());
  absl::StatusOr<std::vector<int64_t>> failed = store->AppendEvents("a", second);
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable) << failed.status();
  EXPECT_THAT(failed.status().message(), HasSubstr("embedding model gone"));
  absl::StatusOr<std::vector<Event>> recent = store->RecentEvents("a", 5000);
  ASSERT_TRUE(recent.ok()) << recent.status();
  EXPECT_EQ(recent->size(), 1500u);
  for (const Event& event : *recent) EXPECT_THAT(event.content, HasSubstr("first batch"));
  // Still usable: the next batch goes in, and text search sees the first batch only.
  ASSERT_TRUE(store->AppendEvents("a", {Message("after the failure")}).ok());
  EXPECT_EQ(store->RecentEvents("a", 5000)->size(), 1501u);
  std::vector<RecallHit> hits = RecallOrFail(*store, Query("a", "second batch event"));
  for (const RecallHit& hit : hits) EXPECT_THAT(hit.content, ::testing::Not(HasSubstr("second")));
}

}  // namespace
}  // namespace llive::memory
