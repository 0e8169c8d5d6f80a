// A deterministic multilingual corpus for tokenizer tests and benchmarks: English prose,
// source code, Japanese, emoji sequences, combining marks (including text that NFC
// changes), and random code points from many scripts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace llive::testing {

class CorpusRandom {
 public:
  explicit CorpusRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next() {  // splitmix64
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  template <typename T, size_t N>
  const T& Pick(const T (&items)[N]) {
    return items[Below(N)];
  }

 private:
  uint64_t state_;
};

inline void AppendCodePoint(char32_t c, std::string& out) {
  if (c < 0x80) {
    out += static_cast<char>(c);
  } else if (c < 0x800) {
    out += static_cast<char>(0xc0 | (c >> 6));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else if (c < 0x10000) {
    out += static_cast<char>(0xe0 | (c >> 12));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (c >> 18));
    out += static_cast<char>(0x80 | ((c >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((c >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (c & 0x3f));
  }
}

// Documents of about 1 KB each until `min_bytes` is reached.
inline std::vector<std::string> GenerateTokenizerCorpus(size_t min_bytes, uint64_t seed = 1) {
  static const char* const kWords[] = {
      "the",    "of",         "and",       "to",      "a",       "in",          "is",
      "it",     "you",        "that",      "he",      "was",     "for",         "on",
      "are",    "with",       "as",        "I",       "his",     "they",        "be",
      "at",     "one",        "have",      "this",    "from",    "or",          "had",
      "by",     "word",       "but",       "what",    "some",    "we",          "can",
      "memory", "recurrent",  "state",     "model",   "Mamba",   "tokenizer",   "agent",
      "London", "Tuesday",    "don't",     "it's",    "they're", "we've",       "I'm",
      "you'll", "she'd",      "naïve",     "café",    "résumé",  "Zürich",      "coöperate",
      "HTTP",   "JSON",       "GPU",       "x86-64",  "e-mail",  "co-operate",  "U.S.A.",
      "1,024",  "3.14159",    "2026",      "42nd",    "$19.99",  "50%",         "#1",
      "@user",  "snake_case", "CamelCase", "ALLCAPS", "O'Brien", "rock'n'roll", "well-known"};
  static const char* const kPunctuation[] = {".",   ",",  ";", ":", "!",  "?",  " -", " —",
                                             "...", "\"", "'", ")", " (", "!?", "’"};
  static const char* const kSpaces[] = {" ",   " ",    " ",      " ",      " ",
                                        "  ",  "\t",   "\n",     "\n\n",   " \n",
                                        "   ", "\r\n", "\u00a0", "\u3000", "\u2009"};
  static const char* const kCode[] = {
      "int main(int argc, char** argv) {\n    return 0;\n}\n",
      "def forward(self, x):\n        h = self.norm(x)\n        return x + self.mixer(h)\n",
      "for (size_t i = 0; i < n; ++i) {\n\t\tsum += a[i] * b[i];\n\t}\n",
      "if x != None and len(xs) >= 2:\n            print(f\"{x!r} -> {xs[-1]}\")\n",
      "const auto& [name, value] = *it;  // structured binding\n",
      "SELECT id, agent_id FROM events WHERE ts > ?1 ORDER BY ts DESC LIMIT 10;\n",
      "    {\"key\": [1, 2.5e-3, true, null], \"nested\": {\"a\": \"b\"}}\n",
      "#include <vector>\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n",
      "x = y ** 2 // 3 % 4 << 1 >> 2 & 0xFF | ~z ^ w\n",
      "                        deeply_indented_call(arg1, arg2)\n",
      "fn main() -> Result<(), Box<dyn Error>> { Ok(()) }\n",
      "<div class=\"row\"><a href=\"https://example.com/?q=1&r=2\">link</a></div>\n"};
  static const char* const kJapanese[] = {"吾輩は猫である。",
                                          "名前はまだ無い。",
                                          "東京都渋谷区",
                                          "メモリ中心のエージェント",
                                          "状態空間モデル",
                                          "ひらがなとカタカナ",
                                          "きょうは　いい　てんきですね。",
                                          "「こんにちは」と言った。",
                                          "ｱｲｳｴｵ（半角カナ）",
                                          "第３章、２０２６年",
                                          "漢字仮名交じり文",
                                          "ー〜・…"};
  static const char* const kEmoji[] = {"😀",
                                       "👍🏽",
                                       "👨‍👩‍👧‍👦",
                                       "🏳️‍🌈",
                                       "🇯🇵",
                                       "🇺🇸",
                                       "❤️",
                                       "✨",
                                       "🧠",
                                       "🤖",
                                       "☕",
                                       "👩🏻‍💻",
                                       "1️⃣",
                                       "🫠"};
  // Combining marks: decomposed forms that NFC composes, stacked marks, Hangul jamo, and
  // scripts whose marks NFC leaves alone.
  static const char* const kCombining[] = {"e\u0301",
                                           "a\u0308",
                                           "o\u0302\u0323",
                                           "n\u0303",
                                           "A\u030a",
                                           "c\u0327",
                                           "\u1100\u1161\u11a8",
                                           "\u1112\u1161\u11ab",
                                           "z\u0335\u0336\u0337",
                                           "\u0915\u093c",
                                           "\u05e9\u05c1",
                                           "\u0627\u0653",
                                           "i\u0307\u0301",
                                           "\u03b1\u0313\u0301",
                                           "q\u0307\u0323"};
  // Ranges of code points assigned long ago (Unicode 6 or earlier), so that the Unicode
  // tables of PCRE2, utf8proc and Node.js agree on them.
  static const char32_t kRanges[][2] = {
      {0x00a1, 0x00ff},   {0x0100, 0x024f},   {0x0250, 0x02af},   {0x0300, 0x036f},
      {0x0391, 0x03a1},   {0x03a3, 0x03ff},   {0x0400, 0x04ff},   {0x0531, 0x0556},
      {0x05d0, 0x05ea},   {0x0621, 0x063a},   {0x0641, 0x065e},   {0x0660, 0x0669},
      {0x0905, 0x0939},   {0x093c, 0x094d},   {0x0966, 0x096f},   {0x0995, 0x09a8},
      {0x0e01, 0x0e3a},   {0x0e3f, 0x0e5b},   {0x10d0, 0x10fa},   {0x1100, 0x1159},
      {0x1200, 0x1248},   {0x13a0, 0x13f4},   {0x1e00, 0x1eff},   {0x2010, 0x2027},
      {0x2030, 0x205e},   {0x20a0, 0x20b5},   {0x2100, 0x214f},   {0x2190, 0x22ff},
      {0x2500, 0x26ff},   {0x3001, 0x303f},   {0x3041, 0x3096},   {0x30a1, 0x30fa},
      {0x4e00, 0x9fa5},   {0xac00, 0xd7a3},   {0xff01, 0xff60},   {0x10000, 0x1000b},
      {0x10300, 0x1031e}, {0x10330, 0x1034a}, {0x1d400, 0x1d454}, {0x1f300, 0x1f5ff},
      {0x1f600, 0x1f64f}, {0x20000, 0x2a6d6}};

  CorpusRandom random(seed);
  std::vector<std::string> documents;
  size_t total = 0;
  while (total < min_bytes) {
    std::string doc;
    size_t kind = documents.size() % 6;
    while (doc.size() < 1024) {
      switch (kind) {
        case 0:  // English prose
          doc += random.Pick(kWords);
          doc += random.Below(6) == 0 ? random.Pick(kPunctuation) : "";
          doc += random.Pick(kSpaces);
          break;
        case 1:  // code
          doc += random.Pick(kCode);
          if (random.Below(3) == 0) doc.append(random.Below(20), ' ');
          break;
        case 2:  // Japanese, with some English
          doc += random.Pick(kJapanese);
          if (random.Below(4) == 0) {
            doc += std::string(" ") + random.Pick(kWords) + " ";
          }
          break;
        case 3:  // emoji in text
          doc += random.Pick(kEmoji);
          doc += random.Below(2) ? random.Pick(kSpaces) : random.Pick(kWords);
          break;
        case 4:  // combining marks
          doc += random.Pick(kCombining);
          doc += random.Below(3) == 0 ? random.Pick(kSpaces) : "";
          break;
        default: {  // random code points of many scripts, in short runs
          const auto& range = random.Pick(kRanges);
          size_t run = 1 + random.Below(6);
          for (size_t k = 0; k < run; ++k) {
            AppendCodePoint(range[0] + static_cast<char32_t>(random.Below(range[1] - range[0] + 1)),
                            doc);
          }
          if (random.Below(3) == 0) doc += random.Pick(kSpaces);
          break;
        }
      }
    }
    total += doc.size();
    documents.push_back(std::move(doc));
  }
  return documents;
}

}  // namespace llive::testing
