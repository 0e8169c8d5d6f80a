// End-to-end tests of the OpenAI-compatible backend against a loopback server that
// speaks the chat completions wire format, including its failure modes.
#include "backends/openai_backend.h"

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

constexpr char kKey[] = "sk-test-0123456789abcdef";

std::unique_ptr<OpenAIBackend> Backend(const LoopbackHttpServer& server, int max_retries = 3) {
  OpenAIOptions options;
  options.base_url = server.url() + "/v1";
  options.api_key = kKey;
  options.model = "test-model";
  options.http.read_timeout_ms = 300;
  options.http.max_retries = max_retries;
  options.http.retry_base_delay_ms = 5;
  options.http.proxy = http::ProxySettings{};
  absl::StatusOr<std::unique_ptr<OpenAIBackend>> backend = OpenAIBackend::Create(options);
  EXPECT_TRUE(backend.ok()) << backend.status();
  return *std::move(backend);
}

GenerateRequest Hello() {
  GenerateRequest request;
  request.system = "be brief";
  request.messages = {{"user", "hi"}, {"assistant", "hello"}};
  request.prompt = "how are you?";
  request.max_tokens = 16;
  request.stop = {"\n\n"};
  request.seed = 7;
  return request;
}

std::string Chunk(const std::string& content, const std::string& finish = "") {
  nlohmann::json delta =
      content.empty() ? nlohmann::json::object() : nlohmann::json{{"content", content}};
  nlohmann::json choice = {{"index", 0}, {"delta", delta}, {"finish_reason", nullptr}};
  if (!finish.empty()) choice["finish_reason"] = finish;
  return SseEvent(nlohmann::json({{"id", "c1"},
                                  {"object", "chat.completion.chunk"},
                                  {"model", "test-model"},
                                  {"choices", {choice}}})
                      .dump());
}

std::string StreamBody() {
  return Chunk("Fine") + Chunk(", th") + Chunk("anks \xE3\x81\x82") + Chunk("", "stop") +
         SseEvent(R"({"choices":[],"usage":{"prompt_tokens":21,"completion_tokens":4}})") +
         SseEvent("[DONE]");
}

// Writes `body` as chunked pieces of `step` bytes, flushing each.
void WriteSplit(Exchange& exchange, const std::string& body, size_t step) {
  exchange.StartChunked(200, "text/event-stream");
  for (size_t i = 0; i < body.size(); i += step) {
    exchange.WriteChunk(body.substr(i, step));
    exchange.Sleep(1);
  }
  exchange.EndChunked();
}

TEST(OpenAIBackendTest, BufferedAnswerAndRequestShape) {
  nlohmann::json seen;
  std::string auth;
  LoopbackHttpServer server([&](Exchange& exchange) {
    seen = nlohmann::json::parse(exchange.request().body);
    auth = exchange.request().Header("Authorization");
    EXPECT_EQ(exchange.request().target, "/v1/chat/completions");
    exchange.Respond(200, "application/json", R"({
      "id":"x","object":"chat.completion","model":"test-model-0613",
      "choices":[{"index":0,"message":{"role":"assistant","content":"Fine."},"finish_reason":"length"}],
      "usage":{"prompt_tokens":12,"completion_tokens":2,"total_tokens":14},
      "timings":{"prompt_ms":1.5,"predicted_ms":3.25}})");
  });
  GenerateRequest request = Hello();
  request.top_k = 40;
  absl::StatusOr<GenerateResponse> response = Backend(server)->Generate(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->text, "Fine.");
  EXPECT_EQ(response->finish_reason, FinishReason::kLength);
  EXPECT_EQ(response->model, "test-model-0613");
  EXPECT_EQ(response->usage.prompt_tokens, 12);
  EXPECT_EQ(response->usage.completion_tokens, 2);
  EXPECT_DOUBLE_EQ(response->timings.generation_ms, 3.25);
  EXPECT_EQ(auth, absl::StrCat("Bearer ", kKey));
  EXPECT_EQ(seen["model"], "test-model");
  EXPECT_EQ(seen["max_tokens"], 16);
  EXPECT_EQ(seen["stream"], false);
  EXPECT_EQ(seen["seed"], 7);
  EXPECT_EQ(seen["top_k"], 40);  // a local server, so top_k is passed on
  EXPECT_EQ(seen["stop"], nlohmann::json::array({"\n\n"}));
  ASSERT_EQ(seen["messages"].size(), 4u);
  EXPECT_EQ(seen["messages"][0]["role"], "system");
  EXPECT_EQ(seen["messages"][3]["content"], "how are you?");
}

TEST(OpenAIBackendTest, StreamSplitAtAwkwardBoundaries) {
  for (size_t step : {1, 2, 3, 7, 64}) {
    LoopbackHttpServer server(
        [step](Exchange& exchange) { WriteSplit(exchange, StreamBody(), step); });
    std::string streamed;
    absl::StatusOr<GenerateResponse> response =
        Backend(server)->Generate(Hello(), [&](absl::string_view delta) {
          streamed.append(delta.data(), delta.size());
          return true;
        });
    ASSERT_TRUE(response.ok()) << "step " << step << ": " << response.status();
    EXPECT_EQ(response->text, "Fine, thanks \xE3\x81\x82");
    EXPECT_EQ(streamed, response->text);
    EXPECT_EQ(response->finish_reason, FinishReason::kStop);
    EXPECT_EQ(response->usage.completion_tokens, 4);
    EXPECT_GT(response->timings.first_token_ms, 0);
  }
}

TEST(OpenAIBackendTest, RateLimitThenSuccess) {
  LoopbackHttpServer server([](Exchange& exchange) {
    if (exchange.request().index == 0) {
      exchange.Respond(429, "application/json",
                       R"({"error":{"message":"Rate limit reached","type":"requests"}})",
                       {{"Retry-After", "0"}});
      return;
    }
    WriteSplit(exchange, StreamBody(), 5);
  });
  absl::StatusOr<GenerateResponse> response =
      Backend(server)->Generate(Hello(), [](absl::string_view) { return true; });
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->text, "Fine, thanks \xE3\x81\x82");
  EXPECT_EQ(server.requests(), 2);
}

TEST(OpenAIBackendTest, ServerErrorThreeTimesIsUnavailable) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.Respond(500, "application/json", R"({"error":{"message":"upstream exploded"}})");
  });
  absl::StatusOr<GenerateResponse> response = Backend(server, 2)->Generate(Hello());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("HTTP 500"));
  EXPECT_THAT(response.status().message(), HasSubstr("upstream exploded"));
  EXPECT_THAT(response.status().message(), HasSubstr("after 3 attempts"));
  EXPECT_EQ(server.requests(), 3);
}

TEST(OpenAIBackendTest, ServerErrorThreeTimesThenSuccessWithDefaultRetries) {
  LoopbackHttpServer server([](Exchange& exchange) {
    if (exchange.request().index < 3) {
      exchange.Respond(500, "application/json", R"({"error":{"message":"flaky"}})");
      return;
    }
    WriteSplit(exchange, StreamBody(), 11);
  });
  absl::StatusOr<GenerateResponse> response =
      Backend(server)->Generate(Hello(), [](absl::string_view) { return true; });
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->finish_reason, FinishReason::kStop);
  EXPECT_EQ(response->text, "Fine, thanks \xE3\x81\x82");
  EXPECT_EQ(server.requests(), 4);
}

TEST(OpenAIBackendTest, StallPastTheReadTimeout) {
  LoopbackHttpServer server([](Exchange& exchange) { exchange.Sleep(5000); });
  absl::StatusOr<GenerateResponse> response = Backend(server)->Generate(Hello());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(response.status().message(), HasSubstr("openai: timed out after 300 ms"));
}

TEST(OpenAIBackendTest, StallMidStreamEndsInErrorWithPartialText) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.StartChunked(200, "text/event-stream");
    exchange.WriteChunk(Chunk("partial"));
    exchange.Sleep(5000);
  });
  absl::StatusOr<GenerateResponse> response =
      Backend(server)->Generate(Hello(), [](absl::string_view) { return true; });
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->finish_reason, FinishReason::kError);
  EXPECT_EQ(response->text, "partial");
  EXPECT_THAT(response->error, HasSubstr("timed out"));
  EXPECT_EQ(server.requests(), 1);
}

TEST(OpenAIBackendTest, TruncatedStreamEndsInError) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.StartChunked(200, "text/event-stream");
    exchange.WriteChunk(Chunk("half an ans"));
    exchange.WriteChunk("data: {\"choi");
    exchange.CloseAfter();  // connection closes without the last chunk
  });
  absl::StatusOr<GenerateResponse> response =
      Backend(server)->Generate(Hello(), [](absl::string_view) { return true; });
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->finish_reason, FinishReason::kError);
  EXPECT_EQ(response->text, "half an ans");
  EXPECT_THAT(response->error, HasSubstr("truncated"));
}

TEST(OpenAIBackendTest, StreamWithoutDoneEndsInError) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.StartChunked(200, "text/event-stream");
    exchange.WriteChunk(Chunk("no end"));
    exchange.EndChunked();
  });
  absl::StatusOr<GenerateResponse> response =
      Backend(server)->Generate(Hello(), [](absl::string_view) { return true; });
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->finish_reason, FinishReason::kError);
  EXPECT_THAT(response->error, HasSubstr("ended before the answer was complete"));
}

TEST(OpenAIBackendTest, MalformedJson) {
  LoopbackHttpServer server([](Exchange& exchange) {
    if (exchange.request().body.find("\"stream\":true") != std::string::npos) {
      exchange.StartChunked(200, "text/event-stream");
      exchange.WriteChunk(Chunk("ok so far") + "data: {not json}\n\n");
      exchange.EndChunked();
    } else {
      exchange.Respond(200, "application/json", "{\"choices\": [");
    }
  });
  auto backend = Backend(server);
  absl::StatusOr<GenerateResponse> buffered = backend->Generate(Hello());
  EXPECT_EQ(buffered.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(buffered.status().message(), HasSubstr("not valid JSON"));
  absl::StatusOr<GenerateResponse> streamed =
      backend->Generate(Hello(), [](absl::string_view) { return true; });
  ASSERT_TRUE(streamed.ok());
  EXPECT_EQ(streamed->finish_reason, FinishReason::kError);
  EXPECT_EQ(streamed->text, "ok so far");
  EXPECT_THAT(streamed->error, HasSubstr("malformed JSON"));
}

TEST(OpenAIBackendTest, ErrorBodyNeverLeaksTheKey) {
  LoopbackHttpServer server([](Exchange& exchange) {
    // Some servers echo the credential they rejected.
    exchange.Respond(401, "application/json",
                     absl::StrCat(R"({"error":{"message":"Incorrect API key provided: )",
                                  exchange.request().Header("Authorization").substr(7), R"("}})"));
  });
  absl::StatusOr<GenerateResponse> response = Backend(server)->Generate(Hello());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_THAT(response.status().message(), HasSubstr("Incorrect API key provided: [redacted]"));
  EXPECT_THAT(std::string(response.status().message()), Not(HasSubstr(kKey)));
}

TEST(OpenAIBackendTest, ErrorEventMidStream) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.StartChunked(200, "text/event-stream");
    exchange.WriteChunk(Chunk("abc") + SseEvent(R"({"error":{"message":"model crashed"}})"));
    exchange.EndChunked();
  });
  absl::StatusOr<GenerateResponse> response =
      Backend(server)->Generate(Hello(), [](absl::string_view) { return true; });
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->finish_reason, FinishReason::kError);
  EXPECT_THAT(response->error, HasSubstr("model crashed"));
}

TEST(OpenAIBackendTest, CallbackCancelsTheStream) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.StartChunked(200, "text/event-stream");
    for (int i = 0; i < 100; ++i) {
      exchange.WriteChunk(Chunk("word "));
      if (!exchange.Sleep(5)) return;
    }
    exchange.EndChunked();
  });
  int deltas = 0;
  absl::StatusOr<GenerateResponse> response =
      Backend(server)->Generate(Hello(), [&](absl::string_view) { return ++deltas < 3; });
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->finish_reason, FinishReason::kCancelled);
  EXPECT_EQ(response->text, "word word word ");
}

TEST(OpenAIBackendTest, OfficialApiNeedsAKey) {
  OpenAIOptions options;
  options.base_url = kOpenAIDefaultBaseUrl;
  options.api_key = "";
  if (std::getenv("OPENAI_API_KEY") != nullptr) GTEST_SKIP() << "OPENAI_API_KEY is set here";
  EXPECT_EQ(OpenAIBackend::Create(options).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace llive::backends
