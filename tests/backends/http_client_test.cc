// Tests of the HTTP client against the loopback server: keep-alive, retries,
// timeouts, limits, cancellation, stale pooled connections and proxies.
#include "backends/http/http_client.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "tests/backends/loopback_http_server.h"

namespace llive::backends::http {
namespace {

using ::llive::testing::Exchange;
using ::llive::testing::LoopbackHttpServer;
using ::testing::HasSubstr;

// Short timeouts and backoff keep every test well under a second.
HttpClientOptions FastOptions() {
  HttpClientOptions options;
  options.connect_timeout_ms = 2000;
  options.read_timeout_ms = 300;
  options.retry_base_delay_ms = 5;
  options.retry_max_delay_ms = 1000;
  options.proxy = ProxySettings{};  // the test machine's proxy variables do not apply
  return options;
}

std::unique_ptr<HttpClient> MakeClient(HttpClientOptions options = FastOptions()) {
  absl::StatusOr<std::unique_ptr<HttpClient>> client = HttpClient::Create(std::move(options));
  EXPECT_TRUE(client.ok()) << client.status();
  return *std::move(client);
}

HttpRequest Post(const std::string& url, std::string body = "{}") {
  HttpRequest request;
  request.url = url;
  request.headers.push_back({"Content-Type", "application/json"});
  request.body = std::move(body);
  return request;
}

TEST(HttpClientTest, PostsAndReusesTheConnection) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.Respond(200, "text/plain",
                     absl::StrCat(exchange.request().method, " ", exchange.request().target, " ",
                                  exchange.request().body, " ", exchange.request().Header("Host")));
  });
  auto client = MakeClient();
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<HttpResponse> response = client->Send(Post(server.url() + "/v1/x?y=1", "hi"));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->status, 200);
    EXPECT_EQ(response->body, absl::StrCat("POST /v1/x?y=1 hi 127.0.0.1:", server.port()));
    EXPECT_EQ(response->attempts, 1);
  }
  EXPECT_EQ(server.connections_accepted(), 1);
  EXPECT_EQ(client->IdleConnectionCount(), 1);
}

TEST(HttpClientTest, RetriesA429ThenSucceedsHonouringRetryAfter) {
  LoopbackHttpServer server([](Exchange& exchange) {
    if (exchange.request().index == 0) {
      exchange.Respond(429, "application/json", R"({"error":{"message":"slow down"}})",
                       {{"Retry-After", "1"}});
    } else {
      exchange.Respond(200, "text/plain", "ok");
    }
  });
  HttpClientOptions options = FastOptions();
  options.retry_max_delay_ms = 2000;
  auto client = MakeClient(options);
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<HttpResponse> response = client->Send(Post(server.url()));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->attempts, 2);
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(950));
}

TEST(HttpClientTest, RetryAfterBeyondTheCapEndsRetrying) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.Respond(503, "text/plain", "maintenance", {{"Retry-After", "3600"}});
  });
  auto client = MakeClient();
  absl::StatusOr<HttpResponse> response = client->Send(Post(server.url()));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 503);
  EXPECT_EQ(server.requests(), 1);
}

TEST(HttpClientTest, GivesUpAfterBoundedRetries) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.Respond(500, "application/json", R"({"error":{"message":"boom"}})");
  });
  HttpClientOptions options = FastOptions();
  options.max_retries = 2;
  auto client = MakeClient(options);
  absl::StatusOr<HttpResponse> response = client->Send(Post(server.url()));
  ASSERT_TRUE(response.ok());
  EXPECT_EQ(response->status, 500);
  EXPECT_EQ(response->attempts, 3);
  EXPECT_EQ(server.requests(), 3);
  EXPECT_THAT(response->body, HasSubstr("boom"));
}

TEST(HttpClientTest, StalledServerHitsTheReadTimeout) {
  LoopbackHttpServer server([](Exchange& exchange) { exchange.Sleep(5000); });
  auto client = MakeClient();
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<HttpResponse> response = client->Send(Post(server.url()));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(response.status().message(), HasSubstr("timed out after 300 ms"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
  EXPECT_EQ(server.requests(), 1);  // a timeout is not retried
}

TEST(HttpClientTest, ResetConnectionIsRetried) {
  LoopbackHttpServer server([](Exchange& exchange) {
    if (exchange.request().index < 2) {
      exchange.Reset();
    } else {
      exchange.Respond(200, "text/plain", "third time");
    }
  });
  auto client = MakeClient();
  absl::StatusOr<HttpResponse> response = client->Send(Post(server.url()));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "third time");
  EXPECT_EQ(response->attempts, 3);
}

TEST(HttpClientTest, NoRetryAfterPartOfAStreamWasDelivered) {
  LoopbackHttpServer server([](Exchange& exchange) {
    exchange.StartChunked(200, "text/event-stream");
    exchange.WriteChunk("data: part\n\n");
    exchange.Sleep(50);
    exchange.Reset();
  });
  auto client = MakeClient();
  std::string received;
  absl::StatusOr<HttpResponse> response =
      client->SendStreaming(Post(server.url()), [&](absl::string_view chunk) {
        received.append(chunk.data(), chunk.size());
        return absl::OkStatus();
      });
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(received, "data: part\n\n");
  EXPECT_EQ(server.requests(), 1);
}

TEST(HttpClientTest, ConnectionRefusedIsUnavailable) {
  int port;
  {
    LoopbackHttpServer server([](Exchange&) {});
    port = server.port();
  }
  HttpClientOptions options = FastOptions();
  options.max_retries = 1;
  auto client = MakeClient(options);
  absl::StatusOr<HttpResponse> response =
      client->Send(Post(absl::StrCat("http://127.0.0.1:", port, "/")));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(response.status().message(), HasSubstr("connecting to 127.0.0.1"));
}

TEST(HttpClientTest, StalePooledConnectionIsReplacedTransparently) {
  LoopbackHttpServer server([](Exchange& exchange) {
    // Keep-alive response, then the server drops the idle connection.
    exchange.Respond(200, "text/plain", "ok");
    exchange.CloseAfter();
  });
  auto client = MakeClient();
  ASSERT_TRUE(client->Send(Post(server.url())).ok());
  ASSERT_TRUE(server.WaitForOpenConnections(0, 2000));
  absl::StatusOr<HttpResponse> second = client->Send(Post(server.url()));
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(second->attempts, 1);
  EXPECT_EQ(server.connections_accepted(), 2);
}

TEST(HttpClientTest, RequestAndResponseLimits) {
  LoopbackHttpServer server(
      [](Exchange& exchange) { exchange.Respond(200, "text/plain", std::string(5000, 'x')); });
  HttpClientOptions options = FastOptions();
  options.max_request_bytes = 100;
  options.max_response_bytes = 1000;
  auto client = MakeClient(options);
  absl::StatusOr<HttpResponse> too_big = client->Send(Post(server.url(), std::string(101, 'a')));
  EXPECT_EQ(too_big.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(too_big.status().message(), HasSubstr("101-byte body"));
  EXPECT_EQ(server.requests(), 0);
  absl::StatusOr<HttpResponse> large = client->Send(Post(server.url()));
  EXPECT_EQ(large.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(HttpClientTest, CancelFlagStopsAWait) {
  LoopbackHttpServer server([](Exchange& exchange) { exchange.Sleep(5000); });
  HttpClientOptions options = FastOptions();
  options.read_timeout_ms = 10000;
  auto client = MakeClient(options);
  std::atomic<bool> cancel{false};
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cancel = true;
  });
  auto start = std::chrono::steady_clock::now();
  absl::StatusOr<HttpResponse> response = client->Send(Post(server.url()), &cancel);
  canceller.join();
  EXPECT_EQ(response.status().code(), absl::StatusCode::kCancelled);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(2));
}

TEST(HttpClientTest, HeaderInjectionIsRefused) {
  auto client = MakeClient();
  HttpRequest request = Post("http://127.0.0.1:9/");
  request.headers.push_back({"Authorization", "Bearer sk-secret\r\nX-Evil: 1"});
  absl::StatusOr<HttpResponse> response = client->Send(request);
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(response.status().message()), ::testing::Not(HasSubstr("sk-secret")));
}

TEST(HttpClientTest, PlainHttpGoesThroughTheProxyInAbsoluteForm) {
  std::vector<std::string> seen;
  LoopbackHttpServer proxy([&](Exchange& exchange) {
    seen.push_back(exchange.request().method + " " + exchange.request().target + " " +
                   exchange.request().Header("Proxy-Authorization"));
    exchange.Respond(200, "text/plain", "via proxy");
  });
  HttpClientOptions options = FastOptions();
  options.proxy =
      ProxySettings{absl::StrCat("http://user:pw@127.0.0.1:", proxy.port()), "", "direct.example"};
  auto client = MakeClient(options);
  // The name cannot resolve: only the proxy can have answered.
  absl::StatusOr<HttpResponse> response = client->Send(Post("http://backend.invalid:8080/v1/x"));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->body, "via proxy");
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], "POST http://backend.invalid:8080/v1/x Basic dXNlcjpwdw==");
}

}  // namespace
}  // namespace llive::backends::http
