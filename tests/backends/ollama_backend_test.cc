// End-to-end tests of the Ollama backend: /api/chat and /api/generate over NDJSON.
#include "backends/ollama_backend.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tests/backends/loopback_http_server.h"

namespace llive::backends {
namespace {

using ::llive::testing::Exchange;
using ::llive::testing::LoopbackHttpServer;
using ::testing::HasSubstr;

std::unique_ptr<OllamaBackend> Backend(const LoopbackHttpServer& server) {
  OllamaOptions options;
  options.base_url = server.url();
  options.model = "llama-test";
  options.num_ctx = 8192;
  options.http.read_timeout_ms = 300;
  options.http.retry_base_delay_ms = 5;
  options.http.proxy = http::ProxySettings{};
  absl::StatusOr<std::unique_ptr<OllamaBackend>> backend = OllamaBackend::Create(options);
  EXPECT_TRUE(backend.ok()) << backend.status();
  return *std::move(backend);
}

std::string ChatLines(const std::string& done_reason) {
  std::string lines;
  for (const char* piece : {"The ", "sky ", "is ", "blue."}) {
    lines += nlohmann::json({{"model", "llama-test"},
                             {"message", {{"role", "assistant"}, {"content", piece}}},
                             {"done", false}})
                 .dump() +
             "\n";
  }
  lines += nlohmann::json({{"model", "llama-test"},
                           {"message", {{"role", "assistant"}, {"content", ""}}},
                           {"done", true},
                           {"done_reason", done_reason},
                           {"prompt_eval_count", 26},
                           {"prompt_eval_duration", 130000000},
                           {"eval_count", 4},
                           {"eval_duration", 250000000}})
               .dump() +
           "\n";
  return lines;
}

TEST(OllamaBackendTest, ChatStreamSplitEverywhere) {
  for (size_t step : {1, 4, 13}) {
    nlohmann::json seen;
    LoopbackHttpServer server([&](Exchange& exchange) {
      seen = nlohmann::json::parse(exchange.request().body);
      EXPECT_EQ(exchange.request().target, "/api/chat");
      std::string body = ChatLines("stop");
      exchange.StartChunked(200, "application/x-ndjson");
      for (size_t i = 0; i < body.size(); i += step) exchange.WriteChunk(body.substr(i, step));
      exchange.EndChunked();
    });
    GenerateRequest request;
    request.messages = {{"user", "What colour is the sky?"}};
    request.max_tokens = 32;
    request.top_k = 20;
    std::string streamed;
    absl::StatusOr<GenerateResponse> response =
        Backend(server)->Generate(request, [&](absl::string_view delta) {
          streamed.append(delta.data(), delta.size());
          return true;
        });
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->text, "The sky is blue.");
    EXPECT_EQ(streamed, response->text);
    EXPECT_EQ(response->finish_reason, FinishReason::kStop);
    EXPECT_EQ(response->usage.prompt_tokens, 26);
    EXPECT_EQ(response->usage.completion_tokens, 4);
    EXPECT_DOUBLE_EQ(response->timings.prompt_ms, 130);
    EXPECT_DOUBLE_EQ(response->timings.generation_ms, 250);
    EXPECT_EQ(seen["options"]["num_ctx"], 8192);
    EXPECT_EQ(seen["options"]["num_predict"], 32);
    EXPECT_EQ(seen["options"]["top_k"], 20);
    EXPECT_EQ(seen["stream"], true);
  }
}

TEST(OllamaBackendTest, GenerateBufferedWithLengthLimit) {
  nlohmann::json seen;
  LoopbackHttpServer server([&](Exchange& exchange) {
    seen = nlohmann::json::parse(exchange.request().body);
    EXPECT_EQ(exchange.request().target, "/api/generate");
    exchange.Respond(200, "application/json",
                     R"({"model":"llama-test","response":"Once upon","done":true,)"
                     R"("done_reason":"length","prompt_eval_count":3,"eval_count":2})");
  });
  GenerateRequest request;
  request.prompt = "Tell a story";
  request.system = "Be short";
  request.max_tokens = 2;
  absl::StatusOr<GenerateResponse> response = Backend(server)->Generate(request);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->text, "Once upon");
  EXPECT_EQ(response->finish_reason, FinishReason::kLength);
  EXPECT_EQ(seen["prompt"], "Tell a story");
  EXPECT_EQ(seen["system"], "Be short");
  EXPECT_EQ(seen["stream"], false);
}

TEST(OllamaBackendTest, FailureModes) {
  LoopbackHttpServer server([](Exchange& exchange) {
    std::string body = ChatLines("stop");
    switch (exchange.request().index) {
      case 0:  // model missing
        exchange.Respond(404, "application/json", R"({"error":"model 'llama-test' not found"})");
        return;
      case 1:  // truncated after two lines
        exchange.StartChunked(200, "application/x-ndjson");
        exchange.WriteChunk(body.substr(0, body.find("is ") + 20));
        exchange.CloseAfter();
        return;
      case 2:  // an error line mid-stream
        exchange.StartChunked(200, "application/x-ndjson");
        exchange.WriteChunk(body.substr(0, body.find('\n') + 1) + R"({"error":"out of memory"})" +
                            "\n");
        exchange.EndChunked();
        return;
      default:  // malformed JSON line
        exchange.StartChunked(200, "application/x-ndjson");
        exchange.WriteChunk("{\"message\": {\"content\": \"x\"}, \"done\": fal\n");
        exchange.EndChunked();
        return;
    }
  });
  auto backend = Backend(server);
  GenerateRequest request;
  request.messages = {{"user", "hi"}};
  auto on_text = [](absl::string_view) { return true; };
  absl::StatusOr<GenerateResponse> missing = backend->Generate(request, on_text);
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("model 'llama-test' not found"));
  absl::StatusOr<GenerateResponse> truncated = backend->Generate(request, on_text);
  ASSERT_TRUE(truncated.ok());
  EXPECT_EQ(truncated->finish_reason, FinishReason::kError);
  EXPECT_EQ(truncated->text, "The sky ");
  absl::StatusOr<GenerateResponse> errored = backend->Generate(request, on_text);
  ASSERT_TRUE(errored.ok());
  EXPECT_EQ(errored->finish_reason, FinishReason::kError);
  EXPECT_THAT(errored->error, HasSubstr("out of memory"));
  absl::StatusOr<GenerateResponse> malformed = backend->Generate(request, on_text);
  EXPECT_EQ(malformed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(malformed.status().message(), HasSubstr("malformed JSON line"));
}

TEST(OllamaBackendTest, OllamaHostSpellings) {
  EXPECT_EQ(OllamaBaseUrl("127.0.0.1"), "http://127.0.0.1:11434");
  EXPECT_EQ(OllamaBaseUrl("0.0.0.0:9999"), "http://127.0.0.1:9999");
  EXPECT_EQ(OllamaBaseUrl("https://ollama.example"), "https://ollama.example:11434");
  EXPECT_EQ(OllamaBaseUrl("http://[::1]:1234"), "http://[::1]:1234");
  EXPECT_EQ(OllamaBaseUrl("gpu-box"), "http://gpu-box:11434");
}

}  // namespace
}  // namespace llive::backends
