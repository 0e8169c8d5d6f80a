// Incremental parser of Server-Sent Events (text/event-stream), as OpenAI- and
// Anthropic-style servers stream their answers.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace llive::backends::http {

// One dispatched event. `event` is empty when the server sent no "event:" field.
struct SseEvent {
  std::string event;
  std::string data;  // the "data:" lines joined with "\n"
  std::string id;
};

// Follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; a blank line
// dispatches the event; lines starting with ':' are comments; a leading BOM is
// skipped. Bytes may arrive split at any boundary (even inside a CRLF). Not
// thread-safe; one parser per stream.
class SseParser {
 public:
  using EventCallback = std::function<absl::Status(const SseEvent& event)>;

  // `max_event_bytes` bounds one line and one event's data, so that a hostile or
  // broken server cannot make the client buffer without limit.
  explicit SseParser(size_t max_event_bytes = size_t{8} << 20);

  // Parses `bytes` and calls `on_event` for every event they complete. Stops at and
  // returns the first non-OK status of the callback; ResourceExhausted when a line
  // or an event grows past the limit. After an error the parser must not be fed
  // again.
  absl::Status Feed(absl::string_view bytes, const EventCallback& on_event);

  // True when the stream so far ends inside an event (a truncated stream): bytes of
  // an unfinished line or fields not yet dispatched by a blank line.
  bool HasPartialEvent() const;

 private:
  absl::Status ProcessLine(absl::string_view line, const EventCallback& on_event);

  size_t max_event_bytes_;
  std::string line_;
  SseEvent pending_;
  bool pending_has_data_ = false;
  bool pending_has_fields_ = false;
  bool skip_next_lf_ = false;  // the last chunk ended in CR; a following LF belongs to it
  bool at_stream_start_ = true;
};

}  // namespace llive::backends::http
