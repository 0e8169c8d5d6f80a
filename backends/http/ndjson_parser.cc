// Newline-delimited JSON framing, incremental over arbitrary chunk boundaries.
#include "backends/http/ndjson_parser.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace llive::backends::http {

NdjsonParser::NdjsonParser(size_t max_line_bytes) : max_line_bytes_(max_line_bytes) {}

absl::Status NdjsonParser::Feed(absl::string_view bytes, const LineCallback& on_line) {
  while (!bytes.empty()) {
    size_t newline = bytes.find('\n');
    absl::string_view piece = bytes.substr(0, newline);
    if (line_.size() + piece.size() > max_line_bytes_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "NDJSON line longer than ", max_line_bytes_, " bytes; the server is broken"));
    }
    line_.append(piece.data(), piece.size());
    if (newline == absl::string_view::npos) break;
    bytes.remove_prefix(newline + 1);
    if (absl::Status s = Emit(on_line); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status NdjsonParser::Finish(const LineCallback& on_line) { return Emit(on_line); }

absl::Status NdjsonParser::Emit(const LineCallback& on_line) {
  std::string line = std::move(line_);
  line_.clear();
  absl::string_view text = absl::StripAsciiWhitespace(line);
  if (text.empty()) return absl::OkStatus();
  return on_line(text);
}

}  // namespace llive::backends::http
