// Tests of the FAISS caches: consistency with SQLite, cache files, corruption, IVF, other
// processes' writes.
#include "memory/vector_cache.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "memory/hashing_embedder.h"
#include "memory/vector_index.h"
#include "tests/memory/store_test_util.h"

namespace llive::memory {
namespace {

std::vector<int64_t> VectorIds(MemoryStore& store, const std::string& agent,
                               const std::string& text, int k) {
  RecallQuery query = Query(agent, text);
  query.mode = RecallQuery::Mode::kVector;
  query.k = k;
  query.touch = false;
  query.layers = {Layer::kEpisodic};
  std::vector<int64_t> ids;
  absl::StatusOr<std::vector<RecallHit>> hits = store.Recall(query);
  EXPECT_TRUE(hits.ok()) << hits.status();
  if (hits.ok()) {
    for (const RecallHit& hit : *hits) ids.push_back(hit.id);
  }
  return ids;
}

std::string IndexFile(const testing::TempDir& dir, const std::string& layer,
                      const std::string& agent_hex) {
  return dir.File("indexes/" + layer + "-" + agent_hex + ".faiss");
}

TEST(VectorCacheTest, CacheFileIsWrittenReloadedAndCaughtUp) {
  testing::TempDir dir;
  {
    std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
    ASSERT_TRUE(
        store->AppendEvents("a", {Message("apples and pears"), Message("red bicycles")}).ok());
    EXPECT_EQ(VectorIds(*store, "a", "bicycle", 1).size(), 1u);
  }
  const std::string file = IndexFile(dir, "episodic", "61");
  ASSERT_TRUE(std::filesystem::exists(file));
  {
    absl::StatusOr<std::unique_ptr<VectorIndex>> index =
        VectorIndex::Load(file, VectorIndexOptions{.dim = 512});
    ASSERT_TRUE(index.ok()) << index.status();
    EXPECT_EQ((*index)->size(), 2);
    EXPECT_GT((*index)->watermarks().indexed_up_to, 0);
  }
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  absl::StatusOr<int64_t> id = store->AppendEvent("a", Message("a blue bicycle bell"));
  ASSERT_TRUE(id.ok());
  // "apples and pears" shares no feature with the query: cosine 0 is no match.
  std::vector<int64_t> nearest = VectorIds(*store, "a", "blue bicycle bell", 3);
  ASSERT_EQ(nearest.size(), 2u);
  EXPECT_EQ(nearest[0], *id);
}

TEST(VectorCacheTest, CorruptedCacheFileIsRebuiltFromTheDatabase) {
  testing::TempDir dir;
  int64_t target = 0;
  {
    std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
    ASSERT_TRUE(
        store->AppendEvents("a", {Message("the lighthouse keeper"), Message("tax forms")}).ok());
    target = *store->AppendEvent("a", Message("a violin concerto in D"));
    VectorIds(*store, "a", "x", 1);
  }
  const std::string file = IndexFile(dir, "episodic", "61");
  std::string bytes = ReadBytes(file);
  ASSERT_GT(bytes.size(), 200u);
  for (size_t i = bytes.size() / 2; i < bytes.size() / 2 + 64; ++i) bytes[i] ^= 0x5a;
  std::ofstream(file, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_EQ(VectorIndex::Load(file, VectorIndexOptions{.dim = 512}).status().code(),
            absl::StatusCode::kDataLoss);
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  store->WaitForIndexes();
  std::vector<int64_t> nearest = VectorIds(*store, "a", "violin concerto", 1);
  ASSERT_EQ(nearest.size(), 1u);
  EXPECT_EQ(nearest[0], target);
  EXPECT_EQ(store->RecentEvents("a", 10)->size(), 3u);  // nothing stored was lost
  store.reset();
  EXPECT_TRUE(VectorIndex::Load(file, VectorIndexOptions{.dim = 512}).ok());  // rewritten
}

TEST(VectorCacheTest, DeletesAndUpdatesKeepFaissConsistentWithSqlite) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> store = OpenOrDie(TestOptions(dir));
  absl::StatusOr<int64_t> gone = store->AppendEvent("a", Message("submarine periscope depth"));
  ASSERT_TRUE(store->AppendEvent("a", Message("kitchen recipes")).ok());
  ASSERT_EQ(VectorIds(*store, "a", "submarine periscope", 1).front(), *gone);
  ASSERT_TRUE(store->Forget("a", Layer::kEpisodic, *gone).ok());
  for (int64_t id : VectorIds(*store, "a", "submarine periscope", 10)) EXPECT_NE(id, *gone);
  // The rewritten cache file no longer holds the vector either.
  absl::StatusOr<std::unique_ptr<VectorIndex>> index =
      VectorIndex::Load(IndexFile(dir, "episodic", "61"), VectorIndexOptions{.dim = 512});
  ASSERT_TRUE(index.ok());
  EXPECT_EQ((*index)->size(), 1);
}

TEST(VectorCacheTest, AnotherProcessWritesAreNoticed) {
  testing::TempDir dir;
  std::unique_ptr<MemoryStore> reader = OpenOrDie(TestOptions(dir));
  std::unique_ptr<MemoryStore> writer = OpenOrDie(TestOptions(dir));
  ASSERT_TRUE(reader->AppendEvent("a", Message("first note about owls")).ok());
  EXPECT_EQ(VectorIds(*reader, "a", "owls", 5).size(), 1u);  // reader's index is now built
  absl::StatusOr<int64_t> added = writer->AppendEvent("a", Message("zebra crossing stripes"));
  ASSERT_TRUE(added.ok());
  std::vector<int64_t> nearest = VectorIds(*reader, "a", "zebra stripes", 1);
  ASSERT_EQ(nearest.size(), 1u);
  EXPECT_EQ(nearest[0], *added);
  SemanticEntryInput entry;
  entry.content = "penguins live in the south";
  absl::StatusOr<int64_t> entry_id = writer->AddEntry("a", entry);
  ASSERT_TRUE(entry_id.ok());
  RecallQuery query = Query("a", "penguins");
  query.layers = {Layer::kSemantic};
  query.mode = RecallQuery::Mode::kVector;
  EXPECT_EQ(reader->Recall(query)->front().id, *entry_id);
  entry.content = "walruses live in the north";
  ASSERT_TRUE(writer->UpdateEntry("a", *entry_id, entry).ok());
  query.text = "walruses north";
  EXPECT_EQ(reader->Recall(query)->front().content, "walruses live in the north");
}

TEST(VectorCacheTest, LargeAgentsSwitchToIvfInTheBackground) {
  testing::TempDir dir;
  StoreOptions options = TestOptions(dir);
  options.embedder = std::make_shared<HashingEmbedder>(64);
  options.vector_index.ivf_threshold = 1000;
  options.vector_index.ivf_nprobe = 64;
  std::unique_ptr<MemoryStore> store = OpenOrDie(options);
  std::vector<EventInput> batch;
  for (int i = 0; i < 1500; ++i) {
    batch.push_back(
        Message("note " + std::to_string(i) + " about topic " + std::to_string(i % 37)));
  }
  absl::StatusOr<std::vector<int64_t>> ids = store->AppendEvents("a", batch);
  ASSERT_TRUE(ids.ok());
  std::vector<int64_t> before = VectorIds(*store, "a", "note 777 about topic 0", 1);
  store->WaitForIndexes();
  ASSERT_TRUE(store->AppendEvent("a", Message("one more after the rebuild")).ok());
  // The catch-up of that append took the flat index past the threshold and queued the IVF
  // rebuild; without waiting, closing the store could stop the build before it ran.
  store->WaitForIndexes();
  std::vector<int64_t> after = VectorIds(*store, "a", "note 777 about topic 0", 1);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after, before);
  EXPECT_EQ(after[0], (*ids)[777]);
  EXPECT_EQ(VectorIds(*store, "a", "one more after the rebuild", 1).size(), 1u);
  store.reset();
  absl::StatusOr<std::unique_ptr<VectorIndex>> index = VectorIndex::Load(
      IndexFile(dir, "episodic", "61"), VectorIndexOptions{.dim = 64, .ivf_threshold = 1000});
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_TRUE((*index)->is_ivf());
  EXPECT_EQ((*index)->size(), 1501);
}

}  // namespace
}  // namespace llive::memory
