// One HTTP/1.1 connection (plain or TLS, direct or through a proxy tunnel) driven
// synchronously from the calling thread while its I/O runs on the client's I/O thread.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "backends/http/url.h"
#include "boost/asio/io_context.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl/context.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/core/tcp_stream.hpp"
#include "boost/beast/http/buffer_body.hpp"
#include "boost/beast/http/parser.hpp"
#include "boost/beast/http/string_body.hpp"
#include "boost/beast/ssl/ssl_stream.hpp"

namespace llive::backends::http {

// How a blocking operation on a connection ended.
struct IoResult {
  enum class End { kCompleted, kTimedOut, kCancelled };
  End end = End::kCompleted;
  boost::system::error_code error;  // with kCompleted: the operation's own result

  bool ok() const { return end == End::kCompleted && !error; }
};

// Used by one thread at a time (the pool hands a connection to one request). Each
// operation blocks the calling thread until it completes, its timeout passes or
// `cancel` (polled) becomes true; after a timeout or cancellation the socket is closed
// and the connection must be dropped. Owned through shared_ptr because an abort posted
// to the I/O thread may outlive the call that posted it.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  using ResponseParser = boost::beast::http::response_parser<boost::beast::http::buffer_body>;

  // Resolves and connects to `target` (through `proxy` when set: plain requests go to
  // the proxy, https is tunnelled with CONNECT), then verifies the TLS certificate
  // against `tls` and the target's host name. All of it within `timeout`.
  // DeadlineExceeded on timeout, Cancelled, Unavailable otherwise; `*retryable` says
  // whether trying again could help (refused or reset connections, not certificate
  // errors).
  static absl::StatusOr<std::shared_ptr<Connection>> Open(
      boost::asio::io_context& io, boost::asio::ssl::context& tls, const Url& target,
      const std::optional<Url>& proxy, std::chrono::milliseconds timeout,
      const std::atomic<bool>* cancel, bool* retryable);

  IoResult Write(const boost::beast::http::request<boost::beast::http::string_body>& request,
                 std::chrono::milliseconds timeout, const std::atomic<bool>* cancel);

  // Reads the status line and headers into `parser`.
  IoResult ReadHeader(ResponseParser& parser, std::chrono::milliseconds timeout,
                      const std::atomic<bool>* cancel);

  // Reads what has arrived of the body (waiting up to `timeout` for anything) into
  // [buffer, buffer + size) and sets `*body_bytes` to how much of it was filled (0 is
  // possible, e.g. after a chunk header). `parser.is_done()` says when the body ended.
  IoResult ReadBody(ResponseParser& parser, char* buffer, size_t size, size_t* body_bytes,
                    std::chrono::milliseconds timeout, const std::atomic<bool>* cancel);

  // False when the peer closed the connection or sent unexpected bytes while it was
  // idle, so that a pooled connection is not reused after the server dropped it.
  bool IsReusable() const;

  const std::string& description() const { return description_; }
  std::chrono::steady_clock::time_point idle_since;

  // Private; use Open.
  struct PrivateTag {};
  Connection(PrivateTag, boost::asio::io_context& io, boost::asio::ssl::context& tls, bool use_tls,
             std::string description);

 private:
  template <class Initiate>
  IoResult Run(Initiate&& initiate, std::chrono::milliseconds timeout,
               const std::atomic<bool>* cancel);
  absl::Status Tunnel(const Url& target, const Url& proxy, std::chrono::milliseconds timeout,
                      const std::atomic<bool>* cancel, bool* retryable);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::resolver resolver_;
  boost::beast::ssl_stream<boost::beast::tcp_stream> stream_;
  boost::beast::flat_buffer buffer_;
  bool use_tls_;
  std::string description_;  // "HOST:PORT" (and " via proxy P") for messages
};

// A message for a failed operation on `connection` while doing `what` ("sending the
// request"), with the status code that fits: DeadlineExceeded, Cancelled,
// ResourceExhausted for a body over the limit, Unavailable otherwise.
absl::Status IoResultToStatus(const IoResult& result, const Connection& connection,
                              absl::string_view what, std::chrono::milliseconds timeout);

// True when the error means the connection died (reset, closed, broken pipe): the
// cases where a retry on a new connection may succeed.
bool IsConnectionLost(const boost::system::error_code& error);

}  // namespace llive::backends::http
