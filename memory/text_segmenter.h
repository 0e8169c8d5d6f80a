// Splits Unicode text into search tokens: words with unicode61-like rules, and scripts
// written without spaces (Chinese, Japanese, Korean) as overlapping character bigrams.
#pragma once

#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/string_view.h"

namespace llive::memory {

// What a token is, so that embedders can weigh kinds differently.
enum class TokenKind {
  kWord,    // letters and digits of a spaced script, case-folded, accents removed
  kCjk,     // two adjacent CJK characters, or one CJK character standing alone
  kSymbol,  // one pictograph or symbol (emoji), kept so emoji-only text is searchable
};

// One token: its normalised text and the byte range [start, end) it came from in the input.
struct Token {
  absl::string_view text;
  TokenKind kind;
  int start;
  int end;
};

// Calls `emit` for each token of `text`, in order. Rules:
// - letters, digits and combining marks form words; words are NFKC-compatible decomposed,
//   case-folded and stripped of accents ("Café" -> "cafe");
// - a run of CJK characters (Han, Hiragana, Katakana, Hangul) gives its overlapping
//   bigrams ("東京都" -> "東京", "京都"); a run of one gives that character;
// - each pictograph/other symbol (category So, e.g. emoji) is a token of its own;
// - everything else separates tokens; bytes that are not valid UTF-8 are skipped.
// Words longer than 64 code points are cut there. Thread-safe (no shared state).
void SegmentText(absl::string_view text, absl::FunctionRef<void(const Token&)> emit);

// The tokens' texts, for tests and query building.
std::vector<std::string> SegmentTextToStrings(absl::string_view text);

// True for a CJK bigram whose characters are of different scripts (Han and kana, Hiragana and
// Katakana): in Japanese these mostly straddle a word boundary (a noun and its particle), so
// queries drop them when other terms remain.
bool IsMixedScriptBigram(absl::string_view token);

// True for a token made only of Hiragana: in Japanese mostly particles and inflections
// ("ます", "して"), which say how a sentence is built rather than what it is about.
bool IsHiraganaOnly(absl::string_view token);

// True when `text` is well-formed UTF-8.
bool IsValidUtf8(absl::string_view text);

}  // namespace llive::memory
