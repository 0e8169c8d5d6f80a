// UTF-8 checks by the table of well-formed byte sequences (Unicode, table 3-7).
#include "backends/native/utf8.h"

#include <cstdint>

#include "absl/strings/str_format.h"

namespace llive::backends::native {

size_t ValidUtf8CharLength(absl::string_view text, size_t position) {
  auto byte = [&](size_t k) { return static_cast<uint8_t>(text[position + k]); };
  size_t left = text.size() - position;
  if (left == 0) return 0;
  uint8_t b0 = byte(0);
  if (b0 < 0x80) return 1;
  auto continuation = [&](size_t k, uint8_t low = 0x80, uint8_t high = 0xbf) {
    return k < left && byte(k) >= low && byte(k) <= high;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return continuation(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    uint8_t low = b0 == 0xe0 ? 0xa0 : 0x80;
    uint8_t high = b0 == 0xed ? 0x9f : 0xbf;
    return continuation(1, low, high) && continuation(2) ? 3 : 0;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    uint8_t low = b0 == 0xf0 ? 0x90 : 0x80;
    uint8_t high = b0 == 0xf4 ? 0x8f : 0xbf;
    return continuation(1, low, high) && continuation(2) && continuation(3) ? 4 : 0;
  }
  return 0;
}

size_t ValidUtf8PrefixLength(absl::string_view text) {
  size_t position = 0;
  while (position < text.size()) {
    // ASCII fast path, eight bytes at a time.
    while (position + 8 <= text.size()) {
      uint64_t word = 0;
      for (size_t k = 0; k < 8; ++k) {
        word |= static_cast<uint64_t>(static_cast<uint8_t>(text[position + k])) << (8 * k);
      }
      if ((word & 0x8080808080808080ull) != 0) break;
      position += 8;
    }
    if (position >= text.size()) break;
    size_t length = ValidUtf8CharLength(text, position);
    if (length == 0) break;
    position += length;
  }
  return position;
}

char32_t DecodeUtf8Char(absl::string_view character) {
  auto byte = [&](size_t k) { return static_cast<char32_t>(static_cast<uint8_t>(character[k])); };
  switch (character.size()) {
    case 1:
      return byte(0);
    case 2:
      return ((byte(0) & 0x1f) << 6) | (byte(1) & 0x3f);
    case 3:
      return ((byte(0) & 0x0f) << 12) | ((byte(1) & 0x3f) << 6) | (byte(2) & 0x3f);
    default:
      return ((byte(0) & 0x07) << 18) | ((byte(1) & 0x3f) << 12) | ((byte(2) & 0x3f) << 6) |
             (byte(3) & 0x3f);
  }
}

void AppendUtf8(char32_t c, std::string& out) {
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

absl::Status CheckUtf8(absl::string_view text, absl::string_view what) {
  const size_t valid = ValidUtf8PrefixLength(text);
  if (valid == text.size()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrFormat("%s is not valid UTF-8: byte 0x%02x at offset %d", what,
                      static_cast<unsigned char>(text[valid]), valid));
}

}  // namespace llive::backends::native
