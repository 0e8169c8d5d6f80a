// Tests of the SSE and NDJSON parsers: framing rules, and identical results for every
// way of splitting the same bytes into chunks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/http/ndjson_parser.h"
#include "backends/http/sse_parser.h"

namespace llive::backends::http {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> SseData(const std::vector<std::string>& chunks,
                                 std::vector<std::string>* names = nullptr) {
  SseParser parser;
  std::vector<std::string> data;
  for (const std::string& chunk : chunks) {
    absl::Status s = parser.Feed(chunk, [&](const SseEvent& event) {
      data.push_back(event.data);
      if (names != nullptr) names->push_back(event.event);
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s;
  }
  return data;
}

std::vector<std::string> NdjsonLines(const std::vector<std::string>& chunks) {
  NdjsonParser parser;
  std::vector<std::string> lines;
  auto on_line = [&](absl::string_view line) {
    lines.emplace_back(line);
    return absl::OkStatus();
  };
  for (const std::string& chunk : chunks) EXPECT_TRUE(parser.Feed(chunk, on_line).ok());
  EXPECT_TRUE(parser.Finish(on_line).ok());
  return lines;
}

TEST(SseParserTest, FramingRules) {
  std::vector<std::string> names;
  std::string stream =
      "\xEF\xBB\xBF: keep-alive comment\r\n"
      "event: message_start\r\ndata: {\"a\":1}\r\n\r\n"
      "data:no-space\n\n"
      "data: line one\ndata: line two\n\n"
      "event: empty\n\n"  // no data: not dispatched
      "id: 7\rdata: cr only\r\r"
      "data: unterminated";  // never dispatched
  EXPECT_THAT(SseData({stream}, &names),
              ElementsAre("{\"a\":1}", "no-space", "line one\nline two", "cr only"));
  EXPECT_THAT(names, ElementsAre("message_start", "", "", ""));
}

TEST(SseParserTest, EverySplitGivesTheSameEvents) {
  std::string stream =
      "event: content_block_delta\r\ndata: {\"text\":\"h\xC3\xA9llo\"}\r\n\r\n"
      ": ping\r\n\r\ndata: [DONE]\r\n\r\n";
  std::vector<std::string> whole = SseData({stream});
  ASSERT_EQ(whole.size(), 2u);
  for (size_t a = 0; a <= stream.size(); ++a) {
    for (size_t b = a; b <= stream.size(); b += 3) {
      EXPECT_EQ(SseData({stream.substr(0, a), stream.substr(a, b - a), stream.substr(b)}), whole)
          << "split at " << a << ", " << b;
    }
  }
  std::vector<std::string> bytes;
  for (char c : stream) bytes.emplace_back(1, c);
  EXPECT_EQ(SseData(bytes), whole);
}

TEST(SseParserTest, CallbackErrorStopsAndPartialEventIsReported) {
  SseParser parser;
  int calls = 0;
  absl::Status s = parser.Feed("data: 1\n\ndata: 2\n\ndata: 3", [&](const SseEvent&) {
    ++calls;
    return absl::CancelledError("stop");
  });
  EXPECT_EQ(s.code(), absl::StatusCode::kCancelled);
  EXPECT_EQ(calls, 1);
  SseParser truncated;
  ASSERT_TRUE(truncated.Feed("data: x\n", [](const SseEvent&) { return absl::OkStatus(); }).ok());
  EXPECT_TRUE(truncated.HasPartialEvent());
}

TEST(SseParserTest, OversizedLineIsRefused) {
  SseParser parser(64);
  absl::Status s =
      parser.Feed(std::string(65, 'x'), [](const SseEvent&) { return absl::OkStatus(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(s.message(), HasSubstr("longer than 64 bytes"));
}

TEST(NdjsonParserTest, LinesAcrossEverySplit) {
  std::string stream = "{\"a\":1}\r\n\n  \n{\"b\":\"\xE3\x81\x82\"}\n{\"c\":3}";
  std::vector<std::string> whole = NdjsonLines({stream});
  EXPECT_THAT(whole, ElementsAre("{\"a\":1}", "{\"b\":\"\xE3\x81\x82\"}", "{\"c\":3}"));
  for (size_t a = 0; a <= stream.size(); ++a) {
    for (size_t b = a; b <= stream.size(); ++b) {
      EXPECT_EQ(NdjsonLines({stream.substr(0, a), stream.substr(a, b - a), stream.substr(b)}),
                whole);
    }
  }
}

TEST(NdjsonParserTest, OversizedLineIsRefused) {
  NdjsonParser parser(8);
  absl::Status s = parser.Feed("0123456789\n", [](absl::string_view) { return absl::OkStatus(); });
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace llive::backends::http
