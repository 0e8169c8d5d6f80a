// Server-Sent Events parsing, incremental over arbitrary chunk boundaries.
#include "backends/http/sse_parser.h"

#include "absl/strings/str_cat.h"

namespace llive::backends::http {

SseParser::SseParser(size_t max_event_bytes) : max_event_bytes_(max_event_bytes) {}

bool SseParser::HasPartialEvent() const { return !line_.empty() || pending_has_fields_; }

absl::Status SseParser::Feed(absl::string_view bytes, const EventCallback& on_event) {
  size_t i = 0;
  while (i < bytes.size()) {
    if (at_stream_start_) {
      // A UTF-8 byte order mark may open the stream; it can itself arrive split.
      static constexpr absl::string_view kBom = "\xEF\xBB\xBF";
      size_t have = line_.size();
      if (have < kBom.size() && static_cast<char>(bytes[i]) == kBom[have]) {
        line_.push_back(bytes[i]);
        ++i;
        if (line_.size() == kBom.size()) {
          line_.clear();
          at_stream_start_ = false;
        }
        continue;
      }
      at_stream_start_ = false;  // not a BOM: whatever was collected is ordinary text
    }
    char c = bytes[i];
    if (skip_next_lf_) {
      skip_next_lf_ = false;
      if (c == '\n') {
        ++i;
        continue;
      }
    }
    if (c == '\r' || c == '\n') {
      skip_next_lf_ = (c == '\r');
      ++i;
      std::string line = std::move(line_);
      line_.clear();
      if (absl::Status s = ProcessLine(line, on_event); !s.ok()) return s;
      continue;
    }
    // Copy the run of ordinary bytes up to the next line end in one go.
    size_t end = bytes.find_first_of("\r\n", i);
    if (end == absl::string_view::npos) end = bytes.size();
    if (line_.size() + (end - i) > max_event_bytes_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "event stream line longer than ", max_event_bytes_, " bytes; the server is broken"));
    }
    line_.append(bytes.data() + i, end - i);
    i = end;
  }
  return absl::OkStatus();
}

absl::Status SseParser::ProcessLine(absl::string_view line, const EventCallback& on_event) {
  if (line.empty()) {
    SseEvent event = std::move(pending_);
    bool dispatch = pending_has_data_;
    pending_ = SseEvent{};
    pending_has_data_ = false;
    pending_has_fields_ = false;
    if (!dispatch) return absl::OkStatus();  // an event without data is not dispatched
    if (!event.data.empty() && event.data.back() == '\n') event.data.pop_back();
    return on_event(event);
  }
  if (line.front() == ':') return absl::OkStatus();  // comment (keep-alive)
  absl::string_view field = line;
  absl::string_view value;
  if (size_t colon = line.find(':'); colon != absl::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  pending_has_fields_ = true;
  if (field == "data") {
    if (pending_.data.size() + value.size() + 1 > max_event_bytes_) {
      return absl::ResourceExhaustedError(absl::StrCat(
          "event stream event larger than ", max_event_bytes_, " bytes; the server is broken"));
    }
    pending_.data.append(value.data(), value.size());
    pending_.data.push_back('\n');
    pending_has_data_ = true;
  } else if (field == "event") {
    pending_.event = std::string(value);
  } else if (field == "id") {
    if (value.find('\0') == absl::string_view::npos) pending_.id = std::string(value);
  }
  // "retry" and unknown fields are ignored: reconnection is not how llive retries.
  return absl::OkStatus();
}

}  // namespace llive::backends::http
