// Throughput and latency of streamed OpenAI-compatible generate calls through one
// backend (shared keep-alive pool) against a loopback server, by concurrency. It
// measures llive's HTTP path (client, TLS-less socket I/O, SSE parsing, JSON), not a
// model: the server answers each call with 32 streamed pieces at once.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/openai_backend.h"
#include "tests/backends/loopback_http_server.h"

namespace {

using llive::testing::Exchange;
using llive::testing::LoopbackHttpServer;

std::string Piece(int i) {
  return llive::testing::SseEvent(
      absl::StrCat(R"({"choices":[{"index":0,"delta":{"content":"tok)", i, R"( "}}]})"));
}

}  // namespace

int main() {
  std::string body;
  for (int i = 0; i < 32; ++i) body += Piece(i);
  body +=
      llive::testing::SseEvent(R"({"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]})");
  body += llive::testing::SseEvent("[DONE]");
  LoopbackHttpServer server([&](Exchange& exchange) {
    exchange.StartChunked(200, "text/event-stream");
    exchange.WriteChunk(body);
    exchange.EndChunked();
  });
  llive::backends::OpenAIOptions options;
  options.base_url = server.url() + "/v1";
  options.model = "bench";
  options.http.proxy = llive::backends::http::ProxySettings{};
  options.http.max_idle_connections_per_host = 256;
  auto backend = llive::backends::OpenAIBackend::Create(options);
  if (!backend.ok()) {
    std::fprintf(stderr, "%s\n", std::string(backend.status().message()).c_str());
    return 1;
  }
  std::printf("%-12s %8s %10s %10s %10s %8s\n", "concurrency", "calls", "calls/s", "p50_ms",
              "p99_ms", "errors");
  for (int concurrency : {1, 8, 64, 200}) {
    const int calls_per_thread = std::max(4, 800 / concurrency);
    std::vector<std::vector<double>> latencies(concurrency);
    std::atomic<int> errors{0};
    auto start = std::chrono::steady_clock::now();
    std::vector<std::thread> threads;
    for (int t = 0; t < concurrency; ++t) {
      threads.emplace_back([&, t] {
        for (int c = 0; c < calls_per_thread; ++c) {
          llive::backends::GenerateRequest request;
          request.prompt = "bench";
          auto call_start = std::chrono::steady_clock::now();
          auto response = (*backend)->Generate(request, [](absl::string_view) { return true; });
          if (!response.ok() || response->text.size() < 32) ++errors;
          latencies[t].push_back(std::chrono::duration<double, std::milli>(
                                     std::chrono::steady_clock::now() - call_start)
                                     .count());
        }
      });
    }
    for (std::thread& thread : threads) thread.join();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::vector<double> all;
    for (const auto& list : latencies) all.insert(all.end(), list.begin(), list.end());
    std::sort(all.begin(), all.end());
    std::printf("%-12d %8zu %10.0f %10.2f %10.2f %8d\n", concurrency, all.size(),
                all.size() / seconds, all[all.size() / 2], all[all.size() * 99 / 100],
                errors.load());
  }
  return 0;
}
