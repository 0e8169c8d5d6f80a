// Unicode token rules shared by the FTS5 tokenizer and the hashing embedder.
#include "memory/text_segmenter.h"

#include <utf8proc.h>

namespace llive::memory {
namespace {

constexpr int kMaxWordCodePoints = 64;

bool IsCjk(utf8proc_int32_t cp) {
  return (cp >= 0x3040 && cp <= 0x30FF) ||  // Hiragana, Katakana
         (cp >= 0x31F0 && cp <= 0x31FF) ||  // Katakana phonetic extensions
         (cp >= 0x3400 && cp <= 0x4DBF) ||  // CJK extension A
         (cp >= 0x4E00 && cp <= 0x9FFF) ||  // CJK unified ideographs
         (cp >= 0xF900 && cp <= 0xFAFF) ||  // CJK compatibility ideographs
         (cp >= 0xFF66 && cp <= 0xFF9D) ||  // half-width Katakana
         (cp >= 0x1100 && cp <= 0x11FF) ||  // Hangul Jamo
         (cp >= 0x3130 && cp <= 0x318F) ||  // Hangul compatibility Jamo
         (cp >= 0xAC00 && cp <= 0xD7AF) ||  // Hangul syllables
         (cp >= 0x20000 && cp <= 0x3FFFF);  // CJK extensions B and later
}

bool IsWordPart(utf8proc_category_t category) {
  switch (category) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return true;
    default:
      return false;
  }
}

void AppendUtf8(utf8proc_int32_t cp, std::string& out) {
  utf8proc_uint8_t buffer[4];
  utf8proc_ssize_t bytes = utf8proc_encode_char(cp, buffer);
  out.append(reinterpret_cast<const char*>(buffer), static_cast<size_t>(bytes));
}

// Appends the case-folded, accent-free compatibility decomposition of `cp` to `out`.
void AppendFolded(utf8proc_int32_t cp, std::string& out) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp));
    return;
  }
  utf8proc_int32_t decomposed[8];
  int boundclass = 0;
  utf8proc_ssize_t n = utf8proc_decompose_char(
      cp, decomposed, 8,
      static_cast<utf8proc_option_t>(UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_DECOMPOSE |
                                     UTF8PROC_STRIPMARK),
      &boundclass);
  if (n < 0 || n > 8) {
    AppendUtf8(cp, out);
    return;
  }
  for (utf8proc_ssize_t i = 0; i < n; ++i) AppendUtf8(decomposed[i], out);
}

struct CodePoint {
  utf8proc_int32_t value;
  int start;
  int end;
};

}  // namespace

void SegmentText(absl::string_view text, absl::FunctionRef<void(const Token&)> emit) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  const auto size = static_cast<utf8proc_ssize_t>(text.size());
  std::string word;
  int word_start = -1, word_end = 0, word_length = 0;
  CodePoint cjk_previous{-1, 0, 0};
  bool cjk_run_emitted = false;
  std::string scratch;

  auto flush_word = [&] {
    if (word_start >= 0 && !word.empty()) {
      emit(Token{word, TokenKind::kWord, word_start, word_end});
    }
    word.clear();
    word_start = -1;
    word_length = 0;
  };
  auto flush_cjk = [&] {
    if (cjk_previous.value >= 0 && !cjk_run_emitted) {
      scratch.clear();
      AppendUtf8(cjk_previous.value, scratch);
      emit(Token{scratch, TokenKind::kCjk, cjk_previous.start, cjk_previous.end});
    }
    cjk_previous.value = -1;
    cjk_run_emitted = false;
  };

  utf8proc_ssize_t position = 0;
  while (position < size) {
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t length = 1;
    if (bytes[position] < 0x80) {
      // ASCII (most text): letters and digits make words and nothing else is a token, which is
      // what utf8proc's categories say of these code points, without the table lookups.
      cp = bytes[position];
      position += 1;
      const bool word_part =
          (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || (cp >= '0' && cp <= '9');
      flush_cjk();
      if (!word_part) {
        flush_word();
        continue;
      }
      if (word_length >= kMaxWordCodePoints) continue;
      if (word_start < 0) word_start = static_cast<int>(position - 1);
      word_end = static_cast<int>(position);
      ++word_length;
      word.push_back(static_cast<char>(cp >= 'A' && cp <= 'Z' ? cp + ('a' - 'A') : cp));
      continue;
    }
    length = utf8proc_iterate(bytes + position, size - position, &cp);
    if (length <= 0) {  // invalid byte: a separator
      flush_word();
      flush_cjk();
      position += 1;
      continue;
    }
    const int start = static_cast<int>(position), end = static_cast<int>(position + length);
    position += length;
    if (IsCjk(cp)) {
      flush_word();
      if (cjk_previous.value >= 0) {
        scratch.clear();
        AppendUtf8(cjk_previous.value, scratch);
        AppendUtf8(cp, scratch);
        emit(Token{scratch, TokenKind::kCjk, cjk_previous.start, end});
        cjk_run_emitted = true;
      }
      cjk_previous = CodePoint{cp, start, end};
      continue;
    }
    flush_cjk();
    utf8proc_category_t category = utf8proc_category(cp);
    if (IsWordPart(category)) {
      if (word_length >= kMaxWordCodePoints) continue;
      if (word_start < 0) word_start = start;
      word_end = end;
      ++word_length;
      AppendFolded(cp, word);
      continue;
    }
    flush_word();
    if (category == UTF8PROC_CATEGORY_SO) {
      scratch.clear();
      AppendUtf8(cp, scratch);
      emit(Token{scratch, TokenKind::kSymbol, start, end});
    }
  }
  flush_word();
  flush_cjk();
}

std::vector<std::string> SegmentTextToStrings(absl::string_view text) {
  std::vector<std::string> tokens;
  SegmentText(text, [&](const Token& token) { tokens.emplace_back(token.text); });
  return tokens;
}

namespace {

enum class CjkScript { kOther, kHan, kHiragana, kKatakana, kHangul };

CjkScript ScriptOf(utf8proc_int32_t cp) {
  if (cp >= 0x3040 && cp <= 0x309F) return CjkScript::kHiragana;
  if ((cp >= 0x30A0 && cp <= 0x30FF) || (cp >= 0x31F0 && cp <= 0x31FF) ||
      (cp >= 0xFF66 && cp <= 0xFF9D)) {
    return CjkScript::kKatakana;
  }
  if ((cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3130 && cp <= 0x318F) ||
      (cp >= 0xAC00 && cp <= 0xD7AF)) {
    return CjkScript::kHangul;
  }
  if (IsCjk(cp)) return CjkScript::kHan;
  return CjkScript::kOther;
}

}  // namespace

bool IsMixedScriptBigram(absl::string_view token) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(token.data());
  const auto size = static_cast<utf8proc_ssize_t>(token.size());
  utf8proc_int32_t first = 0, second = 0;
  const utf8proc_ssize_t length = utf8proc_iterate(bytes, size, &first);
  if (length <= 0 || length >= size) return false;
  const utf8proc_ssize_t rest = utf8proc_iterate(bytes + length, size - length, &second);
  if (rest <= 0 || length + rest != size) return false;
  const CjkScript a = ScriptOf(first), b = ScriptOf(second);
  return a != CjkScript::kOther && b != CjkScript::kOther && a != b;
}

bool IsHiraganaOnly(absl::string_view token) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(token.data());
  const auto size = static_cast<utf8proc_ssize_t>(token.size());
  utf8proc_ssize_t position = 0;
  while (position < size) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t length = utf8proc_iterate(bytes + position, size - position, &cp);
    if (length <= 0 || ScriptOf(cp) != CjkScript::kHiragana) return false;
    position += length;
  }
  return size > 0;
}

bool IsValidUtf8(absl::string_view text) {
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(text.data());
  const auto size = static_cast<utf8proc_ssize_t>(text.size());
  utf8proc_ssize_t position = 0;
  while (position < size) {
    if (bytes[position] < 0x80) {  // ASCII is valid on its own
      ++position;
      continue;
    }
    utf8proc_int32_t cp = 0;
    utf8proc_ssize_t length = utf8proc_iterate(bytes + position, size - position, &cp);
    if (length <= 0) return false;
    position += length;
  }
  return true;
}

}  // namespace llive::memory
