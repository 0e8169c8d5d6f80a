// A small HTTP/1.1 client for model servers: TLS with verification, keep-alive pool,
// timeouts, bounded retries with backoff, proxies, and streamed response bodies.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "backends/http/proxy.h"

namespace llive::backends::http {

struct HttpClientOptions {
  // PEM file of the certificate authorities to trust; empty: the system store
  // (which honours SSL_CERT_FILE / SSL_CERT_DIR).
  std::string ca_file;
  // Resolving, connecting, proxy tunnel and TLS handshake together.
  int connect_timeout_ms = 10000;
  // Longest wait for the next bytes of a response (and for a request to be sent).
  // For a streamed answer it bounds the gap between chunks, not the whole answer.
  int read_timeout_ms = 60000;
  // Retries after 408, 429, 5xx (not 501/505) or a connection reset/refused, before
  // any part of the response body was handed to the caller. 0 turns retries off.
  int max_retries = 3;
  // Backoff: base * 2^retry with jitter, capped at retry_max_delay_ms. A Retry-After
  // longer than the cap ends the retries (the caller gets the 429/503 response).
  int retry_base_delay_ms = 500;
  int retry_max_delay_ms = 20000;
  // Request bodies larger than this are refused before sending (InvalidArgument).
  int64_t max_request_bytes = int64_t{32} << 20;
  // Response bodies larger than this end the call (ResourceExhausted).
  int64_t max_response_bytes = int64_t{64} << 20;
  // Keep-alive pool size per destination, and how long an idle connection is kept.
  int max_idle_connections_per_host = 16;
  int idle_timeout_ms = 30000;
  // Proxies; nullopt reads HTTP_PROXY / HTTPS_PROXY / NO_PROXY when the client is made.
  std::optional<ProxySettings> proxy;
};

struct HttpHeader {
  std::string name;
  std::string value;
};

struct HttpRequest {
  std::string method = "POST";
  std::string url;  // absolute http:// or https:// URL
  std::vector<HttpHeader> headers;  // Host, Content-Length and User-Agent are set for you
  std::string body;
};

struct HttpResponse {
  int status = 0;
  std::vector<HttpHeader> headers;
  std::string body;  // empty when the body was streamed to a callback
  int attempts = 0;  // 1 + retries made

  // The first header of that name (case-insensitive), or "".
  std::string Header(absl::string_view name) const;
};

// Receives a streamed body piece by piece, as the bytes arrive. A non-OK status ends
// the request; the call returns that status.
using BodyCallback = std::function<absl::Status(absl::string_view chunk)>;

// Thread-safe: any number of threads may send through one client at once. It owns
// one I/O thread (plus Asio's resolver thread while names are being resolved). All
// requests must have returned before the client is destroyed.
class HttpClient {
 public:
  // InvalidArgument for an unreadable CA file or bad proxy settings.
  static absl::StatusOr<std::unique_ptr<HttpClient>> Create(HttpClientOptions options);
  ~HttpClient();

  // Sends `request` and reads the whole response. Any final HTTP status, including
  // errors after retries ran out, is a successful call: check `status`. Non-OK for
  // what never got an HTTP answer: InvalidArgument (bad URL, request too large),
  // Unavailable (cannot connect, TLS failure, connection lost), DeadlineExceeded,
  // ResourceExhausted (response too large), Cancelled (`cancel` became true).
  absl::StatusOr<HttpResponse> Send(const HttpRequest& request,
                                    const std::atomic<bool>* cancel = nullptr);

  // As Send, but a 2xx body goes to `on_body` as it arrives (response.body stays
  // empty); other statuses collect their body as Send does. Once `on_body` has been
  // called the request is never retried, and a lost connection or timeout returns
  // its error (the caller decides what the partial body means).
  absl::StatusOr<HttpResponse> SendStreaming(const HttpRequest& request,
                                             const BodyCallback& on_body,
                                             const std::atomic<bool>* cancel = nullptr);

  // Idle pooled connections right now (for tests and diagnostics).
  int IdleConnectionCount() const;

  const HttpClientOptions& options() const { return options_; }

 private:
  struct Impl;
  explicit HttpClient(HttpClientOptions options);
  HttpClientOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace llive::backends::http
