// Load test: 200 concurrent streamed generate calls through one backend against the
// loopback server; every call succeeds and no thread, descriptor or connection is
// left behind.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "backends/openai_backend.h"
#include "nlohmann/json.hpp"
#include "tests/backends/loopback_http_server.h"

namespace llive::backends {
namespace {

using ::llive::testing::Exchange;
using ::llive::testing::LoopbackHttpServer;
using ::llive::testing::OpenFdCount;
using ::llive::testing::SseEvent;
using ::llive::testing::ThreadCount;

constexpr int kCalls = 200;

TEST(HttpLoadTest, TwoHundredConcurrentGenerateCalls) {
  const int threads_before = ThreadCount();
  const int fds_before = OpenFdCount();
  int max_idle = 0;
  {
    LoopbackHttpServer server([](Exchange& exchange) {
      nlohmann::json request = nlohmann::json::parse(exchange.request().body);
      std::string prompt = request["messages"].back()["content"];
      exchange.StartChunked(200, "text/event-stream");
      for (const std::string& piece : {std::string("echo "), prompt}) {
        exchange.WriteChunk(SseEvent(
            nlohmann::json({{"choices", {{{"index", 0}, {"delta", {{"content", piece}}}}}}})
                .dump()));
      }
      exchange.WriteChunk(
          SseEvent(R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})") +
          SseEvent("[DONE]"));
      exchange.EndChunked();
    });
    OpenAIOptions options;
    options.base_url = server.url() + "/v1";
    options.model = "load";
    options.http.read_timeout_ms = 20000;
    options.http.connect_timeout_ms = 20000;
    options.http.proxy = http::ProxySettings{};
    absl::StatusOr<std::unique_ptr<OpenAIBackend>> backend = OpenAIBackend::Create(options);
    ASSERT_TRUE(backend.ok()) << backend.status();

    std::vector<std::string> results(kCalls);
    std::vector<std::thread> callers;
    for (int i = 0; i < kCalls; ++i) {
      callers.emplace_back([&, i] {
        GenerateRequest request;
        request.prompt = absl::StrCat("call ", i);
        absl::StatusOr<GenerateResponse> response =
            (*backend)->Generate(request, [](absl::string_view) { return true; });
        results[i] = response.ok() ? absl::StrCat(response->text, "|",
                                                  FinishReasonName(response->finish_reason))
                                   : std::string(response.status().message());
      });
    }
    for (std::thread& caller : callers) caller.join();
    for (int i = 0; i < kCalls; ++i) EXPECT_EQ(results[i], absl::StrCat("echo call ", i, "|stop"));
    EXPECT_EQ(server.requests(), kCalls);
    max_idle = (*backend)->client().IdleConnectionCount();
    EXPECT_LE(max_idle, options.http.max_idle_connections_per_host);
    // A second wave reuses the pooled connections.
    int accepted = server.connections_accepted();
    GenerateRequest again;
    again.prompt = "again";
    ASSERT_TRUE((*backend)->Generate(again, [](absl::string_view) { return true; }).ok());
    EXPECT_EQ(server.connections_accepted(), accepted);
    backend->reset();  // closes the pool
    EXPECT_TRUE(server.WaitForOpenConnections(0, 5000)) << server.connections_open() << " open";
  }
  EXPECT_GT(max_idle, 0);
  EXPECT_EQ(ThreadCount(), threads_before);
  EXPECT_EQ(OpenFdCount(), fds_before);
}

}  // namespace
}  // namespace llive::backends
