// Tests of the four layers through MemoryStore: episodic, semantic, structural, parameter.
#include "memory/memory_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "memory/statement.h"
#include "tests/memory/store_test_util.h"

namespace llive::memory {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(EpisodicTest, BatchAppendKeepsOrderAndProvenance) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  std::vector<EventInput> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(Message("event number " + std::to_string(i), 1000 + i));
  batch[2].provenance.source_type = "tool";
  batch[2].provenance.derived_from = {"x1", "x2"};
  batch[2].provenance.confidence = 0.25;
  batch[2].importance = 0.9;
  batch[2].privacy = PrivacyClass::kShared;
  absl::StatusOr<std::vector<int64_t>> ids = store->AppendEvents("agent-1", batch);
  ASSERT_TRUE(ids.ok()) << ids.status();
  ASSERT_EQ(ids->size(), 5u);
  EXPECT_TRUE(std::is_sorted(ids->begin(), ids->end()));

  absl::StatusOr<Event> event = store->GetEvent("agent-1", (*ids)[2]);
  ASSERT_TRUE(event.ok());
  EXPECT_EQ(event->content, "event number 2");
  EXPECT_EQ(event->agent_id, "agent-1");
  EXPECT_EQ(event->provenance.source_type, "tool");
  EXPECT_THAT(event->provenance.derived_from, ElementsAre("x1", "x2"));
  EXPECT_DOUBLE_EQ(event->provenance.confidence, 0.25);
  EXPECT_GT(event->provenance.created_at_ms, 0);
  EXPECT_DOUBLE_EQ(event->importance, 0.9);
  EXPECT_EQ(event->privacy, PrivacyClass::kShared);
  EXPECT_EQ(event->embedder, "hashing@3/512");
  EXPECT_EQ(event->uid.size(), 32u);

  absl::StatusOr<std::vector<Event>> range =
      store->EventsByIdRange("agent-1", (*ids)[1], (*ids)[3], 10);
  ASSERT_TRUE(range.ok());
  ASSERT_EQ(range->size(), 3u);
  EXPECT_EQ(range->front().id, (*ids)[1]);
  absl::StatusOr<std::vector<Event>> by_time = store->EventsByTime("agent-1", 1003, 2000, 10);
  ASSERT_TRUE(by_time.ok());
  ASSERT_EQ(by_time->size(), 2u);
  absl::StatusOr<std::vector<Event>> recent = store->RecentEvents("agent-1", 2);
  ASSERT_TRUE(recent.ok());
  ASSERT_EQ(recent->size(), 2u);
  EXPECT_EQ(recent->front().id, (*ids)[4]);
}

TEST(EpisodicTest, SurpriseIsMeasuredAndTheGatePromotesNovelEvents) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  absl::StatusOr<int64_t> first = store->AppendEvent("a", Message("the quarterly budget review"));
  absl::StatusOr<int64_t> repeat = store->AppendEvent("a", Message("the quarterly budget review"));
  absl::StatusOr<int64_t> novel = store->AppendEvent("a", Message("水族館でペンギンを見た"));
  ASSERT_TRUE(first.ok() && repeat.ok() && novel.ok());
  EXPECT_DOUBLE_EQ(store->GetEvent("a", *first)->surprise, 1.0);
  EXPECT_NEAR(store->GetEvent("a", *repeat)->surprise, 0.0, 1e-6);
  EXPECT_GT(store->GetEvent("a", *novel)->surprise, 0.9);
  absl::StatusOr<std::vector<SemanticEntry>> entries = store->ListEntries("a", 10);
  ASSERT_TRUE(entries.ok());
  // The first and the novel event passed both gates (cold start: theta 0.3); the repeat not.
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].content, "水族館でペンギンを見た");
  EXPECT_EQ((*entries)[0].kind, "surprise");
  EXPECT_EQ((*entries)[0].provenance.source_type, "surprise_gate");
  EXPECT_THAT((*entries)[0].provenance.derived_from,
              ElementsAre(store->GetEvent("a", *novel)->uid));
}

TEST(EpisodicTest, ConsolidationWatermarkOnlyMovesForward) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  absl::StatusOr<std::vector<int64_t>> ids =
      store->AppendEvents("a", {Message("one"), Message("two"), Message("three")});
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*store->ConsolidatedWatermark("a"), 0);
  EXPECT_EQ(store->UnconsolidatedEvents("a", 10)->size(), 3u);
  ASSERT_TRUE(store->SetConsolidatedWatermark("a", (*ids)[1]).ok());
  absl::StatusOr<std::vector<Event>> left = store->UnconsolidatedEvents("a", 10);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().content, "three");
  EXPECT_EQ(store->SetConsolidatedWatermark("a", (*ids)[0]).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store->SetConsolidatedWatermark("b", (*ids)[2]).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(store->SetEventFactors("a", (*ids)[0], std::vector<float>(10, 0.5f)).ok());
  EXPECT_EQ(store->GetEvent("a", (*ids)[0])->factors.size(), 10u);
}

TEST(SemanticTest, UpdateInPlaceKeepsIdAndMovesTheVector) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  SemanticEntryInput entry;
  entry.content = "Alice prefers green tea";
  absl::StatusOr<int64_t> id = store->AddEntry("a", entry);
  ASSERT_TRUE(id.ok()) << id.status();
  const std::string uid = store->GetEntry("a", *id)->uid;
  entry.content = "Alice switched to black coffee";
  ASSERT_TRUE(store->UpdateEntry("a", *id, entry).ok());
  absl::StatusOr<SemanticEntry> updated = store->GetEntry("a", *id);
  ASSERT_TRUE(updated.ok());
  EXPECT_EQ(updated->uid, uid);
  EXPECT_EQ(updated->content, "Alice switched to black coffee");
  RecallQuery query = Query("a", "coffee");
  query.layers = {Layer::kSemantic};
  absl::StatusOr<std::vector<RecallHit>> hits = store->Recall(query);
  ASSERT_TRUE(hits.ok());
  ASSERT_FALSE(hits->empty());
  EXPECT_EQ(hits->front().id, *id);
  query.text = "green tea";
  query.mode = RecallQuery::Mode::kText;
  EXPECT_TRUE(store->Recall(query)->empty());  // the old text left the FTS index
  EXPECT_EQ(store->UpdateEntry("b", *id, entry).code(), absl::StatusCode::kNotFound);
}

TEST(StructuralTest, PageUpdatesInPlaceKeepTheirEdges) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  absl::StatusOr<int64_t> event = store->AppendEvent("a", Message("we discussed Rust"));
  PageInput rust = Titled("Rust", {*event});
  rust.summary = "a language";
  absl::StatusOr<int64_t> a = store->UpsertPage("a", rust);
  absl::StatusOr<int64_t> b = store->UpsertPage("a", Titled("Cargo"));
  absl::StatusOr<int64_t> c = store->UpsertPage("a", Titled("Borrowing"));
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.status();
  ASSERT_TRUE(store->SetEdge("a", *a, *b, EdgeType::kLinkedConcept, 0.5).ok());
  ASSERT_TRUE(store->SetEdge("a", *a, *c, EdgeType::kGeneralizes, 0.8).ok());
  ASSERT_TRUE(store->SetEdge("a", *a, *c, EdgeType::kCoOccursWith, 0.03).ok());  // dormant
  rust.summary = "a systems language";
  absl::StatusOr<int64_t> again = store->UpsertPage("a", rust);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *a);
  absl::StatusOr<Page> page = store->GetPage("a", *a);
  EXPECT_EQ(page->summary, "a systems language");
  EXPECT_THAT(page->linked_events, ElementsAre(*event));
  absl::StatusOr<std::vector<Edge>> edges = store->Neighbours("a", *a, 10);
  ASSERT_TRUE(edges.ok());
  ASSERT_EQ(edges->size(), 2u);
  EXPECT_EQ((*edges)[0].target, *c);
  EXPECT_EQ((*edges)[0].type, EdgeType::kGeneralizes);
  EXPECT_EQ(store->Neighbours("a", *a, 10, true)->size(), 3u);
  ASSERT_TRUE(
      store->SignalEdge("a", *a, *b, EdgeType::kLinkedConcept, MemoryStore::EdgeSignal::kReadHit)
          .ok());
  EXPECT_NEAR(store->Neighbours("a", *a, 10)->at(1).weight, 0.52, 1e-12);
  // Another agent cannot link to these pages or see them.
  EXPECT_EQ(store->SetEdge("b", *a, *b, EdgeType::kLinkedConcept, 1).code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->GetPage("b", *a).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->UpsertPage("b", Titled("X", {*event})).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(StructuralTest, EdgesDecayAndArePruned) {
  testing::TempDir dir;
  int64_t now = 1'000'000'000'000;
  StoreOptions options = TestOptions(dir);
  options.clock = [&now] { return now; };
  std::unique_ptr<MemoryStore> store = OpenOrDie(options);
  absl::StatusOr<int64_t> a = store->UpsertPage("a", Titled("A"));
  absl::StatusOr<int64_t> b = store->UpsertPage("a", Titled("B"));
  ASSERT_TRUE(store->SetEdge("a", *a, *b, EdgeType::kCoOccursWith, 0.1).ok());
  ASSERT_TRUE(store->SetEdge("a", *a, *b, EdgeType::kLinkedConcept, 1.0).ok());
  ASSERT_TRUE(store->SetEdge("a", *a, *b, EdgeType::kContradicts, 0.5).ok());
  now += int64_t{14} * 86400000;  // co_occurs_with: 0.1 e^-2 = 0.0135 < 0.02, pruned
  absl::StatusOr<int64_t> pruned = store->DecayEdges("a");
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1);
  absl::StatusOr<std::vector<Edge>> edges = store->Neighbours("a", *a, 10, true);
  ASSERT_EQ(edges->size(), 2u);
  EXPECT_NEAR((*edges)[0].weight, std::exp(-14.0 / 30), 1e-9);
  EXPECT_DOUBLE_EQ((*edges)[1].weight, 0.5);  // contradicts does not decay
}

TEST(StructuralTest, Ucb1TriesUnvisitedPagesFirstThenTheBest) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  int64_t good = *store->UpsertPage("a", Titled("good"));
  int64_t bad = *store->UpsertPage("a", Titled("bad"));
  int64_t fresh = *store->UpsertPage("a", Titled("fresh"));
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->RecordPageVisit("a", good, 0.9).ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->RecordPageVisit("a", bad, 0.1).ok());
  absl::StatusOr<std::vector<std::pair<Page, double>>> ranked = store->RankPagesUcb1("a", 3);
  ASSERT_TRUE(ranked.ok());
  ASSERT_EQ(ranked->size(), 3u);
  EXPECT_EQ((*ranked)[0].first.id, fresh);
  EXPECT_EQ((*ranked)[1].first.id, good);
  EXPECT_EQ((*ranked)[2].first.id, bad);
  EXPECT_NEAR((*ranked)[1].second, 0.9 + 1.4142 * std::sqrt(std::log(20.0) / 10), 1e-9);
}

TEST(ParameterTest, ArtifactsAreVerifiedOnReadAndTamperingIsDataLoss) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  ArtifactInput snapshot;
  snapshot.kind = "state_snapshot";
  snapshot.name = "rwkv7";
  snapshot.bytes = std::string("\x00\x01state", 7);
  absl::StatusOr<int64_t> first = store->PutArtifact("a", snapshot);
  snapshot.bytes = "newer state";
  absl::StatusOr<int64_t> second = store->PutArtifact("a", snapshot);
  ASSERT_TRUE(first.ok() && second.ok());
  absl::StatusOr<Artifact> latest = store->LatestArtifact("a", "state_snapshot", "rwkv7");
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->id, *second);
  EXPECT_EQ(latest->bytes, "newer state");
  EXPECT_EQ(latest->sha256_hex.size(), 64u);
  EXPECT_EQ(store->GetArtifact("a", *first)->bytes, std::string("\x00\x01state", 7));
  EXPECT_EQ(store->GetArtifact("b", *first).status().code(), absl::StatusCode::kNotFound);
  {
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("memory.db"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE(
        (*db)
            ->Exec("UPDATE artifacts SET bytes = X'00' WHERE id = " + std::to_string(*first))
            .ok());
  }
  absl::StatusOr<Artifact> tampered = store->GetArtifact("a", *first);
  ASSERT_FALSE(tampered.ok());
  EXPECT_EQ(tampered.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(tampered.status().message(), HasSubstr("sha256"));
}

TEST(ParameterTest, LatestArtifactsGivesTheNewestOfEachNameOfOneKind) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  ArtifactInput artifact;
  artifact.kind = "bridge_persona";
  for (const auto& [name, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"careful", "v1"}, {"bold", "b1"}, {"careful", "v2"}}) {
    artifact.name = name;
    artifact.bytes = bytes;
    ASSERT_TRUE(store->PutArtifact("a", artifact).ok());
  }
  artifact.kind = "state_snapshot";
  ASSERT_TRUE(store->PutArtifact("a", artifact).ok());
  artifact.kind = "bridge_persona";
  ASSERT_TRUE(store->PutArtifact("b", artifact).ok());

  absl::StatusOr<std::vector<Artifact>> latest = store->LatestArtifacts("a", "bridge_persona");
  ASSERT_TRUE(latest.ok()) << latest.status();
  ASSERT_EQ(latest->size(), 2u);
  EXPECT_EQ((*latest)[0].name, "bold");
  EXPECT_EQ((*latest)[0].bytes, "b1");
  EXPECT_EQ((*latest)[1].name, "careful");
  EXPECT_EQ((*latest)[1].bytes, "v2");
  EXPECT_TRUE(store->LatestArtifacts("c", "bridge_persona")->empty());
  {
    absl::StatusOr<std::unique_ptr<Database>> db = Database::Open(dir.File("memory.db"));
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("UPDATE artifacts SET bytes = X'00' WHERE name = 'bold'").ok());
  }
  EXPECT_EQ(store->LatestArtifacts("a", "bridge_persona").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(StatsTest, CountsPerAgent) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  ASSERT_TRUE(store->AppendEvents("a", {Message("x one"), Message("y two")}).ok());
  ASSERT_TRUE(store->AppendEvent("b", Message("z three")).ok());
  absl::StatusOr<StoreStats> stats = store->Stats();
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->agents.size(), 2u);
  EXPECT_EQ(stats->agents[0].agent_id, "a");
  EXPECT_EQ(stats->agents[0].events, 2);
  EXPECT_EQ(stats->agents[1].events, 1);
  EXPECT_GT(stats->database_bytes, 0);
}

}  // namespace
}  // namespace llive::memory
