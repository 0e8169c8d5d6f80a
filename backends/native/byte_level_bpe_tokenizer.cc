// Byte-level BPE: added-token splitting, NFC (utf8proc), pre-tokenization (PCRE2, JIT),
// byte-level mapping and rank-ordered merges.
#include "backends/native/byte_level_bpe_tokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utf8proc.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <queue>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "backends/native/utf8.h"
#include "nlohmann/json.hpp"

namespace llive::backends::native {
namespace {

// GPT-2's table: printable Latin-1 bytes stand for themselves, the other 68 bytes take the
// code points from 256 upward, in byte order.
struct ByteLevelTable {
  std::array<char32_t, 256> char_of_byte{};
  std::array<int16_t, 324> byte_of_char{};  // indexed by code point < 324

  ByteLevelTable() {
    byte_of_char.fill(-1);
    char32_t next = 256;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
      char_of_byte[b] = printable ? static_cast<char32_t>(b) : next++;
      byte_of_char[char_of_byte[b]] = static_cast<int16_t>(b);
    }
  }
};

const ByteLevelTable& Table() {
  static const ByteLevelTable table;
  return table;
}

// JavaScript's meaning of \s, \d and \w (what @huggingface/tokenizers runs), for PCRE2,
// whose Unicode mode would widen them (\s to U+0085 and U+180E, \d to every Nd digit).
constexpr absl::string_view kJsSpace =
    R"(\t\n\x{0B}\f\r\x{20}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F})"
    R"(\x{3000}\x{FEFF})";
constexpr absl::string_view kJsDigit = "0-9";
constexpr absl::string_view kJsWord = "A-Za-z0-9_";

absl::StatusOr<std::string> TranslatePattern(absl::string_view pattern) {
  std::string out;
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      char e = pattern[++i];
      absl::string_view set;
      bool negated = e == 'S' || e == 'D' || e == 'W';
      if (e == 's' || e == 'S') set = kJsSpace;
      if (e == 'd' || e == 'D') set = kJsDigit;
      if (e == 'w' || e == 'W') set = kJsWord;
      if (set.empty()) {
        out += c;
        out += e;
      } else if (in_class) {
        if (negated) {
          return absl::InvalidArgumentError(absl::StrCat(
              "the pre-tokenizer pattern uses \\", std::string(1, e), " inside a [...] class"));
        }
        out.append(set.data(), set.size());
      } else {
        absl::StrAppend(&out, negated ? "[^" : "[", set, "]");
      }
      continue;
    }
    if (c == '[' && !in_class) {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];
      continue;
    }
    if (c == ']' && in_class) in_class = false;
    out += c;
  }
  return out;
}

struct CodeDeleter {
  void operator()(pcre2_code* code) const { pcre2_code_free(code); }
};
struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

// Added tokens, matched leftmost-then-longest over bytes.
class TokenTrie {
 public:
  TokenTrie() : nodes_(1) { starts_.fill(false); }

  void Add(absl::string_view content, int32_t id) {
    if (content.empty()) return;
    starts_[static_cast<uint8_t>(content[0])] = true;
    int32_t node = 0;
    for (char c : content) {
      int32_t child = Child(node, static_cast<uint8_t>(c));
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_[node].children.emplace_back(static_cast<uint8_t>(c), child);
        nodes_.emplace_back();
      }
      node = child;
    }
    nodes_[node].id = id;
  }

  bool empty() const { return nodes_.size() == 1; }

  // Calls on_text(view) for the text between tokens and on_token(id) for each token.
  template <typename OnText, typename OnToken>
  void Split(absl::string_view text, OnText on_text, OnToken on_token) const {
    size_t start = 0, i = 0;
    while (i < text.size()) {
      int32_t found = -1;
      size_t found_length = 0;
      if (starts_[static_cast<uint8_t>(text[i])]) {
        int32_t node = 0;
        for (size_t j = i; j < text.size(); ++j) {
          node = Child(node, static_cast<uint8_t>(text[j]));
          if (node < 0) break;
          if (nodes_[node].id >= 0) {
            found = nodes_[node].id;
            found_length = j + 1 - i;
          }
        }
      }
      if (found < 0) {
        ++i;
        continue;
      }
      if (i > start) on_text(text.substr(start, i - start));
      on_token(found);
      i += found_length;
      start = i;
    }
    if (start < text.size()) on_text(text.substr(start));
  }

 private:
  struct Node {
    std::vector<std::pair<uint8_t, int32_t>> children;
    int32_t id = -1;
  };
  int32_t Child(int32_t node, uint8_t byte) const {
    for (const auto& [b, child] : nodes_[node].children) {
      if (b == byte) return child;
    }
    return -1;
  }

  std::vector<Node> nodes_;
  std::array<bool, 256> starts_;
};

uint64_t PairKey(int32_t left, int32_t right) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right);
}

}  // namespace

int ByteOfByteLevelChar(char32_t c) {
  return c < Table().byte_of_char.size() ? Table().byte_of_char[c] : -1;
}

char32_t ByteLevelCharOfByte(uint8_t byte) { return Table().char_of_byte[byte]; }

std::string DecodeByteLevel(absl::string_view token_text) {
  std::string out;
  size_t i = 0;
  while (i < token_text.size()) {
    size_t length = ValidUtf8CharLength(token_text, i);
    if (length == 0) {  // not UTF-8: keep the byte as it is
      out += token_text[i++];
      continue;
    }
    int byte = ByteOfByteLevelChar(DecodeUtf8Char(token_text.substr(i, length)));
    if (byte >= 0) {
      out += static_cast<char>(byte);
    } else {
      out.append(token_text.data() + i, length);
    }
    i += length;
  }
  return out;
}

std::string EncodeByteLevel(absl::string_view bytes) {
  std::string out;
  for (char c : bytes) AppendUtf8(ByteLevelCharOfByte(static_cast<uint8_t>(c)), out);
  return out;
}

struct ByteLevelBpeTokenizer::State {
  std::vector<std::string> token_bytes;   // by id; empty for unused ids
  std::array<int32_t, 256> byte_token{};  // -1 for a byte the vocabulary lacks
  bool missing_bytes = false;
  struct Merge {
    int32_t rank;
    int32_t result;
  };
  absl::flat_hash_map<uint64_t, Merge> merges;
  TokenTrie raw_added;
  TokenTrie normalized_added;
  bool nfc = false;
  bool add_prefix_space = false;
  std::unique_ptr<pcre2_code, CodeDeleter> pattern;
  int32_t bos_id = -1;
  int32_t eos_id = -1;
  uint64_t instance_id = 0;  // distinct for every tokenizer created in this process

  void AppendWordIds(absl::string_view word, std::vector<int32_t>& out) const;
  // These two set `error` and append no more when the pre-tokenizer pattern cannot be matched
  // (PCRE2's match, depth or heap limit), rather than drop the rest of the text.
  void AppendPieceIds(absl::string_view piece, pcre2_match_data* match, std::vector<int32_t>& out,
                      absl::Status& error) const;
  void AppendNormalizedIds(absl::string_view text, pcre2_match_data* match,
                           std::vector<int32_t>& out, absl::Status& error) const;
};

// BPE over one pre-tokenized word: start from its bytes, repeatedly merge the adjacent
// pair of lowest rank (leftmost on ties). Symbols form a linked list over the word's byte
// positions; a merged symbol lives at its left position.
void ByteLevelBpeTokenizer::State::AppendWordIds(absl::string_view word,
                                                 std::vector<int32_t>& out) const {
  size_t n = word.size();
  if (n == 0) return;
  if (n == 1) {
    out.push_back(byte_token[static_cast<uint8_t>(word[0])]);
    return;
  }
  // Words repeat (" the", "\n", "    "), so each thread keeps the ids of words it has seen
  // for the tokenizer it used last. Keyed by an id, not an address, so that a tokenizer
  // allocated where a destroyed one was never sees the old entries.
  struct WordCache {
    uint64_t owner = 0;
    absl::flat_hash_map<std::string, std::vector<int32_t>> ids;
  };
  thread_local WordCache cache;
  constexpr size_t kCachedWordBytes = 48, kCacheEntries = 1 << 16;
  bool cacheable = n <= kCachedWordBytes;
  if (cacheable) {
    if (cache.owner != instance_id || cache.ids.size() >= kCacheEntries) {
      cache.ids.clear();
      cache.owner = instance_id;
    }
    auto hit = cache.ids.find(word);
    if (hit != cache.ids.end()) {
      out.insert(out.end(), hit->second.begin(), hit->second.end());
      return;
    }
  }
  size_t first_out = out.size();
  constexpr int32_t kNoMerge = INT32_MAX;
  thread_local std::vector<int32_t> ids, next, previous, rank;
  ids.resize(n);
  next.resize(n);
  previous.resize(n);
  rank.resize(n);
  for (size_t i = 0; i < n; ++i) {
    ids[i] = byte_token[static_cast<uint8_t>(word[i])];
    next[i] = i + 1 < n ? static_cast<int32_t>(i + 1) : -1;
    previous[i] = static_cast<int32_t>(i) - 1;
  }
  // rank[i]: the rank of merging symbol i with its successor, kNoMerge when none.
  auto rank_of = [&](int32_t left) {
    if (left < 0 || next[left] < 0) return kNoMerge;
    auto it = merges.find(PairKey(ids[left], ids[next[left]]));
    return it == merges.end() ? kNoMerge : it->second.rank;
  };
  auto merge = [&](int32_t left) {
    int32_t right = next[left];
    ids[left] = merges.find(PairKey(ids[left], ids[right]))->second.result;
    ids[right] = -1;  // marks heap candidates that start at `right` stale
    next[left] = next[right];
    if (next[right] >= 0) previous[next[right]] = left;
  };
  if (n <= 128) {
    // Short words: keep each pair's rank and scan for the best; no heap needed.
    for (size_t i = 0; i < n; ++i) rank[i] = rank_of(static_cast<int32_t>(i));
    while (true) {
      int32_t best = -1;
      int32_t best_rank = kNoMerge;
      for (int32_t i = 0; i >= 0; i = next[i]) {
        if (rank[i] < best_rank) {
          best_rank = rank[i];
          best = i;
        }
      }
      if (best < 0) break;
      merge(best);
      rank[best] = rank_of(best);
      if (previous[best] >= 0) rank[previous[best]] = rank_of(previous[best]);
    }
  } else {
    // Long words (runs of spaces or symbols): a heap of candidate pairs, stale ones skipped.
    struct Candidate {
      int32_t rank;
      int32_t left;
      int32_t left_id;
      int32_t right_id;
      bool operator>(const Candidate& other) const {
        return rank != other.rank ? rank > other.rank : left > other.left;
      }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<Candidate>> heap;
    auto consider = [&](int32_t left) {
      int32_t r = rank_of(left);
      if (r != kNoMerge) heap.push({r, left, ids[left], ids[next[left]]});
    };
    for (size_t i = 0; i + 1 < n; ++i) consider(static_cast<int32_t>(i));
    while (!heap.empty()) {
      Candidate top = heap.top();
      heap.pop();
      int32_t right = next[top.left];
      if (ids[top.left] != top.left_id || right < 0 || ids[right] != top.right_id) continue;
      merge(top.left);
      consider(previous[top.left]);
      consider(top.left);
    }
  }
  for (int32_t i = 0; i >= 0; i = next[i]) out.push_back(ids[i]);
  if (cacheable) {
    cache.ids.emplace(std::string(word), std::vector<int32_t>(out.begin() + first_out, out.end()));
  }
}

// One run of valid UTF-8 after normalization: pre-tokenize, then BPE each word. The split is
// "Isolated" as in Hugging Face tokenizers: each match is a word, and so is each stretch of
// text between matches (or before the first, or after the last), so no text is dropped
// whatever the pattern covers.
void ByteLevelBpeTokenizer::State::AppendPieceIds(absl::string_view piece, pcre2_match_data* match,
                                                  std::vector<int32_t>& out,
                                                  absl::Status& error) const {
  std::string prefixed;
  if (add_prefix_space && !piece.empty() && piece[0] != ' ') {
    prefixed = absl::StrCat(" ", piece);
    piece = prefixed;
  }
  if (!pattern) {
    AppendWordIds(piece, out);
    return;
  }
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
  size_t consumed = 0;  // text before this is in words
  size_t search = 0;    // where the next match may start
  while (search < piece.size()) {
    int rc = pcre2_jit_match(pattern.get(), subject, piece.size(), search, 0, match, nullptr);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT || rc == PCRE2_ERROR_JIT_BADOPTION) {
      rc = pcre2_match(pattern.get(), subject, piece.size(), search, PCRE2_NO_UTF_CHECK, match,
                       nullptr);
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      error = absl::ResourceExhaustedError(absl::StrCat(
          "the tokenizer's pre-tokenizer pattern could not be matched at byte ", search, " of a ",
          piece.size(), "-byte stretch of text: ", reinterpret_cast<const char*>(message)));
      return;
    }
    PCRE2_SIZE* vector = pcre2_get_ovector_pointer(match);
    const size_t begin = vector[0], end = vector[1];
    if (end == begin) {
      // An empty match: search on from the next character, as JavaScript's global match does;
      // the skipped character stays with the text between matches.
      search = begin + std::max<size_t>(1, ValidUtf8CharLength(piece, begin));
      continue;
    }
    if (begin > consumed) AppendWordIds(piece.substr(consumed, begin - consumed), out);
    AppendWordIds(piece.substr(begin, end - begin), out);
    consumed = search = end;
  }
  if (consumed < piece.size()) AppendWordIds(piece.substr(consumed), out);
}

void ByteLevelBpeTokenizer::State::AppendNormalizedIds(absl::string_view text,
                                                       pcre2_match_data* match,
                                                       std::vector<int32_t>& out,
                                                       absl::Status& error) const {
  // Split into valid UTF-8 runs (normalized, matched) and invalid bytes (their own piece).
  size_t i = 0;
  while (i < text.size() && error.ok()) {
    size_t valid = ValidUtf8PrefixLength(text.substr(i));
    if (valid == 0) {
      size_t j = i;
      while (j < text.size() && ValidUtf8CharLength(text, j) == 0) ++j;
      AppendWordIds(text.substr(i, j - i), out);
      i = j;
      continue;
    }
    absl::string_view run = text.substr(i, valid);
    i += valid;
    std::string normalized_storage;
    // Code points below U+0300 are all NFC-stable and never compose with a neighbour, so
    // text whose bytes are all below 0xCC needs no normalization.
    if (nfc && std::any_of(run.begin(), run.end(),
                           [](char c) { return static_cast<uint8_t>(c) >= 0xcc; })) {
      utf8proc_uint8_t* normalized = nullptr;
      utf8proc_ssize_t length =
          utf8proc_map(reinterpret_cast<const utf8proc_uint8_t*>(run.data()),
                       static_cast<utf8proc_ssize_t>(run.size()), &normalized,
                       static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE));
      if (length >= 0) {
        normalized_storage.assign(reinterpret_cast<const char*>(normalized),
                                  static_cast<size_t>(length));
        run = normalized_storage;
      }
      std::free(normalized);
    }
    if (normalized_added.empty()) {
      AppendPieceIds(run, match, out, error);
    } else {
      normalized_added.Split(
          run,
          [&](absl::string_view piece) {
            if (error.ok()) AppendPieceIds(piece, match, out, error);
          },
          [&](int32_t id) { out.push_back(id); });
    }
  }
}

ByteLevelBpeTokenizer::ByteLevelBpeTokenizer(std::unique_ptr<State> state)
    : state_(std::move(state)) {}
ByteLevelBpeTokenizer::~ByteLevelBpeTokenizer() = default;

absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>> ByteLevelBpeTokenizer::Create(
    ByteLevelBpeSpec spec, absl::string_view source) {
  auto state = std::make_unique<State>();
  auto corrupt = [&source](absl::string_view problem) {
    return absl::DataLossError(absl::StrCat(source, ": ", problem));
  };
  // Ids leave few holes in real vocabularies; bounding them by the entry count keeps a
  // corrupt id from allocating gigabytes.
  const int64_t kMaxVocabulary = std::min<int64_t>(
      16 << 20, 16 * static_cast<int64_t>(spec.vocab.size() + spec.added_tokens.size()) + 65536);
  absl::flat_hash_map<std::string, int32_t> by_text;
  by_text.reserve(spec.vocab.size());
  for (const auto& [text, id] : spec.vocab) {
    if (id < 0 || id >= kMaxVocabulary) {
      return corrupt(
          absl::StrCat("token \"", text, "\" has id ", id, ", outside [0, ", kMaxVocabulary, ")"));
    }
    if (static_cast<size_t>(id) >= state->token_bytes.size()) {
      state->token_bytes.resize(static_cast<size_t>(id) + 1);
    }
    state->token_bytes[id] = DecodeByteLevel(text);
    by_text[text] = id;
  }
  // Vocabularies trained on UTF-8 text may lack bytes that UTF-8 never uses (GPT-NeoX has
  // no 0xC0, 0xC1, 0xF5-0xFF); text containing those is refused at encoding time.
  int known_bytes = 0;
  for (int b = 0; b < 256; ++b) {
    std::string text;
    AppendUtf8(ByteLevelCharOfByte(static_cast<uint8_t>(b)), text);
    auto it = by_text.find(text);
    state->byte_token[b] = it == by_text.end() ? -1 : it->second;
    if (it == by_text.end()) {
      state->missing_bytes = true;
    } else {
      ++known_bytes;
    }
  }
  if (known_bytes < 128) {
    return corrupt(absl::StrCat("the vocabulary has tokens for only ", known_bytes,
                                " of the 256 bytes, so it is not a byte-level BPE vocabulary"));
  }
  state->merges.reserve(spec.merges.size());
  for (size_t rank = 0; rank < spec.merges.size(); ++rank) {
    const auto& [left, right] = spec.merges[rank];
    const std::string merged = left + right;
    for (const std::string* part : {&left, &right, &merged}) {
      if (by_text.find(*part) == by_text.end()) {
        return corrupt(absl::StrCat("merge ", rank, " (\"", left, " ", right, "\") names token \"",
                                    *part, "\", which is not in the vocabulary"));
      }
    }
    // A pair listed twice keeps its first (lowest) rank.
    state->merges.try_emplace(PairKey(by_text[left], by_text[right]),
                              State::Merge{static_cast<int32_t>(rank), by_text[merged]});
  }
  for (const ByteLevelBpeSpec::AddedToken& added : spec.added_tokens) {
    if (added.id < 0 || added.id >= kMaxVocabulary) {
      return corrupt(absl::StrCat("added token \"", added.content, "\" has id ", added.id));
    }
    if (static_cast<size_t>(added.id) >= state->token_bytes.size()) {
      state->token_bytes.resize(static_cast<size_t>(added.id) + 1);
    }
    state->token_bytes[added.id] = added.content;
    (added.normalized && spec.nfc ? state->normalized_added : state->raw_added)
        .Add(added.content, added.id);
  }
  static std::atomic<uint64_t> next_instance_id{1};
  state->instance_id = next_instance_id.fetch_add(1);
  state->nfc = spec.nfc;
  state->add_prefix_space = spec.add_prefix_space;
  state->bos_id = spec.bos_id;
  state->eos_id = spec.eos_id;
  if (!spec.pattern.empty()) {
    absl::StatusOr<std::string> translated = TranslatePattern(spec.pattern);
    if (!translated.ok()) return corrupt(translated.status().message());
    int error = 0;
    PCRE2_SIZE error_offset = 0;
    pcre2_code* code =
        pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated->data()), translated->size(),
                      PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK, &error, &error_offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error, message, sizeof(message));
      return corrupt(absl::StrCat("the pre-tokenizer pattern does not compile at offset ",
                                  error_offset, ": ", reinterpret_cast<const char*>(message)));
    }
    state->pattern.reset(code);
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);  // without JIT, matching falls back
  }
  return std::unique_ptr<ByteLevelBpeTokenizer>(new ByteLevelBpeTokenizer(std::move(state)));
}

absl::StatusOr<std::vector<int32_t>> ByteLevelBpeTokenizer::Encode(absl::string_view text) const {
  if (state_->missing_bytes) {
    for (size_t i = 0; i < text.size(); ++i) {
      if (state_->byte_token[static_cast<uint8_t>(text[i])] < 0) {
        return absl::InvalidArgumentError(absl::StrCat(
            "byte 0x", absl::Hex(static_cast<uint8_t>(text[i])), " at offset ", i,
            " has no token in this vocabulary (it never occurs in valid UTF-8); pass UTF-8 text"));
      }
    }
  }
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> match;
  if (state_->pattern) {
    match.reset(pcre2_match_data_create_from_pattern(state_->pattern.get(), nullptr));
  }
  absl::Status error;
  if (state_->raw_added.empty()) {
    state_->AppendNormalizedIds(text, match.get(), out, error);
  } else {
    state_->raw_added.Split(
        text,
        [&](absl::string_view piece) {
          if (error.ok()) state_->AppendNormalizedIds(piece, match.get(), out, error);
        },
        [&](int32_t id) { out.push_back(id); });
  }
  if (!error.ok()) return error;
  // NFC can compose bytes the input did not hold (e + U+0301 is 0xC3 0xA9), and the prefix
  // space is a byte too; one the vocabulary lacks came out as id -1.
  if (state_->missing_bytes && std::find(out.begin(), out.end(), -1) != out.end()) {
    return absl::InvalidArgumentError(
        "after NFC normalization or the added prefix space the text holds a byte that has no "
        "token in this vocabulary");
  }
  return out;
}

std::string ByteLevelBpeTokenizer::Decode(absl::Span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id >= 0 && static_cast<size_t>(id) < state_->token_bytes.size()) {
      out += state_->token_bytes[id];
    }
  }
  return out;
}

std::string ByteLevelBpeTokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= state_->token_bytes.size()) return "";
  return state_->token_bytes[id];
}

int32_t ByteLevelBpeTokenizer::vocab_size() const {
  return static_cast<int32_t>(state_->token_bytes.size());
}
int32_t ByteLevelBpeTokenizer::bos_id() const { return state_->bos_id; }
int32_t ByteLevelBpeTokenizer::eos_id() const { return state_->eos_id; }

namespace {

// Fields of untrusted JSON read without exceptions: a missing or mistyped field is the
// default.
std::string StringField(const nlohmann::json& node, const char* key) {
  auto it = node.find(key);
  return it != node.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool BoolField(const nlohmann::json& node, const char* key, bool otherwise) {
  auto it = node.find(key);
  return it != node.end() && it->is_boolean() ? it->get<bool>() : otherwise;
}

// Reads the pre-tokenizer of a tokenizer.json into `spec`: ByteLevel (with its own GPT-2
// regex unless use_regex is false), optionally after a Split by regex.
absl::Status ReadPreTokenizer(const nlohmann::json& node, ByteLevelBpeSpec& spec, bool& byte_level,
                              int depth = 0) {
  if (!node.is_object() || depth > 4) {
    return absl::InvalidArgumentError("a pre_tokenizer that is not an object or nests deeply");
  }
  std::string type = StringField(node, "type");
  if (type == "Sequence") {
    auto list = node.find("pretokenizers");
    if (list == node.end() || !list->is_array()) {
      return absl::InvalidArgumentError("a Sequence pre_tokenizer has no pretokenizers list");
    }
    spec.pattern.clear();
    for (const nlohmann::json& child : *list) {
      if (absl::Status s = ReadPreTokenizer(child, spec, byte_level, depth + 1); !s.ok()) {
        return s;
      }
    }
    return absl::OkStatus();
  }
  if (type == "ByteLevel") {
    byte_level = true;
    spec.add_prefix_space = BoolField(node, "add_prefix_space", false);
    bool use_regex = BoolField(node, "use_regex", true);
    if (use_regex) {
      if (!spec.pattern.empty() && spec.pattern != kGpt2PreTokenizerPattern) {
        return absl::InvalidArgumentError("a Split pattern followed by a regex ByteLevel");
      }
      spec.pattern = std::string(kGpt2PreTokenizerPattern);
    }
    return absl::OkStatus();
  }
  if (type == "Split") {
    const nlohmann::json* regex = nullptr;
    if (node.contains("pattern") && node["pattern"].is_object() &&
        node["pattern"].contains("Regex") && node["pattern"]["Regex"].is_string()) {
      regex = &node["pattern"]["Regex"];
    }
    std::string behavior = StringField(node, "behavior");
    bool invert = BoolField(node, "invert", false);
    if (regex == nullptr || behavior != "Isolated" || invert) {
      return absl::InvalidArgumentError("a Split pre_tokenizer other than an isolated regex split");
    }
    spec.pattern = regex->get<std::string>();
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("the pre_tokenizer type \"", type, "\""));
}

absl::Status ReadNormalizer(const nlohmann::json& node, ByteLevelBpeSpec& spec, int depth = 0) {
  if (node.is_null()) return absl::OkStatus();
  if (!node.is_object() || depth > 4) {
    return absl::InvalidArgumentError("a normalizer that is not an object or nests deeply");
  }
  std::string type = StringField(node, "type");
  if (type == "NFC") {
    spec.nfc = true;
    return absl::OkStatus();
  }
  if (type == "Sequence" && node.contains("normalizers") && node["normalizers"].is_array()) {
    for (const nlohmann::json& child : node["normalizers"]) {
      if (absl::Status s = ReadNormalizer(child, spec, depth + 1); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("the normalizer type \"", type, "\""));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ByteLevelBpeTokenizer>> ByteLevelBpeTokenizer::FromTokenizerJson(
    absl::string_view json_text, absl::string_view source) {
  nlohmann::json json = nlohmann::json::parse(json_text.begin(), json_text.end(), nullptr, false);
  if (json.is_discarded() || !json.is_object()) {
    return absl::DataLossError(absl::StrCat(source, ": not a JSON object"));
  }
  auto unsupported = [&source](absl::string_view what) {
    return absl::InvalidArgumentError(
        absl::StrCat(source, ": llive reads byte-level BPE tokenizer.json files (GPT-2 style); ",
                     "this one has ", what));
  };
  auto corrupt = [&source](absl::string_view what) {
    return absl::DataLossError(absl::StrCat(source, ": not a valid tokenizer.json: ", what));
  };
  auto model = json.find("model");
  if (model == json.end() || !model->is_object()) return corrupt("there is no \"model\" object");
  std::string model_type = model->contains("type") ? StringField(*model, "type") : "BPE";
  if (model_type != "BPE") return unsupported(absl::StrCat("model type \"", model_type, "\""));
  for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model->contains(key) && !(*model)[key].is_null() &&
        !((*model)[key].is_string() && (*model)[key].get<std::string>().empty())) {
      return unsupported(absl::StrCat("a ", key));
    }
  }
  if (BoolField(*model, "byte_fallback", false)) {
    return unsupported("byte_fallback (a SentencePiece-style vocabulary)");
  }

  ByteLevelBpeSpec spec;
  spec.pattern.clear();
  bool byte_level = false;
  if (json.contains("pre_tokenizer") && !json["pre_tokenizer"].is_null()) {
    if (absl::Status s = ReadPreTokenizer(json["pre_tokenizer"], spec, byte_level); !s.ok()) {
      return unsupported(s.message());
    }
  }
  if (!byte_level) return unsupported("no ByteLevel pre_tokenizer");
  if (json.contains("normalizer")) {
    if (absl::Status s = ReadNormalizer(json["normalizer"], spec); !s.ok()) {
      return unsupported(s.message());
    }
  }

  auto vocab = model->find("vocab");
  if (vocab == model->end() || !vocab->is_object()) return corrupt("model.vocab is not an object");
  spec.vocab.reserve(vocab->size());
  for (const auto& [text, id] : vocab->items()) {
    if (!id.is_number_integer()) return corrupt(absl::StrCat("token \"", text, "\" has no id"));
    int64_t value = id.get<int64_t>();
    if (value < 0 || value > INT32_MAX) {
      return corrupt(absl::StrCat("token \"", text, "\" has id ", value));
    }
    spec.vocab.emplace_back(text, static_cast<int32_t>(value));
  }
  auto merges = model->find("merges");
  if (merges == model->end() || !merges->is_array()) {
    return corrupt("model.merges is not an array");
  }
  spec.merges.reserve(merges->size());
  for (const nlohmann::json& merge : *merges) {
    if (merge.is_string()) {
      const std::string& text = merge.get_ref<const std::string&>();
      size_t space = text.find(' ', 1);
      if (space == std::string::npos) {
        return corrupt(absl::StrCat("merge \"", text, "\" is not two tokens"));
      }
      size_t end = text.find(' ', space + 1);
      spec.merges.emplace_back(text.substr(0, space), text.substr(space + 1, end - space - 1));
    } else if (merge.is_array() && merge.size() == 2 && merge[0].is_string() &&
               merge[1].is_string()) {
      spec.merges.emplace_back(merge[0].get<std::string>(), merge[1].get<std::string>());
    } else {
      return corrupt("a merge is neither \"a b\" nor [\"a\", \"b\"]");
    }
  }
  if (json.contains("added_tokens") && json["added_tokens"].is_array()) {
    for (const nlohmann::json& token : json["added_tokens"]) {
      if (!token.is_object() || !token.contains("id") || !token["id"].is_number_integer() ||
          !token.contains("content") || !token["content"].is_string()) {
        return corrupt("an added token lacks an integer id or a string content");
      }
      int64_t id = token["id"].get<int64_t>();
      if (id < 0 || id > INT32_MAX) return corrupt(absl::StrCat("an added token has id ", id));
      ByteLevelBpeSpec::AddedToken added;
      added.id = static_cast<int32_t>(id);
      added.content = token["content"].get<std::string>();
      added.special = BoolField(token, "special", false);
      added.normalized = BoolField(token, "normalized", !added.special);
      for (const char* flag : {"lstrip", "rstrip", "single_word"}) {
        if (BoolField(token, flag, false)) {
          return unsupported(absl::StrCat("added token \"", added.content, "\" with ", flag));
        }
      }
      if (added.special && (added.content == "<|endoftext|>" || added.content == "</s>")) {
        spec.eos_id = added.id;
      }
      if (added.special && (added.content == "<|startoftext|>" || added.content == "<s>")) {
        spec.bos_id = added.id;
      }
      spec.added_tokens.push_back(std::move(added));
    }
  }
  return Create(std::move(spec), source);
}

}  // namespace llive::backends::native
