// UTF-8 validity and code points, as the tokenizers need them: valid means what Unicode
// and PCRE2 accept (shortest form, no surrogates, at most U+10FFFF).
#pragma once

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace llive::backends::native {

// The length (1-4) of the valid UTF-8 character starting at text[position], or 0 when the
// bytes there do not start one.
size_t ValidUtf8CharLength(absl::string_view text, size_t position);

// The length of the longest prefix of `text` that is valid UTF-8.
size_t ValidUtf8PrefixLength(absl::string_view text);

// OK when `text` is valid UTF-8; otherwise InvalidArgument "<what> is not valid UTF-8: byte 0xNN
// at offset N" (the first byte that does not start a valid character).
absl::Status CheckUtf8(absl::string_view text, absl::string_view what);

// The code point of one valid UTF-8 character (ValidUtf8CharLength bytes).
char32_t DecodeUtf8Char(absl::string_view character);

// Appends the UTF-8 form of `code_point` (< 0x110000) to `out`.
void AppendUtf8(char32_t code_point, std::string& out);

}  // namespace llive::backends::native
