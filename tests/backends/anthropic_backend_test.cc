// End-to-end tests of the Anthropic Messages backend against a loopback server that
// speaks its wire format and streaming events.
#include "backends/anthropic_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/backends/loopback_http_server.h"

namespace llive::backends {
namespace {

using ::llive::testing::Exchange;
using ::llive::testing::LoopbackHttpServer;
using ::llive::testing::SseEvent;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kKey[] = "sk-ant-test-secret-42";

std::unique_ptr<AnthropicBackend> Backend(const LoopbackHttpServer& server) {
  AnthropicOptions options;
  options.base_url = server.url();
  options.api_key = kKey;
  options.model = "claude-test";
  options.http.read_timeout_ms = 300;
  options.http.retry_base_delay_ms = 5;
  options.http.proxy = http::ProxySettings{};
  absl::StatusOr<std::unique_ptr<AnthropicBackend>> backend = AnthropicBackend::Create(options);
  EXPECT_TRUE(backend.ok()) << backend.status();
  return *std::move(backend);
}

GenerateRequest Request() {
  GenerateRequest request;
  request.system = "You are terse.";
  request.messages = {{"system", "Answer in English."}, {"user", "Name a colour."}};
  request.max_tokens = 5;
  request.stop = {"END"};
  return request;
}

std::string Event(const std::string& type, const nlohmann::json& body) {
  nlohmann::json data = body;
  data["type"] = type;
  return SseEvent(data.dump(), type);
}

std::string StreamBody(const std::string& stop_reason) {
  return Event("message_start", {{"message",
                                  {{"id", "msg_1"},
                                   {"model", "claude-test-2025"},
                                   {"usage", {{"input_tokens", 17}, {"output_tokens", 1}}}}}}) +
         Event("content_block_start",
               {{"index", 0}, {"content_block", {{"type", "text"}, {"text", ""}}}}) +
         Event("ping", nlohmann::json::object()) +
         Event("content_block_delta",
               {{"index", 0}, {"delta", {{"type", "text_delta"}, {"text", "Deep "}}}}) +
         Event("content_block_delta",
               {{"index", 0}, {"delta", {{"type", "text_delta"}, {"text", "blue"}}}}) +
         Event("content_block_stop", {{"index", 0}}) +
         Event("message_delta",
               {{"delta", {{"stop_reason", stop_reason}}}, {"usage", {{"output_tokens", 2}}}}) +
         Event("message_stop", nlohmann::json::object());
}

TEST(AnthropicBackendTest, StreamedEventsSplitAtEveryFewBytes) {
  nlohmann::json seen;
  std::string version, key;
  LoopbackHttpServer server([&](Exchange& exchange) {
    seen = nlohmann::json::parse(exchange.request().body);
    version = exchange.request().Header("anthropic-version");
    key = exchange.request().Header("x-api-key");
    EXPECT_EQ(exchange.request().target, "/v1/messages");
    std::string body = StreamBody("max_tokens");
    exchange.StartChunked(200, "text/event-stream");
    for (size_t i = 0; i < body.size(); i += 3) exchange.WriteChunk(body.substr(i, 3));
    exchange.EndChunked();
  });
  std::string streamed;
  absl::StatusOr<GenerateResponse> response =
      Backend(server)->Generate(Request(), [&](absl::string_view delta) {
        streamed.append(delta.data(), delta.size());
        return true;
      });
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->text, "Deep blue");
  EXPECT_EQ(streamed, "Deep blue");
  EXPECT_EQ(response->finish_reason, FinishReason::kLength);
  EXPECT_EQ(response->model, "claude-test-2025");
  EXPECT_EQ(response->usage.prompt_tokens, 17);
  EXPECT_EQ(response->usage.completion_tokens, 2);
  EXPECT_EQ(version, "2023-06-01");
  EXPECT_EQ(key, kKey);
  EXPECT_EQ(seen["system"], "You are terse.\n\nAnswer in English.");
  EXPECT_EQ(seen["stop_sequences"], nlohmann::json::array({"END"}));
  EXPECT_EQ(seen["max_tokens"], 5);
  EXPECT_EQ(seen["stream"], true);
  ASSERT_EQ(seen["messages"].size(), 1u);
  EXPECT_EQ(seen["messages"][0]["role"], "user");
}

TEST(AnthropicBackendTest, BufferedAnswer) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.Respond(200, "application/json", R"({
      "id":"msg_2","type":"message","role":"assistant","model":"claude-test",
      "content":[{"type":"text","text":"Red"}],"stop_reason":"stop_sequence",
      "stop_sequence":"END","usage":{"input_tokens":9,"output_tokens":1}})");
  });
  absl::StatusOr<GenerateResponse> response = Backend(server)->Generate(Request());
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->text, "Red");
  EXPECT_EQ(response->finish_reason, FinishReason::kStop);
  EXPECT_EQ(response->usage.prompt_tokens, 9);
}

TEST(AnthropicBackendTest, OverloadedThenSuccess) {
  LoopbackHttpServer server([](Exchange& exchange) {
    if (exchange.request().index == 0) {
      exchange.Respond(
          529, "application/json",
          R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})");
      return;
    }
    exchange.StartChunked(200, "text/event-stream");
    exchange.WriteChunk(StreamBody("end_turn"));
    exchange.EndChunked();
  });
  absl::StatusOr<GenerateResponse> response =
      Backend(server)->Generate(Request(), [](absl::string_view) { return true; });
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->finish_reason, FinishReason::kStop);
  EXPECT_EQ(server.requests(), 2);
}

TEST(AnthropicBackendTest, ErrorEventAndTruncation) {
  LoopbackHttpServer server([](Exchange& exchange) {
    std::string body = StreamBody("end_turn");
    exchange.StartChunked(200, "text/event-stream");
    if (exchange.request().index == 0) {
      exchange.WriteChunk(
          body.substr(0, body.find("content_block_stop")) +
          Event("error", {{"error", {{"type", "api_error"}, {"message", "Internal error"}}}}));
      exchange.EndChunked();
    } else {
      exchange.WriteChunk(body.substr(0, body.find("event: message_stop")));
      exchange.EndChunked();
    }
  });
  auto backend = Backend(server);
  absl::StatusOr<GenerateResponse> errored =
      backend->Generate(Request(), [](absl::string_view) { return true; });
  ASSERT_TRUE(errored.ok());
  EXPECT_EQ(errored->finish_reason, FinishReason::kError);
  EXPECT_THAT(errored->error, HasSubstr("Internal error"));
  absl::StatusOr<GenerateResponse> truncated =
      backend->Generate(Request(), [](absl::string_view) { return true; });
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(truncated->finish_reason, FinishReason::kError);
  EXPECT_EQ(truncated->text, "Deep blue");
  EXPECT_THAT(truncated->error, HasSubstr("ended before message_stop"));
}

TEST(AnthropicBackendTest, RejectedKeyIsUnauthenticatedAndRedacted) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.Respond(401, "application/json",
                     absl::StrCat(R"({"type":"error","error":{"type":"authentication_error",)",
                                  R"("message":"invalid x-api-key )",
                                  exchange.request().Header("x-api-key"), R"("}})"));
  });
  absl::StatusOr<GenerateResponse> response = Backend(server)->Generate(Request());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(response.status().message(), HasSubstr("invalid x-api-key [redacted]"));
  EXPECT_THAT(std::string(response.status().message()), Not(HasSubstr(kKey)));
}

TEST(AnthropicBackendTest, MalformedAnswer) {
  LoopbackHttpServer server(
      [](Exchange& exchange) { exchange.Respond(200, "application/json", "<html>oops</html>"); });
  absl::StatusOr<GenerateResponse> response = Backend(server)->Generate(Request());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("not a Messages response"));
}

}  // namespace
}  // namespace llive::backends
