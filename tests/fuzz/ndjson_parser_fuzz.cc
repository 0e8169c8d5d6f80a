// Fuzzes the NDJSON splitter: any bytes give lines or a clean error, the same for
// every way of cutting them into chunks, and no line handed out contains a newline.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "backends/http/ndjson_parser.h"

namespace {

struct Outcome {
  std::vector<std::string> lines;
  int error_code = 0;
  bool operator==(const Outcome& other) const = default;
};

Outcome Parse(absl::string_view text, size_t step) {
  llive::backends::http::NdjsonParser parser(256);
  Outcome outcome;
  auto on_line = [&](absl::string_view line) {
    if (line.find('\n') != absl::string_view::npos || line.empty()) __builtin_trap();
    outcome.lines.emplace_back(line);
    return absl::OkStatus();
  };
  for (size_t start = 0; start < text.size(); start += step) {
    absl::Status s = parser.Feed(text.substr(start, step), on_line);
    if (!s.ok()) {
      outcome.error_code = static_cast<int>(s.code());
      return outcome;
    }
  }
  outcome.error_code = static_cast<int>(parser.Finish(on_line).code());
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t step = 1 + data[0] % 11;
  absl::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  if (!(Parse(text, text.size() + 1) == Parse(text, step))) __builtin_trap();
  return 0;
}
