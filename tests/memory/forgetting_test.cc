// Tests that forgetting removes text from every file, and that ageing moves records through
// their phases with the guards.
#include <gtest/gtest.h>

#include <filesystem>

#include "memory/statement.h"
#include "tests/memory/store_test_util.h"

namespace llive::memory {
namespace {

constexpr char kSecret[] = "zqxjvkwpmsecretword";
constexpr int64_t kDay = 86400000;

// Every file of the store: database, WAL, shared memory, index caches.
bool AnyFileContains(const testing::TempDir& dir, const std::string& needle) {
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (!entry.is_regular_file()) continue;
    if (ReadBytes(entry.path().string()).find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(ForgettingTest, ForgottenTextIsGoneFromEveryFile) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  std::vector<EventInput> filler;
  for (int i = 0; i < 50; ++i) filler.push_back(Message("ordinary note " + std::to_string(i)));
  ASSERT_TRUE(store->AppendEvents("a", filler).ok());
  absl::StatusOr<int64_t> secret =
      store->AppendEvent("a", Message(std::string("the password is ") + kSecret));
  ASSERT_TRUE(secret.ok());
  ASSERT_TRUE(store->AppendEvents("a", filler).ok());
  RecallQuery query = Query("a", kSecret);
  ASSERT_EQ(store->Recall(query)->front().id, *secret);  // indexed everywhere
  store->WaitForIndexes();
  ASSERT_TRUE(AnyFileContains(dir, kSecret));

  ASSERT_TRUE(store->Forget("a", Layer::kEpisodic, *secret).ok());
  EXPECT_EQ(store->GetEvent("a", *secret).status().code(), absl::StatusCode::kNotFound);
  for (const RecallHit& hit : RecallOrFail(*store, query)) EXPECT_NE(hit.id, *secret);
  EXPECT_FALSE(AnyFileContains(dir, kSecret));
  store.reset();
  EXPECT_FALSE(AnyFileContains(dir, kSecret));
  store = OpenOrDie(TestOptions(dir));
  EXPECT_EQ(store->RecentEvents("a", 1000)->size(), 100u);
}

TEST(ForgettingTest, ForgetAgentErasesEveryLayerAndLeavesOthers) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  ASSERT_TRUE(store->AppendEvent("a", Message(std::string("event ") + kSecret)).ok());
  SemanticEntryInput entry;
  entry.content = std::string("entry ") + kSecret + "x";
  ASSERT_TRUE(store->AddEntry("a", entry).ok());
  absl::StatusOr<int64_t> p1 = store->UpsertPage("a", Titled("page one"));
  absl::StatusOr<int64_t> p2 = store->UpsertPage("a", Titled("page two"));
  ASSERT_TRUE(store->SetEdge("a", *p1, *p2, EdgeType::kLinkedConcept, 0.5).ok());
  ArtifactInput artifact;
  artifact.kind = "adapter";
  artifact.name = "x";
  artifact.bytes = kSecret;
  ASSERT_TRUE(store->PutArtifact("a", artifact).ok());
  ASSERT_TRUE(store->AppendEvent("b", Message("b keeps this")).ok());
  absl::StatusOr<int64_t> erased = store->ForgetAgent("a");
  ASSERT_TRUE(erased.ok()) << erased.status();
  // The event, the entry, two pages and the artifact (the event's surprise copy goes with it).
  EXPECT_EQ(*erased, 5);
  absl::StatusOr<StoreStats> stats = store->Stats();
  ASSERT_EQ(stats->agents.size(), 1u);
  EXPECT_EQ(stats->agents[0].agent_id, "b");
  EXPECT_FALSE(AnyFileContains(dir, kSecret));
}

TEST(ForgettingTest, PhasesFollowLastAccessWithTheGuards) {
  testing::TempDir dir;
  int64_t now = 1'700'000'000'000;
  StoreOptions options = TestOptions(dir);
  options.clock = [&now] { return now; };
  std::unique_ptr<MemoryStore> store = OpenOrDie(options);
  // Same text as the first event, so it is not surprising: only its privacy protects it.
  EventInput kept_public = Message("an ordinary private note about lunch");
  kept_public.privacy = PrivacyClass::kPublic;
  absl::StatusOr<std::vector<int64_t>> ids =
      store->AppendEvents("a", {Message("an ordinary private note about lunch"), kept_public});
  ASSERT_TRUE(ids.ok());
  const int64_t ordinary = (*ids)[0], announcement = (*ids)[1];
  // The first event was maximally surprising (nothing before it): it is never archived.
  ASSERT_GE(store->GetEvent("a", ordinary)->surprise, kHighSurprise);
  absl::StatusOr<int64_t> dull = store->AppendEvent("a", Message("an ordinary private note"));
  ASSERT_LT(store->GetEvent("a", *dull)->surprise, kHighSurprise);

  now += 8 * kDay;
  absl::StatusOr<PhaseReport> report = store->ApplyPhases();
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(store->GetEvent("a", *dull)->phase, Phase::kWarm);
  now += 100 * kDay;
  ASSERT_TRUE(store->ApplyPhases().ok());
  EXPECT_EQ(store->GetEvent("a", *dull)->phase, Phase::kArchived);
  EXPECT_EQ(store->GetEvent("a", ordinary)->phase, Phase::kCold);
  // Archived records are out of default recall.
  for (const RecallHit& hit : RecallOrFail(*store, Query("a", "ordinary private note"))) {
    EXPECT_NE(hit.id, *dull);
  }
  now += 100 * kDay;
  report = store->ApplyPhases();
  ASSERT_TRUE(report.ok());
  EXPECT_GE(report->erased, 1);
  EXPECT_EQ(store->GetEvent("a", *dull).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetEvent("a", announcement)->phase, Phase::kArchived);
  EXPECT_EQ(store->GetEvent("a", ordinary)->phase, Phase::kCold);
}

}  // namespace
}  // namespace llive::memory
