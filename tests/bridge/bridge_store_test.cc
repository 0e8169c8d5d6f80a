// Tests of bridge parameters and personas in an agent's parameter layer: a real SQLite store,
// round trips, the newest version wins, and damaged or tampered artifacts are refused.
#include "bridge/bridge_store.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "memory/database.h"
#include "tests/bridge/small_params.h"
#include "tests/memory/store_test_util.h"

namespace llive::bridge {
namespace {

using ::testing::HasSubstr;

class BridgeStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = memory::OpenOrDie(memory::TestOptions(dir_));
    ASSERT_NE(store_, nullptr);
  }
  // Runs `sql` on the store's database through a second connection.
  void Tamper(const std::string& sql) {
    absl::StatusOr<std::unique_ptr<memory::Database>> db =
        memory::Database::Open(dir_.File("memory.db"));
    ASSERT_TRUE(db.ok()) << db.status();
    ASSERT_TRUE((*db)->Exec(sql).ok()) << sql;
  }
  testing::TempDir dir_;
  std::unique_ptr<memory::MemoryStore> store_;
};

TEST_F(BridgeStoreTest, ParamsRoundTripThroughTheParameterLayer) {
  const BridgeParams params = SmallParams();
  absl::StatusOr<int64_t> id = StoreBridgeParams(*store_, "agent-a", params);
  ASSERT_TRUE(id.ok()) << id.status();
  absl::StatusOr<memory::Artifact> artifact = store_->GetArtifact("agent-a", *id);
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  EXPECT_EQ(artifact->kind, "bridge_params");
  EXPECT_EQ(artifact->name, "mamba:abc123");
  EXPECT_EQ(artifact->format_version, kBridgeParamsVersion);

  absl::StatusOr<BridgeParams> loaded = LoadBridgeParams(*store_, "agent-a", "mamba", "abc123");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(SerializeBridgeParams(*loaded), SerializeBridgeParams(params));
}

TEST_F(BridgeStoreTest, TheNewestFitOfAModelIsRead) {
  BridgeParams params = SmallParams();
  ASSERT_TRUE(StoreBridgeParams(*store_, "a", params).ok());
  params.probes[3].bias = 7.5;
  ASSERT_TRUE(StoreBridgeParams(*store_, "a", params).ok());
  BridgeParams other_model = SmallParams();
  other_model.model_fingerprint = "def456";
  other_model.probes[3].bias = -1;
  ASSERT_TRUE(StoreBridgeParams(*store_, "a", other_model).ok());
  EXPECT_EQ(LoadBridgeParams(*store_, "a", "mamba", "abc123")->probes[3].bias, 7.5);
  EXPECT_EQ(LoadBridgeParams(*store_, "a", "mamba", "def456")->probes[3].bias, -1);
}

TEST_F(BridgeStoreTest, MissingParamsAreNotFoundAndSayWhatToRun) {
  ASSERT_TRUE(StoreBridgeParams(*store_, "a", SmallParams()).ok());
  absl::StatusOr<BridgeParams> other_agent = LoadBridgeParams(*store_, "b", "mamba", "abc123");
  EXPECT_EQ(other_agent.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(other_agent.status().message(), HasSubstr("llive bridge fit"));
  EXPECT_EQ(LoadBridgeParams(*store_, "a", "rwkv7", "abc123").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(BridgeStoreTest, InvalidParamsAreNotStored) {
  BridgeParams params = SmallParams();
  params.probes.pop_back();
  EXPECT_EQ(StoreBridgeParams(*store_, "a", params).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->LatestArtifacts("a", kBridgeParamsArtifactKind)->empty());
}

TEST_F(BridgeStoreTest, TamperedParamsAreDataLoss) {
  absl::StatusOr<int64_t> id = StoreBridgeParams(*store_, "a", SmallParams());
  ASSERT_TRUE(id.ok());
  // One changed byte in the middle of the payload: the store's sha256 no longer matches.
  Tamper(
      "UPDATE artifacts SET bytes = substr(bytes, 1, 100) || X'FF' || substr(bytes, 102) "
      "WHERE id = " +
      std::to_string(*id));
  absl::StatusOr<BridgeParams> loaded = LoadBridgeParams(*store_, "a", "mamba", "abc123");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("sha256"));
}

TEST_F(BridgeStoreTest, ParamsFiledUnderAnotherModelAreDataLoss) {
  absl::StatusOr<int64_t> id = StoreBridgeParams(*store_, "a", SmallParams());
  ASSERT_TRUE(id.ok());
  // The sha256 covers the bytes, not the name: a row renamed to another model passes the
  // store's check, and the model named inside the bytes catches it.
  Tamper("UPDATE artifacts SET name = 'mamba:ffff' WHERE id = " + std::to_string(*id));
  absl::StatusOr<BridgeParams> loaded = LoadBridgeParams(*store_, "a", "mamba", "ffff");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("abc123"));
}

TEST_F(BridgeStoreTest, ANewerFormatVersionIsFailedPrecondition) {
  absl::StatusOr<int64_t> id = StoreBridgeParams(*store_, "a", SmallParams());
  ASSERT_TRUE(id.ok());
  Tamper("UPDATE artifacts SET format_version = 99 WHERE id = " + std::to_string(*id));
  EXPECT_EQ(LoadBridgeParams(*store_, "a", "mamba", "abc123").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(BridgeStoreTest, PersonasAreNamedParameters) {
  const ThoughtVector careful = {0.8f, 0.2f, 0.9f, 0.5f, 0.7f, 0.1f, 0.9f, 0.8f, 0.6f, 0.9f};
  ThoughtVector explorer{};
  explorer.fill(0.5f);
  explorer[5] = 0.95f;
  ASSERT_TRUE(StorePersona(*store_, "a", "careful", explorer).ok());
  ASSERT_TRUE(StorePersona(*store_, "a", "careful", careful).ok());  // a newer version
  ASSERT_TRUE(StorePersona(*store_, "a", "explorer", explorer).ok());
  ASSERT_TRUE(StorePersona(*store_, "b", "other", explorer).ok());

  absl::StatusOr<ThoughtVector> loaded = LoadPersona(*store_, "a", "careful");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(*loaded, careful);
  absl::StatusOr<std::map<std::string, ThoughtVector>> all = LoadPersonas(*store_, "a");
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ(all->at("careful"), careful);
  EXPECT_EQ(all->at("explorer"), explorer);

  absl::StatusOr<ThoughtVector> missing = LoadPersona(*store_, "a", "other");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("llive bridge persona set other"));
}

TEST_F(BridgeStoreTest, BadPersonasAreRefusedBeforeStoring) {
  ThoughtVector target{};
  EXPECT_EQ(StorePersona(*store_, "a", "", target).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StorePersona(*store_, "a", "two words", target).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(StorePersona(*store_, "a", std::string(65, 'x'), target).status().code(),
            absl::StatusCode::kInvalidArgument);
  target[2] = 1.5f;
  EXPECT_EQ(StorePersona(*store_, "a", "loud", target).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(LoadPersonas(*store_, "a")->empty());
}

TEST_F(BridgeStoreTest, TamperedPersonaIsDataLoss) {
  ThoughtVector target{};
  ASSERT_TRUE(StorePersona(*store_, "a", "calm", target).ok());
  Tamper("UPDATE artifacts SET bytes = CAST(replace(CAST(bytes AS TEXT), '0.0', '0.9') AS BLOB)");
  EXPECT_EQ(LoadPersona(*store_, "a", "calm").status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(LoadPersonas(*store_, "a").status().code(), absl::StatusCode::kDataLoss);
}

TEST(PersonaBytesTest, RoundTripAndRefusals) {
  ThoughtVector target = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 1.0f};
  EXPECT_EQ(*ParsePersona(SerializePersona(target)), target);
  for (const char* bad : {"", "[]", "{", "{\"structure\": 0.5}", "not json",
                          "{\"structure\":0,\"recomposition\":0,\"closed_loop\":0,"
                          "\"self_extension\":0,\"uncertainty\":0,\"exploration\":0,"
                          "\"alignment\":0,\"provenance\":0,\"multi_perspective\":0,"
                          "\"grounding\":2}",
                          "{\"structure\":0,\"recomposition\":0,\"closed_loop\":0,"
                          "\"self_extension\":0,\"uncertainty\":0,\"exploration\":0,"
                          "\"alignment\":0,\"provenance\":0,\"multi_perspective\":0,"
                          "\"grounding\":\"0\"}",
                          "{\"structure\":0,\"recomposition\":0,\"closed_loop\":0,"
                          "\"self_extension\":0,\"uncertainty\":0,\"exploration\":0,"
                          "\"alignment\":0,\"provenance\":0,\"multi_perspective\":0,"
                          "\"grounding\":0,\"creativity\":1}"}) {
    EXPECT_EQ(ParsePersona(bad).status().code(), absl::StatusCode::kDataLoss) << bad;
  }
}

}  // namespace
}  // namespace llive::bridge
