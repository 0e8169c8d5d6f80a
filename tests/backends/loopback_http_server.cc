// The loopback test server: blocking sockets, one thread per connection, Beast for
// request parsing, OpenSSL through Asio for TLS.
#include "tests/backends/loopback_http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/ssl.hpp"
#include "boost/asio/write.hpp"
#include "boost/beast/core/flat_buffer.hpp"
#include "boost/beast/http.hpp"

namespace llive::testing {

namespace asio = boost::asio;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

struct LoopbackHttpServer::TlsState {
  asio::io_context io;
  asio::ssl::context context{asio::ssl::context::tls_server};
};

std::string ReceivedRequest::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (absl::EqualsIgnoreCase(key, name)) return value;
  }
  return "";
}

bool Exchange::Write(const std::string& bytes) { return write_(bytes); }

void Exchange::Respond(int status, const std::string& content_type, const std::string& body,
                       const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string head = absl::StrCat("HTTP/1.1 ", status, " Test\r\nContent-Type: ", content_type,
                                  "\r\nContent-Length: ", body.size(), "\r\n");
  for (const auto& [name, value] : headers) absl::StrAppend(&head, name, ": ", value, "\r\n");
  if (close_after_) absl::StrAppend(&head, "Connection: close\r\n");
  Write(absl::StrCat(head, "\r\n", body));
}

void Exchange::StartChunked(int status, const std::string& content_type) {
  Write(absl::StrCat("HTTP/1.1 ", status, " Test\r\nContent-Type: ", content_type,
                     "\r\nTransfer-Encoding: chunked\r\n",
                     close_after_ ? "Connection: close\r\n" : "", "\r\n"));
}

void Exchange::WriteChunk(const std::string& data) {
  if (data.empty()) return;  // an empty chunk would end the body
  Write(absl::StrCat(absl::Hex(data.size()), "\r\n", data, "\r\n"));
}

void Exchange::EndChunked() { Write("0\r\n\r\n"); }

bool Exchange::Sleep(int ms) {
  std::unique_lock lock(server_.mu_);
  return !server_.stopped_cv_.wait_for(lock, std::chrono::milliseconds(ms),
                                       [this] { return server_.stopping_; });
}

void Exchange::Reset() {
  linger option{1, 0};  // close with RST
  ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  close_after_ = true;  // the server closes the socket when the handler returns
}

LoopbackHttpServer::LoopbackHttpServer(Handler handler, std::optional<TlsIdentity> tls)
    : handler_(std::move(handler)), tls_(std::move(tls)) {
  if (tls_) {
    tls_state_ = std::make_unique<TlsState>();
    tls_state_->context.use_certificate_chain(
        asio::buffer(tls_->certificate_chain_pem.data(), tls_->certificate_chain_pem.size()));
    tls_state_->context.use_private_key(
        asio::buffer(tls_->private_key_pem.data(), tls_->private_key_pem.size()),
        asio::ssl::context::pem);
  }
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      ::listen(listen_fd_, 512) != 0) {
    throw std::runtime_error("loopback server: cannot listen on 127.0.0.1");
  }
  socklen_t length = sizeof address;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
}

LoopbackHttpServer::~LoopbackHttpServer() { Stop(); }

std::string LoopbackHttpServer::url() const {
  return absl::StrCat(tls_ ? "https" : "http", "://127.0.0.1:", port_);
}

bool LoopbackHttpServer::WaitForOpenConnections(int count, int ms) const {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (open_.load() != count) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void LoopbackHttpServer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  stopped_cv_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    workers.swap(workers_);
  }
  for (std::thread& worker : workers) worker.join();
}

void LoopbackHttpServer::AcceptLoop() {
  while (true) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down by Stop
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    std::lock_guard lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    ++accepted_;
    ++open_;
    fds_.insert(fd);
    workers_.emplace_back([this, fd] { Serve(fd); });
  }
}

void LoopbackHttpServer::Serve(int fd) {
  asio::io_context io;
  boost::system::error_code error;
  tcp::socket socket(io);
  socket.assign(tcp::v4(), fd, error);
  if (!error) {
    if (tls_) {
      asio::ssl::stream<tcp::socket&> stream(socket, tls_state_->context);
      stream.handshake(asio::ssl::stream_base::server, error);
      if (!error) ServeStream(stream, fd);
    } else {
      ServeStream(socket, fd);
    }
  }
  {
    std::lock_guard lock(mu_);
    fds_.erase(fd);
  }
  socket.close(error);
  --open_;
}

template <class Stream>
void LoopbackHttpServer::ServeStream(Stream& stream, int fd) {
  boost::beast::flat_buffer buffer;
  while (true) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(64 << 20);
    boost::system::error_code error;
    bhttp::read(stream, buffer, parser, error);
    if (error) return;
    const auto& message = parser.get();
    ReceivedRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      request.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    request.body = message.body();
    request.index = request_count_++;
    bool alive = true;
    Exchange exchange(
        *this, std::move(request),
        [&stream, &alive](const std::string& bytes) {
          if (!alive) return false;
          boost::system::error_code write_error;
          asio::write(stream, asio::buffer(bytes), write_error);
          if (write_error) alive = false;
          return alive;
        },
        fd);
    handler_(exchange);
    if (exchange.close_after_ || !alive || !parser.keep_alive()) return;
  }
}

std::string SseEvent(const std::string& data, const std::string& event) {
  std::string text = event.empty() ? "" : absl::StrCat("event: ", event, "\n");
  return absl::StrCat(text, "data: ", data, "\n\n");
}

int ThreadCount() {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/task")) {
    (void)entry;
    ++count;
  }
  return count;
}

int OpenFdCount() {
  int count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    (void)entry;
    ++count;
  }
  return count;
}

}  // namespace llive::testing
