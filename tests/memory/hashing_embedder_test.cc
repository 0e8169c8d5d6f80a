// Tests of the feature-hashing embedder: normalised, deterministic, meaningful across scripts.
#include "memory/hashing_embedder.h"

#include <gtest/gtest.h>

#include <cmath>

namespace llive::memory {
namespace {

double Dot(const std::vector<float>& a, const std::vector<float>& b) {
  double sum = 0;
  for (size_t i = 0; i < a.size(); ++i) sum += static_cast<double>(a[i]) * b[i];
  return sum;
}

TEST(HashingEmbedderTest, VectorsAreUnitLengthAndDeterministic) {
  HashingEmbedder embedder(256);
  absl::StatusOr<std::vector<float>> a = embedder.Embed("The cat sat on the mat");
  absl::StatusOr<std::vector<float>> b = embedder.Embed("The cat sat on the mat");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), 256u);
  EXPECT_NEAR(Dot(*a, *a), 1.0, 1e-5);
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(embedder.tag(), "hashing@3/256");
}

TEST(HashingEmbedderTest, RelatedTextIsCloserThanUnrelatedText) {
  HashingEmbedder embedder(512);
  auto v = [&](const char* text) { return *embedder.Embed(text); };
  EXPECT_GT(Dot(v("my sister lives in Osaka"), v("where does my sister live?")),
            Dot(v("my sister lives in Osaka"), v("the invoice total was 300 dollars")));
  // Japanese without spaces: shared characters and bigrams make it similar.
  EXPECT_GT(Dot(v("明日は東京で会議があります"), v("東京の会議はいつですか")),
            Dot(v("明日は東京で会議があります"), v("猫が好きです")));
}

TEST(HashingEmbedderTest, JapaneseGrammarWeighsLessThanTopic) {
  HashingEmbedder embedder(512);
  auto v = [&](const char* text) { return *embedder.Embed(text); };
  // The same polite ending ("…ています") against the same topic (フルート) in other words.
  EXPECT_GT(Dot(v("フルートを習い始めました"), v("フルートの先生は誰？")),
            Dot(v("フルートを習い始めました"), v("雨が降り始めました")));
}

TEST(HashingEmbedderTest, CjkKoreanAndEmojiGetNonZeroVectors) {
  HashingEmbedder embedder(128);
  for (const char* text : {"東京", "猫", "안녕하세요", "🎉", "北京欢迎你"}) {
    absl::StatusOr<std::vector<float>> v = embedder.Embed(text);
    ASSERT_TRUE(v.ok()) << text;
    EXPECT_NEAR(Dot(*v, *v), 1.0, 1e-5) << text;
  }
}

TEST(HashingEmbedderTest, PunctuationOnlyIsZeroAndBadUtf8IsRefused) {
  HashingEmbedder embedder(64);
  absl::StatusOr<std::vector<float>> v = embedder.Embed("?!...");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(Dot(*v, *v), 0.0);
  EXPECT_EQ(embedder.Embed("bad \xff").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llive::memory
