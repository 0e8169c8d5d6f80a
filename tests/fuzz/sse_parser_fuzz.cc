// Fuzzes the SSE parser: any bytes give events or a clean error, and cutting the
// same bytes into chunks (at points the input chooses) never changes the result.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "backends/http/sse_parser.h"

namespace {

struct Outcome {
  std::vector<std::string> events;  // event name, id and data of each
  int error_code = 0;
  bool partial = false;
  bool operator==(const Outcome& other) const = default;
};

Outcome Parse(absl::string_view text, const std::vector<size_t>& cuts) {
  llive::backends::http::SseParser parser(512);
  Outcome outcome;
  auto on_event = [&](const llive::backends::http::SseEvent& event) {
    outcome.events.push_back(event.event + '\0' + event.id + '\0' + event.data);
    return absl::OkStatus();
  };
  size_t start = 0;
  for (size_t cut : cuts) {
    if (cut < start || cut > text.size()) continue;
    absl::Status s = parser.Feed(text.substr(start, cut - start), on_event);
    start = cut;
    if (!s.ok()) {
      outcome.error_code = static_cast<int>(s.code());
      return outcome;
    }
  }
  absl::Status s = parser.Feed(text.substr(start), on_event);
  outcome.error_code = static_cast<int>(s.code());
  if (s.ok()) outcome.partial = parser.HasPartialEvent();
  return outcome;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  // The first byte chooses the chunk length pattern; the rest is the stream.
  size_t step = 1 + data[0] % 7;
  absl::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::vector<size_t> cuts;
  for (size_t cut = step; cut < text.size(); cut += step + (cut % 3)) cuts.push_back(cut);
  if (!(Parse(text, {}) == Parse(text, cuts))) __builtin_trap();
  return 0;
}
