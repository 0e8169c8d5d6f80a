// The HTTP client: request building, the retry loop, and one request/response
// exchange over a pooled or new connection.
#include "backends/http/http_client.h"

#include <random>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "backends/http/connection.h"
#include "backends/http/connection_pool.h"
#include "backends/http/retry_policy.h"
#include "backends/http/tls_context.h"
#include "boost/asio/executor_work_guard.hpp"
#include "spdlog/spdlog.h"

namespace llive::backends::http {
namespace {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using std::chrono::milliseconds;
using BeastRequest = bhttp::request<bhttp::string_body>;

// Error bodies are kept for messages; more than this is of no use to anyone.
constexpr size_t kMaxErrorBodyBytes = 64 << 10;
constexpr size_t kReadChunkBytes = 16 << 10;

// Sleeps for `delay`, waking early to return false when `cancel` becomes true.
bool SleepUnlessCancelled(milliseconds delay, const std::atomic<bool>* cancel) {
  auto until = std::chrono::steady_clock::now() + delay;
  while (std::chrono::steady_clock::now() < until) {
    if (cancel != nullptr && cancel->load()) return false;
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        milliseconds(20), until - std::chrono::steady_clock::now()));
  }
  return cancel == nullptr || !cancel->load();
}

absl::Status CheckOptions(const HttpClientOptions& options) {
  auto positive = [](int value, absl::string_view name) {
    return value > 0 ? absl::OkStatus()
                     : absl::InvalidArgumentError(
                           absl::StrCat("HTTP client option ", name, " must be positive, not ", value));
  };
  for (absl::Status s : {positive(options.connect_timeout_ms, "connect_timeout_ms"),
                         positive(options.read_timeout_ms, "read_timeout_ms"),
                         positive(options.idle_timeout_ms, "idle_timeout_ms")}) {
    if (!s.ok()) return s;
  }
  if (options.max_retries < 0 || options.retry_base_delay_ms < 0 ||
      options.retry_max_delay_ms < options.retry_base_delay_ms) {
    return absl::InvalidArgumentError(
        "HTTP client retry options need max_retries >= 0 and 0 <= retry_base_delay_ms <= "
        "retry_max_delay_ms");
  }
  return absl::OkStatus();
}

}  // namespace

std::string HttpResponse::Header(absl::string_view name) const {
  for (const HttpHeader& header : headers) {
    if (absl::EqualsIgnoreCase(header.name, name)) return header.value;
  }
  return "";
}

struct HttpClient::Impl {
  Impl(std::unique_ptr<asio::ssl::context> tls_context, ProxySettings proxy_settings,
       const HttpClientOptions& options)
      : work(io.get_executor()),
        tls(std::move(tls_context)),
        pool(options.max_idle_connections_per_host, milliseconds(options.idle_timeout_ms)),
        proxy(std::move(proxy_settings)),
        rng(std::random_device{}()) {
    io_thread = std::thread([this] { io.run(); });
  }

  // One request/response over a pooled or new connection. Sets `*delivered` once
  // body bytes went to `on_body`, `*retryable` when another attempt may help, and
  // `*retry_after` from the response's Retry-After header.
  absl::StatusOr<HttpResponse> Exchange(const HttpClientOptions& options, const Url& url,
                                        const std::optional<Url>& via, const std::string& key,
                                        const BeastRequest& request, const BodyCallback& on_body,
                                        const std::atomic<bool>* cancel, bool* delivered,
                                        bool* retryable, std::optional<milliseconds>* retry_after);

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::unique_ptr<asio::ssl::context> tls;
  ConnectionPool pool;
  ProxySettings proxy;
  std::thread io_thread;
  absl::Mutex rng_mu;
  std::mt19937_64 rng ABSL_GUARDED_BY(rng_mu);
};

absl::StatusOr<HttpResponse> HttpClient::Impl::Exchange(
    const HttpClientOptions& options, const Url& url, const std::optional<Url>& via,
    const std::string& key, const BeastRequest& request, const BodyCallback& on_body,
    const std::atomic<bool>* cancel, bool* delivered, bool* retryable,
    std::optional<milliseconds>* retry_after) {
  const milliseconds read_timeout(options.read_timeout_ms);
  std::shared_ptr<Connection> connection = pool.Take(key);
  bool reused = connection != nullptr;
  std::optional<Connection::ResponseParser> parser;
  while (true) {
    if (connection == nullptr) {
      absl::StatusOr<std::shared_ptr<Connection>> opened =
          Connection::Open(io, *tls, url, via, milliseconds(options.connect_timeout_ms), cancel,
                           retryable);
      if (!opened.ok()) return opened.status();
      connection = *std::move(opened);
    }
    IoResult written = connection->Write(request, read_timeout, cancel);
    parser.emplace();
    parser->header_limit(64 << 10);
    parser->body_limit(static_cast<uint64_t>(options.max_response_bytes));
    IoResult header = written.ok() ? connection->ReadHeader(*parser, read_timeout, cancel) : written;
    if (header.ok()) break;
    bool lost = header.end == IoResult::End::kCompleted && IsConnectionLost(header.error);
    if (lost && reused) {
      // The server had closed the idle connection; that is no failure of this request.
      reused = false;
      connection.reset();
      continue;
    }
    *retryable = lost;
    return IoResultToStatus(header, *connection,
                            written.ok() ? "waiting for the response" : "sending the request",
                            read_timeout);
  }

  HttpResponse response;
  response.status = parser->get().result_int();
  for (const auto& field : parser->get()) {
    response.headers.push_back({std::string(field.name_string()), std::string(field.value())});
  }
  bool success = response.status >= 200 && response.status <= 299;
  if (!success) {
    *retryable = IsRetryableStatus(response.status);
    if (std::string value = response.Header("Retry-After"); !value.empty()) {
      *retry_after = ParseRetryAfter(value, std::chrono::system_clock::now());
    }
  }
  std::string chunk(kReadChunkBytes, '\0');
  while (!parser->is_done()) {
    size_t body_bytes = 0;
    IoResult read =
        connection->ReadBody(*parser, chunk.data(), chunk.size(), &body_bytes, read_timeout, cancel);
    if (body_bytes > 0) {
      absl::string_view piece(chunk.data(), body_bytes);
      if (success) {
        *delivered = true;
        if (absl::Status s = on_body(piece); !s.ok()) return s;  // drops the connection
      } else if (response.body.size() < kMaxErrorBodyBytes) {
        absl::string_view kept = piece.substr(0, kMaxErrorBodyBytes - response.body.size());
        response.body.append(kept.data(), kept.size());
      }
    }
    if (!read.ok()) {
      if (!success && read.end == IoResult::End::kCompleted) return response;  // status says it
      return IoResultToStatus(read, *connection, "reading the response body", read_timeout);
    }
  }
  if (parser->keep_alive() && request.keep_alive()) pool.Put(key, std::move(connection));
  return response;
}

HttpClient::HttpClient(HttpClientOptions options) : options_(std::move(options)) {}

HttpClient::~HttpClient() {
  impl_->pool.Clear();
  impl_->work.reset();  // run() returns once the last posted abort has run
  impl_->io_thread.join();
}

absl::StatusOr<std::unique_ptr<HttpClient>> HttpClient::Create(HttpClientOptions options) {
  if (absl::Status s = CheckOptions(options); !s.ok()) return s;
  absl::StatusOr<std::unique_ptr<asio::ssl::context>> tls = MakeClientTlsContext(options.ca_file);
  if (!tls.ok()) return tls.status();
  ProxySettings proxy = options.proxy ? *options.proxy : ProxySettings::FromEnvironment();
  std::unique_ptr<HttpClient> client(new HttpClient(std::move(options)));
  client->impl_ = std::make_unique<Impl>(*std::move(tls), std::move(proxy), client->options_);
  return client;
}

int HttpClient::IdleConnectionCount() const { return impl_->pool.IdleCount(); }

absl::StatusOr<HttpResponse> HttpClient::Send(const HttpRequest& request,
                                              const std::atomic<bool>* cancel) {
  std::string body;
  absl::StatusOr<HttpResponse> response = SendStreaming(
      request,
      [&body](absl::string_view chunk) {
        body.append(chunk.data(), chunk.size());
        return absl::OkStatus();
      },
      cancel);
  if (response.ok() && response->status >= 200 && response->status <= 299) {
    response->body = std::move(body);
  }
  return response;
}

absl::StatusOr<HttpResponse> HttpClient::SendStreaming(const HttpRequest& request,
                                                       const BodyCallback& on_body,
                                                       const std::atomic<bool>* cancel) {
  absl::StatusOr<Url> url = ParseUrl(request.url);
  if (!url.ok()) return url.status();
  if (static_cast<int64_t>(request.body.size()) > options_.max_request_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("request to ", url->Redacted(), " has a ",
                                                   request.body.size(),
                                                   "-byte body, more than the limit of ",
                                                   options_.max_request_bytes, " bytes"));
  }
  bhttp::verb verb = bhttp::string_to_verb(request.method);
  if (verb == bhttp::verb::unknown || verb == bhttp::verb::connect) {
    return absl::InvalidArgumentError(absl::StrCat("unsupported HTTP method \"", request.method, "\""));
  }
  absl::StatusOr<std::optional<Url>> via = ProxyFor(impl_->proxy, *url);
  if (!via.ok()) return via.status();
  // Through a proxy, plain http requests name the whole URL; https ones go through a
  // CONNECT tunnel and look direct.
  bool absolute_form = via->has_value() && !url->IsTls();
  BeastRequest beast_request(verb, absolute_form ? url->Redacted() : url->target, 11);
  bool default_port = url->port == (url->IsTls() ? 443 : 80);
  std::string host = url->Authority();
  if (default_port) host = host.substr(0, host.rfind(':'));
  beast_request.set(bhttp::field::host, host);
  beast_request.set(bhttp::field::user_agent, "llive");
  for (const HttpHeader& header : request.headers) {
    if (header.name.find_first_of("\r\n:") != std::string::npos ||
        header.value.find_first_of("\r\n") != std::string::npos) {
      // The value is not quoted: it may be a credential.
      return absl::InvalidArgumentError(
          absl::StrCat("HTTP header \"", header.name.substr(0, 64),
                       "\" contains a line break or colon; refusing to send it"));
    }
    beast_request.set(header.name, header.value);
  }
  if (via->has_value() && !url->IsTls() && !(*via)->userinfo.empty()) {
    beast_request.set(bhttp::field::proxy_authorization,
                      absl::StrCat("Basic ", absl::Base64Escape((*via)->userinfo)));
  }
  beast_request.body() = request.body;
  beast_request.prepare_payload();
  beast_request.keep_alive(true);
  std::string key = absl::StrCat(url->scheme, "://", url->Authority());
  if (via->has_value()) absl::StrAppend(&key, " via ", (*via)->Authority());

  for (int attempt = 0;; ++attempt) {
    bool delivered = false;
    bool retryable = false;
    std::optional<milliseconds> retry_after;
    absl::StatusOr<HttpResponse> result =
        impl_->Exchange(options_, *url, *via, key, beast_request, on_body, cancel, &delivered,
                        &retryable, &retry_after);
    if (result.ok()) result->attempts = attempt + 1;
    if (!retryable || delivered || attempt >= options_.max_retries) return result;
    milliseconds delay;
    {
      absl::MutexLock lock(&impl_->rng_mu);
      delay = BackoffDelay(attempt, milliseconds(options_.retry_base_delay_ms),
                           milliseconds(options_.retry_max_delay_ms), impl_->rng);
    }
    if (retry_after.has_value()) {
      if (*retry_after > milliseconds(options_.retry_max_delay_ms)) return result;
      delay = std::max(delay, *retry_after);
    }
    spdlog::debug("HTTP {} {}: {}; retry {} of {} in {} ms", request.method, url->Redacted(),
                  result.ok() ? absl::StrCat("status ", result->status)
                              : std::string(result.status().message()),
                  attempt + 1, options_.max_retries, delay.count());
    if (!SleepUnlessCancelled(delay, cancel)) {
      return absl::CancelledError(absl::StrCat("cancelled while waiting to retry ", url->Redacted()));
    }
  }
}

}  // namespace llive::backends::http
