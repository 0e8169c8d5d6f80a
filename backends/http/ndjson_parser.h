// Incremental splitter of newline-delimited JSON (application/x-ndjson), as Ollama
// streams its answers.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace llive::backends::http {

// Cuts a byte stream into lines ("\n", with an optional "\r" before it) and hands
// out every non-blank line; bytes may arrive split at any boundary. It does not
// parse the JSON (the caller does, with its own schema). Not thread-safe.
class NdjsonParser {
 public:
  using LineCallback = std::function<absl::Status(absl::string_view line)>;

  // `max_line_bytes` bounds one line, so a broken server cannot grow the buffer
  // without limit.
  explicit NdjsonParser(size_t max_line_bytes = size_t{8} << 20);

  // Calls `on_line` for each line `bytes` completes. Returns the first non-OK status
  // of the callback, or ResourceExhausted for a line longer than the limit.
  absl::Status Feed(absl::string_view bytes, const LineCallback& on_line);

  // End of stream: a last line without a newline is handed out too (some servers
  // omit the final newline). Returns what the callback returns.
  absl::Status Finish(const LineCallback& on_line);

 private:
  absl::Status Emit(const LineCallback& on_line);

  size_t max_line_bytes_;
  std::string line_;
};

}  // namespace llive::backends::http
