// Tests of the Unicode token rules behind full-text search and the hashing embedder.
#include "memory/text_segmenter.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace llive::memory {
namespace {

using ::testing::ElementsAre;

TEST(TextSegmenterTest, WordsAreFoldedAndStrippedOfAccents) {
  EXPECT_THAT(SegmentTextToStrings("Café NAÏVE, don't-stop 42x"),
              ElementsAre("cafe", "naive", "don", "t", "stop", "42x"));
}

TEST(TextSegmenterTest, CjkRunsBecomeOverlappingBigrams) {
  EXPECT_THAT(SegmentTextToStrings("東京都に行く"),
              ElementsAre("東京", "京都", "都に", "に行", "行く"));
  EXPECT_THAT(SegmentTextToStrings("私 は"), ElementsAre("私", "は"));
  EXPECT_THAT(SegmentTextToStrings("한국어"), ElementsAre("한국", "국어"));
}

TEST(TextSegmenterTest, MixedScriptsSplitAtTheBoundary) {
  EXPECT_THAT(SegmentTextToStrings("llamaモデル2つ"),
              ElementsAre("llama", "モデ", "デル", "2", "つ"));
}

TEST(TextSegmenterTest, HiraganaOnlyTokensAreTold) {
  EXPECT_TRUE(IsHiraganaOnly("ます"));
  EXPECT_TRUE(IsHiraganaOnly("は"));
  EXPECT_FALSE(IsHiraganaOnly("東京"));
  EXPECT_FALSE(IsHiraganaOnly("京に"));
  EXPECT_FALSE(IsHiraganaOnly("モデ"));
  EXPECT_FALSE(IsHiraganaOnly(""));
}

TEST(TextSegmenterTest, EmojiAreTokensOfTheirOwn) {
  EXPECT_THAT(SegmentTextToStrings("🎉🎉 party"), ElementsAre("🎉", "🎉", "party"));
}

TEST(TextSegmenterTest, ByteOffsetsPointIntoTheInput) {
  const std::string text = "ab 東京";
  std::vector<std::pair<int, int>> ranges;
  SegmentText(text, [&](const Token& token) { ranges.emplace_back(token.start, token.end); });
  ASSERT_EQ(ranges.size(), 2u);
  EXPECT_EQ(ranges[0], std::make_pair(0, 2));
  EXPECT_EQ(ranges[1], std::make_pair(3, 9));
}

TEST(TextSegmenterTest, InvalidUtf8IsSkippedAndDetected) {
  const std::string bad = "ok\xff\xfe then";
  EXPECT_THAT(SegmentTextToStrings(bad), ElementsAre("ok", "then"));
  EXPECT_FALSE(IsValidUtf8(bad));
  EXPECT_TRUE(IsValidUtf8("東京 🎉 ok"));
  EXPECT_FALSE(IsValidUtf8("\xc3"));  // truncated sequence
  EXPECT_FALSE(IsValidUtf8("plain ascii then \x80 a stray continuation byte"));
  EXPECT_FALSE(IsValidUtf8("ends cut short \xe6\x9d"));
  EXPECT_TRUE(IsValidUtf8("ascii, then caf\xc3\xa9, then ascii"));
}

// ASCII takes a shortcut past utf8proc: every ASCII character must still be told apart as
// utf8proc's categories would (letters and digits join words, nothing else is a token).
TEST(TextSegmenterTest, EveryAsciiCharacterIsAWordPartOnlyWhenALetterOrDigit) {
  for (int c = 0; c < 0x80; ++c) {
    const std::string text = std::string("x") + static_cast<char>(c) + "Y";
    const bool word_part =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    const char folded = static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
    if (word_part) {
      EXPECT_THAT(SegmentTextToStrings(text), ElementsAre(std::string("x") + folded + "y"))
          << "character " << c;
    } else {
      EXPECT_THAT(SegmentTextToStrings(text), ElementsAre("x", "y")) << "character " << c;
    }
  }
}

TEST(TextSegmenterTest, WordsRunAcrossAsciiAndOtherLetters) {
  const std::string text = "Abéc, Été 42";
  std::vector<std::string> words;
  std::vector<std::pair<int, int>> ranges;
  SegmentText(text, [&](const Token& token) {
    words.emplace_back(token.text);
    ranges.emplace_back(token.start, token.end);
  });
  EXPECT_THAT(words, ElementsAre("abec", "ete", "42"));
  EXPECT_THAT(ranges,
              ElementsAre(std::make_pair(0, 5), std::make_pair(7, 12), std::make_pair(13, 15)));
}

TEST(TextSegmenterTest, VeryLongWordsAreCut) {
  std::vector<std::string> tokens = SegmentTextToStrings(std::string(500, 'a'));
  ASSERT_EQ(tokens.size(), 1u);
  EXPECT_EQ(tokens[0].size(), 64u);
}

}  // namespace
}  // namespace llive::memory
