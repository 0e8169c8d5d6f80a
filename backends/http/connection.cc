// Connection set-up (resolve, connect, CONNECT tunnel, TLS handshake) and blocking
// reads and writes with timeouts and cancellation on top of Beast's async operations.
#include "backends/http/connection.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <poll.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "boost/asio/post.hpp"
#include "boost/beast/http/empty_body.hpp"
#include "boost/beast/http/error.hpp"
#include "boost/beast/http/read.hpp"
#include "boost/beast/http/write.hpp"

namespace llive::backends::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

// Shared between the waiting thread and the completion handler on the I/O thread.
struct Completion {
  absl::Mutex mu;
  bool done ABSL_GUARDED_BY(mu) = false;
  beast::error_code error ABSL_GUARDED_BY(mu);
};

// The completion handler of every operation; accepts any (error_code, ...) signature.
struct Done {
  std::shared_ptr<Completion> completion;
  template <class... Rest>
  void operator()(beast::error_code error, Rest&&...) const {
    absl::MutexLock lock(&completion->mu);
    completion->error = error;
    completion->done = true;
  }
};

// How often a wait with a cancellation flag looks at the flag.
constexpr absl::Duration kCancelPollInterval = absl::Milliseconds(20);

std::string TlsFailureMessage(SSL* ssl, const std::string& host, const beast::error_code& error) {
  long verify = SSL_get_verify_result(ssl);
  if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH) {
    return absl::StrCat("TLS certificate of ", host,
                        " is not valid for that host name (it was issued for another name); "
                        "connect with the name the certificate names");
  }
  if (verify != X509_V_OK) {
    return absl::StrCat("TLS certificate of ", host, " was rejected: ",
                        X509_verify_cert_error_string(verify),
                        "; if the server uses a private CA, configure its CA file "
                        "(or set SSL_CERT_FILE)");
  }
  return absl::StrCat("TLS handshake with ", host, " failed: ", error.message());
}

}  // namespace

bool IsConnectionLost(const beast::error_code& error) {
  return error == asio::error::eof || error == asio::error::connection_reset ||
         error == asio::error::broken_pipe || error == asio::error::connection_aborted ||
         error == asio::error::connection_refused || error == bhttp::error::end_of_stream ||
         error == asio::ssl::error::stream_truncated;
}

absl::Status IoResultToStatus(const IoResult& result, const Connection& connection,
                              absl::string_view what, std::chrono::milliseconds timeout) {
  switch (result.end) {
    case IoResult::End::kTimedOut:
      return absl::DeadlineExceededError(absl::StrCat(
          "timed out after ", timeout.count(), " ms ", what, " (", connection.description(),
          "); the server stalled; raise the timeout if it is just slow"));
    case IoResult::End::kCancelled:
      return absl::CancelledError(absl::StrCat("cancelled while ", what));
    case IoResult::End::kCompleted:
      break;
  }
  const beast::error_code& error = result.error;
  if (error == bhttp::error::body_limit || error == bhttp::error::header_limit) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "the response from ", connection.description(), " is larger than allowed (", what, ")"));
  }
  if (error == bhttp::error::partial_message) {
    return absl::UnavailableError(absl::StrCat("the connection to ", connection.description(),
                                               " closed before the response ended (", what,
                                               "); the answer was truncated"));
  }
  if (IsConnectionLost(error)) {
    return absl::UnavailableError(absl::StrCat("the connection to ", connection.description(),
                                               " was closed by the server while ", what, " (",
                                               error.message(), ")"));
  }
  if (error.category() == bhttp::make_error_code(bhttp::error::end_of_stream).category()) {
    return absl::UnavailableError(absl::StrCat("malformed HTTP from ", connection.description(),
                                               " while ", what, ": ", error.message()));
  }
  return absl::UnavailableError(absl::StrCat("I/O error with ", connection.description(),
                                             " while ", what, ": ", error.message()));
}

Connection::Connection(PrivateTag, asio::io_context& io, asio::ssl::context& tls, bool use_tls,
                       std::string description)
    : io_(io),
      resolver_(io),
      stream_(io, tls),
      use_tls_(use_tls),
      description_(std::move(description)) {}

template <class Initiate>
IoResult Connection::Run(Initiate&& initiate, std::chrono::milliseconds timeout,
                         const std::atomic<bool>* cancel) {
  auto completion = std::make_shared<Completion>();
  // Starting an operation from this thread is safe: nothing else touches this
  // connection until its handler has run on the I/O thread.
  initiate(Done{completion});
  IoResult result;
  absl::Time deadline = absl::Now() + absl::FromChrono(timeout);
  absl::MutexLock lock(&completion->mu);
  while (true) {
    absl::Time wake = cancel != nullptr ? std::min(deadline, absl::Now() + kCancelPollInterval)
                                        : deadline;
    if (completion->mu.AwaitWithDeadline(absl::Condition(&completion->done), wake)) break;
    bool cancelled = cancel != nullptr && cancel->load();
    if (!cancelled && absl::Now() < deadline) continue;
    result.end = cancelled ? IoResult::End::kCancelled : IoResult::End::kTimedOut;
    // Closing on the I/O thread aborts whatever step of the operation is pending.
    asio::post(io_, [self = shared_from_this()] {
      beast::error_code ignored;
      self->resolver_.cancel();
      beast::get_lowest_layer(self->stream_).socket().close(ignored);
    });
    completion->mu.Await(absl::Condition(&completion->done));
    break;
  }
  result.error = completion->error;
  return result;
}

absl::StatusOr<std::shared_ptr<Connection>> Connection::Open(
    asio::io_context& io, asio::ssl::context& tls, const Url& target,
    const std::optional<Url>& proxy, std::chrono::milliseconds timeout,
    const std::atomic<bool>* cancel, bool* retryable) {
  *retryable = false;
  std::string description = target.Authority();
  if (proxy) absl::StrAppend(&description, " via proxy ", proxy->Authority());
  auto connection =
      std::make_shared<Connection>(PrivateTag{}, io, tls, target.IsTls(), std::move(description));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        deadline - std::chrono::steady_clock::now()));
  };
  auto fail = [&](const IoResult& result, absl::string_view what) {
    *retryable = result.end == IoResult::End::kCompleted && IsConnectionLost(result.error);
    if (result.end == IoResult::End::kTimedOut) {
      return absl::DeadlineExceededError(absl::StrCat("timed out after ", timeout.count(), " ms ",
                                                      what, " (connect timeout)"));
    }
    if (result.end == IoResult::End::kCancelled) {
      return absl::CancelledError(absl::StrCat("cancelled while ", what));
    }
    return absl::UnavailableError(absl::StrCat(what, " failed: ", result.error.message()));
  };

  const Url& hop = proxy ? *proxy : target;
  tcp::resolver::results_type endpoints;
  IoResult resolved = connection->Run(
      [&](Done done) {
        connection->resolver_.async_resolve(
            hop.host, std::to_string(hop.port),
            [&endpoints, done](beast::error_code error, tcp::resolver::results_type results) {
              endpoints = std::move(results);
              done(error);
            });
      },
      left(), cancel);
  if (!resolved.ok()) {
    return fail(resolved, absl::StrCat("resolving ", proxy ? "proxy " : "", hop.host));
  }
  IoResult connected = connection->Run(
      [&](Done done) {
        beast::get_lowest_layer(connection->stream_).async_connect(endpoints, done);
      },
      left(), cancel);
  if (!connected.ok()) {
    return fail(connected, absl::StrCat("connecting to ", proxy ? "proxy " : "", hop.Authority()));
  }
  beast::get_lowest_layer(connection->stream_).socket().set_option(tcp::no_delay(true));
  if (proxy && target.IsTls()) {
    if (absl::Status s = connection->Tunnel(target, *proxy, left(), cancel, retryable); !s.ok()) {
      return s;
    }
  }
  if (!target.IsTls()) return connection;

  SSL* ssl = connection->stream_.native_handle();
  beast::error_code ip_error;
  asio::ip::make_address(target.host, ip_error);
  bool host_is_ip = !ip_error;
  if (!host_is_ip) SSL_set_tlsext_host_name(ssl, target.host.c_str());
  X509_VERIFY_PARAM* params = SSL_get0_param(ssl);
  int named = host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(params, target.host.c_str())
                         : X509_VERIFY_PARAM_set1_host(params, target.host.c_str(), 0);
  if (named != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot verify TLS for host \"", target.host, "\""));
  }
  IoResult handshake = connection->Run(
      [&](Done done) { connection->stream_.async_handshake(asio::ssl::stream_base::client, done); },
      left(), cancel);
  if (!handshake.ok()) {
    if (handshake.end != IoResult::End::kCompleted) {
      return fail(handshake, absl::StrCat("in the TLS handshake with ", target.Authority()));
    }
    *retryable = IsConnectionLost(handshake.error) && SSL_get_verify_result(ssl) == X509_V_OK;
    return absl::UnavailableError(TlsFailureMessage(ssl, target.host, handshake.error));
  }
  return connection;
}

absl::Status Connection::Tunnel(const Url& target, const Url& proxy,
                                std::chrono::milliseconds timeout, const std::atomic<bool>* cancel,
                                bool* retryable) {
  bhttp::request<bhttp::empty_body> request(bhttp::verb::connect, target.Authority(), 11);
  request.set(bhttp::field::host, target.Authority());
  if (!proxy.userinfo.empty()) {
    request.set(bhttp::field::proxy_authorization,
                absl::StrCat("Basic ", absl::Base64Escape(proxy.userinfo)));
  }
  auto& tcp_layer = beast::get_lowest_layer(stream_);
  IoResult written =
      Run([&](Done done) { bhttp::async_write(tcp_layer, request, done); }, timeout, cancel);
  bhttp::response_parser<bhttp::empty_body> parser;
  parser.skip(true);  // a successful CONNECT response has no body: the tunnel follows
  IoResult read = written.ok() ? Run(
                                     [&](Done done) {
                                       bhttp::async_read_header(tcp_layer, buffer_, parser, done);
                                     },
                                     timeout, cancel)
                               : written;
  if (!read.ok()) {
    *retryable = read.end == IoResult::End::kCompleted && IsConnectionLost(read.error);
    return IoResultToStatus(read, *this, "opening the proxy tunnel", timeout);
  }
  int status = parser.get().result_int();
  if (status != 200) {
    *retryable = status == 502 || status == 503 || status == 504;
    return absl::UnavailableError(absl::StrCat("proxy ", proxy.Authority(),
                                               " refused the tunnel to ", target.Authority(), ": ",
                                               status, " ", std::string(parser.get().reason()),
                                               status == 407 ? " (check the proxy credentials)" : ""));
  }
  if (buffer_.size() != 0) {
    return absl::UnavailableError(absl::StrCat(
        "proxy ", proxy.Authority(), " sent data before the TLS handshake; it is not a tunnel"));
  }
  return absl::OkStatus();
}

IoResult Connection::Write(const bhttp::request<bhttp::string_body>& request,
                           std::chrono::milliseconds timeout, const std::atomic<bool>* cancel) {
  return Run(
      [&](Done done) {
        if (use_tls_) {
          bhttp::async_write(stream_, request, done);
        } else {
          bhttp::async_write(stream_.next_layer(), request, done);
        }
      },
      timeout, cancel);
}

IoResult Connection::ReadHeader(ResponseParser& parser, std::chrono::milliseconds timeout,
                                const std::atomic<bool>* cancel) {
  return Run(
      [&](Done done) {
        if (use_tls_) {
          bhttp::async_read_header(stream_, buffer_, parser, done);
        } else {
          bhttp::async_read_header(stream_.next_layer(), buffer_, parser, done);
        }
      },
      timeout, cancel);
}

IoResult Connection::ReadBody(ResponseParser& parser, char* buffer, size_t size,
                              size_t* body_bytes, std::chrono::milliseconds timeout,
                              const std::atomic<bool>* cancel) {
  parser.get().body().data = buffer;
  parser.get().body().size = size;
  IoResult result = Run(
      [&](Done done) {
        if (use_tls_) {
          bhttp::async_read_some(stream_, buffer_, parser, done);
        } else {
          bhttp::async_read_some(stream_.next_layer(), buffer_, parser, done);
        }
      },
      timeout, cancel);
  *body_bytes = size - parser.get().body().size;
  if (result.error == bhttp::error::need_buffer) result.error = {};
  return result;
}

bool Connection::IsReusable() const {
  const auto& socket = beast::get_lowest_layer(stream_).socket();
  if (!socket.is_open() || buffer_.size() != 0) return false;
  pollfd descriptor{const_cast<tcp::socket&>(socket).native_handle(), POLLIN, 0};
  // Readable while idle means the server closed it (EOF) or misbehaved.
  return ::poll(&descriptor, 1, 0) == 0;
}

}  // namespace llive::backends::http
