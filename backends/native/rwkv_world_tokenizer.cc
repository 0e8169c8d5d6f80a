// RWKV World: Python-literal vocabulary parsing and a byte trie for greedy longest match.
#include "backends/native/rwkv_world_tokenizer.h"

#include <array>
#include <charconv>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "backends/native/utf8.h"

namespace llive::backends::native {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads `digits` hex digits at text[i + 1 ...]; -1 when they are not all hex.
int64_t ReadHex(absl::string_view text, size_t i, size_t digits) {
  if (i + digits >= text.size()) return -1;
  int64_t value = 0;
  for (size_t k = 1; k <= digits; ++k) {
    int digit = HexValue(text[i + k]);
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}

// A Python str or bytes literal ('...', "...", b'...') to bytes (str as UTF-8).
absl::StatusOr<std::string> ParsePythonLiteral(absl::string_view literal) {
  bool bytes = false;
  if (!literal.empty() && (literal[0] == 'b' || literal[0] == 'B')) {
    bytes = true;
    literal.remove_prefix(1);
  }
  if (literal.size() < 2 || (literal[0] != '\'' && literal[0] != '"') ||
      literal.back() != literal[0]) {
    return absl::InvalidArgumentError("the token is not a quoted Python literal");
  }
  absl::string_view body = literal.substr(1, literal.size() - 2);
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    char c = body[i];
    if (c != '\\') {
      out += c;
      continue;
    }
    if (i + 1 >= body.size()) return absl::InvalidArgumentError("the literal ends in a backslash");
    char e = body[++i];
    switch (e) {
      case '\\':
      case '\'':
      case '"':
        out += e;
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'a':
        out += '\a';
        break;
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'v':
        out += '\v';
        break;
      case '0':
        out += '\0';
        break;
      case 'x':
      case 'u':
      case 'U': {
        size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
        if (bytes && e != 'x') return absl::InvalidArgumentError("\\u in a bytes literal");
        int64_t value = ReadHex(body, i, digits);
        if (value < 0 || value > 0x10ffff || (value >= 0xd800 && value <= 0xdfff)) {
          return absl::InvalidArgumentError(absl::StrCat("a bad \\", std::string(1, e), " escape"));
        }
        if (bytes) {
          out += static_cast<char>(value);
        } else {
          AppendUtf8(static_cast<char32_t>(value), out);
        }
        i += digits;
        break;
      }
      default:
        return absl::InvalidArgumentError(absl::StrCat("an unknown escape \\", std::string(1, e)));
    }
  }
  return out;
}

}  // namespace

struct RwkvWorldTokenizer::State {
  std::vector<std::string> tokens;  // by id
  // The trie: node 0 is the root; children keyed by (node << 8) | byte.
  absl::flat_hash_map<uint64_t, int32_t> children;
  std::array<int32_t, 256> root_children{};
  std::vector<int32_t> node_token;  // the token ending at each node, or -1

  int32_t Child(int32_t node, uint8_t byte) const {
    if (node == 0) return root_children[byte];
    auto it = children.find((static_cast<uint64_t>(node) << 8) | byte);
    return it == children.end() ? -1 : it->second;
  }
};

RwkvWorldTokenizer::RwkvWorldTokenizer(std::unique_ptr<State> state) : state_(std::move(state)) {}
RwkvWorldTokenizer::~RwkvWorldTokenizer() = default;

absl::StatusOr<std::unique_ptr<RwkvWorldTokenizer>> RwkvWorldTokenizer::FromVocabularyText(
    absl::string_view text, absl::string_view source) {
  std::vector<std::string> tokens(1);
  size_t line_number = 0;
  while (!text.empty()) {
    size_t end = text.find('\n');
    absl::string_view line = text.substr(0, end);
    text.remove_prefix(end == absl::string_view::npos ? text.size() : end + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    auto bad = [&](absl::string_view problem) {
      return absl::DataLossError(absl::StrCat(source, ": line ", line_number, ": ", problem,
                                              "; expected \"ID REPR LEN\" as in "
                                              "rwkv_vocab_v20230424.txt"));
    };
    size_t first_space = line.find(' ');
    size_t last_space = line.rfind(' ');
    if (first_space == absl::string_view::npos || last_space <= first_space) {
      return bad("fewer than three fields");
    }
    int64_t id = 0, length = 0;
    absl::string_view id_text = line.substr(0, first_space);
    absl::string_view length_text = line.substr(last_space + 1);
    if (std::from_chars(id_text.data(), id_text.data() + id_text.size(), id).ptr !=
            id_text.data() + id_text.size() ||
        std::from_chars(length_text.data(), length_text.data() + length_text.size(), length).ptr !=
            length_text.data() + length_text.size()) {
      return bad("the id or the length is not a number");
    }
    if (id < 1 || id > (1 << 24)) return bad(absl::StrCat("id ", id, " is outside [1, 2^24]"));
    absl::StatusOr<std::string> token =
        ParsePythonLiteral(line.substr(first_space + 1, last_space - first_space - 1));
    if (!token.ok()) return bad(token.status().message());
    if (static_cast<int64_t>(token->size()) != length) {
      return bad(absl::StrCat("the token is ", token->size(), " bytes but LEN says ", length));
    }
    if (static_cast<size_t>(id) >= tokens.size()) tokens.resize(static_cast<size_t>(id) + 1);
    if (!tokens[id].empty()) return bad(absl::StrCat("id ", id, " appears twice"));
    if (token->empty()) return bad("the token is empty");
    tokens[id] = *std::move(token);
  }
  return FromTokens(std::move(tokens), source);
}

absl::StatusOr<std::unique_ptr<RwkvWorldTokenizer>> RwkvWorldTokenizer::FromTokens(
    std::vector<std::string> tokens, absl::string_view source) {
  auto state = std::make_unique<State>();
  state->root_children.fill(-1);
  state->node_token.push_back(-1);
  if (!tokens.empty()) tokens[0].clear();  // end of text has no bytes
  for (size_t id = 1; id < tokens.size(); ++id) {
    const std::string& token = tokens[id];
    if (token.empty()) continue;
    int32_t node = 0;
    for (char c : token) {
      uint8_t byte = static_cast<uint8_t>(c);
      int32_t child = state->Child(node, byte);
      if (child < 0) {
        child = static_cast<int32_t>(state->node_token.size());
        state->node_token.push_back(-1);
        if (node == 0) {
          state->root_children[byte] = child;
        } else {
          state->children[(static_cast<uint64_t>(node) << 8) | byte] = child;
        }
      }
      node = child;
    }
    if (state->node_token[node] >= 0) {
      return absl::DataLossError(absl::StrCat(source, ": tokens ", state->node_token[node], " and ",
                                              id, " have the same bytes"));
    }
    state->node_token[node] = static_cast<int32_t>(id);
  }
  for (int b = 0; b < 256; ++b) {
    int32_t node = state->root_children[b];
    if (node < 0 || state->node_token[node] < 0) {
      return absl::DataLossError(absl::StrCat(source, ": the vocabulary has no token for byte 0x",
                                              absl::Hex(b), ", so not every text can be encoded"));
    }
  }
  state->tokens = std::move(tokens);
  return std::unique_ptr<RwkvWorldTokenizer>(new RwkvWorldTokenizer(std::move(state)));
}

absl::StatusOr<std::vector<int32_t>> RwkvWorldTokenizer::Encode(absl::string_view text) const {
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 1);
  size_t i = 0;
  while (i < text.size()) {
    int32_t node = 0, best = -1;
    size_t best_length = 0;
    for (size_t j = i; j < text.size(); ++j) {
      node = state_->Child(node, static_cast<uint8_t>(text[j]));
      if (node < 0) break;
      if (state_->node_token[node] >= 0) {
        best = state_->node_token[node];
        best_length = j + 1 - i;
      }
    }
    out.push_back(best);  // every single byte is a token, so best >= 0
    i += best_length;
  }
  return out;
}

std::string RwkvWorldTokenizer::Decode(absl::Span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) {
    if (id >= 0 && static_cast<size_t>(id) < state_->tokens.size()) out += state_->tokens[id];
  }
  return out;
}

std::string RwkvWorldTokenizer::TokenBytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= state_->tokens.size()) return "";
  return state_->tokens[id];
}

int32_t RwkvWorldTokenizer::vocab_size() const {
  return static_cast<int32_t>(state_->tokens.size());
}

std::string EscapeRwkvGgufToken(absl::string_view bytes) {
  // Python picks double quotes only for text with a single quote and no double quote.
  bool double_quoted =
      bytes.find('\'') != absl::string_view::npos && bytes.find('"') == absl::string_view::npos;
  char quote = double_quoted ? '"' : '\'';
  std::string out;
  for (char c : bytes) {
    uint8_t b = static_cast<uint8_t>(c);
    if (c == '\\' || c == quote) {
      out += '\\';
      out += c;
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (b < 0x20 || b >= 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    } else {
      out += c;
    }
  }
  return out;
}

absl::StatusOr<std::string> UnescapeRwkvGgufToken(absl::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') {
      out += text[i];
      continue;
    }
    if (i + 1 >= text.size()) {
      return absl::DataLossError(absl::StrCat("RWKV token \"", text, "\" ends in a backslash"));
    }
    char e = text[++i];
    if (e == 'x') {
      int64_t value = ReadHex(text, i, 2);
      if (value < 0) {
        return absl::DataLossError(absl::StrCat("RWKV token \"", text, "\" has a bad \\x escape"));
      }
      out += static_cast<char>(value);
      i += 2;
    } else if (e == 't' || e == 'n' || e == 'r') {
      out += e == 't' ? '\t' : e == 'n' ? '\n' : '\r';
    } else if (e == '\\' || e == '\'' || e == '"') {
      out += e;
    } else {
      return absl::DataLossError(
          absl::StrCat("RWKV token \"", text, "\" has an unknown escape \\", std::string(1, e)));
    }
  }
  return out;
}

}  // namespace llive::backends::native
