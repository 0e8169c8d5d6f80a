// Tests of llive.json validation, dotted access and saving.
#include "runtime/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>

#include "tests/testing/temp_dir.h"

namespace llive::runtime {
namespace {

using ::testing::HasSubstr;

TEST(ConfigTest, DefaultsAreValidAndComplete) {
  Config config = Config::Defaults();
  absl::StatusOr<Config> again = Config::FromJson(config.json());
  ASSERT_TRUE(again.ok()) << again.status();
  for (const ConfigKey& key : ConfigSchema()) {
    EXPECT_TRUE(config.Get(key.path).ok()) << key.path;
    EXPECT_EQ(*config.Get(key.path), key.default_value) << key.path;
    EXPECT_EQ(key.check(key.default_value), "") << key.path << " default fails its own check";
  }
  EXPECT_EQ(config.GetString("backend.llm"), "mamba:llive-mamba-small");
  EXPECT_DOUBLE_EQ(config.GetNumber("memory.surprise_theta"), 0.3);
}

TEST(ConfigTest, PartialDocumentKeepsDefaultsForMissingKeys) {
  absl::StatusOr<Config> config =
      Config::Parse(R"({"memory": {"surprise_theta": 0.5}})", "llive.json");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_DOUBLE_EQ(config->GetNumber("memory.surprise_theta"), 0.5);
  EXPECT_EQ(config->GetInteger("memory.max_content_bytes"), 65536);
}

TEST(ConfigTest, UnknownKeyIsNamedWithItsPathAndTheKnownKeys) {
  absl::StatusOr<Config> config =
      Config::Parse(R"({"memory": {"surprise_thetaa": 0.5}})", "/h/llive.json");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("/h/llive.json"));
  EXPECT_THAT(config.status().message(), HasSubstr("memory.surprise_thetaa: unknown key"));
  EXPECT_THAT(config.status().message(), HasSubstr("surprise_theta"));
}

TEST(ConfigTest, UnknownTopLevelSection) {
  absl::StatusOr<Config> config = Config::Parse(R"({"memroy": {}})", "llive.json");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("memroy: unknown key"));
  EXPECT_THAT(config.status().message(), HasSubstr("memory"));
}

// A dotted key matches a schema path but would never be read: refused, not ignored.
TEST(ConfigTest, DottedKeyIsRefusedNotIgnored) {
  for (const char* text :
       {R"({"memory.database": "other.db"})", R"({"memory": {"phase_days.warm": 3}})"}) {
    absl::StatusOr<Config> config = Config::Parse(text, "llive.json");
    ASSERT_FALSE(config.ok()) << text;
    EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(config.status().message(), HasSubstr(": unknown key; a key holds no '.'"));
  }
}

TEST(ConfigTest, WrongTypeNamesKeyAndExpectedType) {
  absl::StatusOr<Config> config =
      Config::Parse(R"({"memory": {"max_content_bytes": "big"}})", "llive.json");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(),
              HasSubstr("memory.max_content_bytes: expected integer, got string"));
}

TEST(ConfigTest, IntegerKeyRefusesFraction) {
  absl::StatusOr<Config> config = Config::Parse(R"({"scheduler": {"workers": 1.5}})", "llive.json");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("scheduler.workers: expected integer"));
}

TEST(ConfigTest, SectionGivenAsScalar) {
  absl::StatusOr<Config> config = Config::Parse(R"({"memory": 3})", "llive.json");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("memory: expected an object"));
}

TEST(ConfigTest, BadValuesSayWhatIsAllowed) {
  struct Case {
    const char* json;
    const char* expected;
  } cases[] = {
      {R"({"memory": {"surprise_theta": 1.5}})", "allowed: a number from 0 to 1"},
      {R"({"backend": {"llm": "gpt"}})", "known backends: mock|openai"},
      {R"({"backend": {"llm": "mamba:"}})", "needs a model path"},
      {R"({"backend": {"device": "gpu"}})", "use cpu, cuda or cuda:N"},
      {R"({"backend": {"gpu_weights": "fp8"}})", "bf16"},
      {R"({"scheduler": {"schedule": "daily@25:00"}})", "HH:MM"},
      {R"({"memory": {"embedder": "word2vec"}})", "one of: hashing, openai, ollama"},
      {R"({"server": {"listen": "localhost"}})", "HOST:PORT"},
      {R"({"memory": {"phase_days": {"warm": 40}}})",
       "memory.phase_days.cold: must be greater than memory.phase_days.warm"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<Config> config = Config::Parse(c.json, "llive.json");
    ASSERT_FALSE(config.ok()) << c.json;
    EXPECT_THAT(config.status().message(), HasSubstr(c.expected)) << c.json;
  }
}

TEST(ConfigTest, EveryProblemIsReportedAtOnce) {
  absl::StatusOr<Config> config = Config::Parse(
      R"({"memory": {"surprise_theta": -1, "nope": 1}, "backend": {"device": 7}})", "f");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("memory.surprise_theta"));
  EXPECT_THAT(config.status().message(), HasSubstr("memory.nope"));
  EXPECT_THAT(config.status().message(), HasSubstr("backend.device"));
}

TEST(ConfigTest, MalformedJsonGivesLineAndColumn) {
  absl::StatusOr<Config> config = Config::Parse("{\n  \"memory\": {\n    \"x\": ,\n}", "f.json");
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("f.json: malformed JSON"));
  EXPECT_THAT(config.status().message(), HasSubstr("line 3"));
}

TEST(ConfigTest, NumberTooLargeForADoubleIsAnErrorNotACrash) {
  absl::StatusOr<Config> config =
      Config::Parse(R"({"memory": {"surprise_theta": 1e99999}})", "f.json");
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(config.status().message(), HasSubstr("f.json: malformed JSON"));
}

TEST(ConfigTest, NonObjectDocumentRefused) {
  EXPECT_FALSE(Config::Parse("[1,2]", "f").ok());
  EXPECT_FALSE(Config::Parse("", "f").ok());
  EXPECT_FALSE(Config::Parse("null", "f").ok());
}

TEST(ConfigTest, SetParsesByTypeAndChecks) {
  Config config = Config::Defaults();
  ASSERT_TRUE(config.Set("memory.surprise_theta", "0.45").ok());
  EXPECT_DOUBLE_EQ(config.GetNumber("memory.surprise_theta"), 0.45);
  ASSERT_TRUE(config.Set("server.require_token", "true").ok());
  EXPECT_TRUE(config.GetBoolean("server.require_token"));
  ASSERT_TRUE(config.Set("backend.llm", "mamba:/models/m").ok());
  EXPECT_EQ(config.GetString("backend.llm"), "mamba:/models/m");

  Config before = config;
  EXPECT_THAT(config.Set("memory.surprise_theta", "high").message(),
              HasSubstr("expected a number"));
  EXPECT_THAT(config.Set("memory.surprise_theta", "2").message(), HasSubstr("from 0 to 1"));
  EXPECT_THAT(config.Set("server.require_token", "yes").message(), HasSubstr("true or false"));
  EXPECT_THAT(config.Set("scheduler.workers", "2.5").message(), HasSubstr("expected an integer"));
  EXPECT_EQ(config.Set("no.such.key", "1").code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(config.Set("memory.phase_days.erased", "10").message(),
              HasSubstr("must be greater than"));
  EXPECT_EQ(config.json(), before.json()) << "a refused Set must change nothing";
}

TEST(ConfigTest, GetSectionAndUnknownKey) {
  Config config = Config::Defaults();
  absl::StatusOr<nlohmann::json> memory = config.Get("memory");
  ASSERT_TRUE(memory.ok());
  EXPECT_TRUE(memory->contains("surprise_theta"));
  EXPECT_EQ(config.Get("memory.zzz").status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigTest, SaveAndLoadRoundTrip) {
  testing::TempDir dir;
  Config config = Config::Defaults();
  ASSERT_TRUE(config.Set("scheduler.schedule", "every:6h").ok());
  ASSERT_TRUE(config.Save(dir.File("llive.json")).ok());
  absl::StatusOr<Config> loaded = Config::Load(dir.File("llive.json"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->json(), config.json());
  EXPECT_EQ(Config::Load(dir.File("missing.json")).status().code(), absl::StatusCode::kNotFound);
}

TEST(ConfigTest, EveryKeyIsDocumented) {
  std::ifstream doc(std::string(LLIVE_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(doc.good()) << "docs/configuration.md is missing";
  std::string text((std::istreambuf_iterator<char>(doc)), std::istreambuf_iterator<char>());
  for (const ConfigKey& key : ConfigSchema()) {
    EXPECT_THAT(text, HasSubstr(absl::StrCat("`", key.path, "`")))
        << key.path << " is not in docs/configuration.md";
  }
}

}  // namespace
}  // namespace llive::runtime
