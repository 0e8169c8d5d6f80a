// Bad input gets a clear error and changes nothing already stored.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace llive::memory
