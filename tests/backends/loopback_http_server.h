// A real HTTP/1.1 (optionally TLS) server on 127.0.0.1 for tests: it accepts on a
// free port, parses each request, and lets the test answer with exact bytes, so
// that streams can be split at chosen boundaries, stalled, truncated or reset.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace llive::testing {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int index = 0;  // 0 for the first request the server received, across connections

  // The first header of that name (case-insensitive), or "".
  std::string Header(const std::string& name) const;
};

class LoopbackHttpServer;

// One request being answered. Writes go straight to the socket.
class Exchange {
 public:
  const ReceivedRequest& request() const { return request_; }

  // Raw bytes; false once the client is gone.
  bool Write(const std::string& bytes);
  // A complete response with Content-Length (keep-alive unless CloseAfter was called).
  void Respond(int status, const std::string& content_type, const std::string& body,
               const std::vector<std::pair<std::string, std::string>>& headers = {});
  // Chunked transfer encoding: headers, then one chunk per call, then the last chunk.
  void StartChunked(int status, const std::string& content_type);
  void WriteChunk(const std::string& data);
  void EndChunked();
  // Sleeps, waking early when the server stops. Returns false when it stopped.
  bool Sleep(int ms);
  // Close the connection after this exchange instead of keeping it alive.
  void CloseAfter() { close_after_ = true; }
  // End the connection with a reset (RST, not FIN) when the handler returns.
  void Reset();
  // The connection's socket, for tests that take over the raw bytes (a CONNECT tunnel).
  int fd() const { return fd_; }

 private:
  friend class LoopbackHttpServer;
  Exchange(LoopbackHttpServer& server, ReceivedRequest request,
           std::function<bool(const std::string&)> write, int fd)
      : server_(server), request_(std::move(request)), write_(std::move(write)), fd_(fd) {}
  LoopbackHttpServer& server_;
  ReceivedRequest request_;
  std::function<bool(const std::string&)> write_;
  int fd_;
  bool close_after_ = false;
};

using Handler = std::function<void(Exchange& exchange)>;

struct TlsIdentity {
  std::string certificate_chain_pem;
  std::string private_key_pem;
};

class LoopbackHttpServer {
 public:
  // Listens on 127.0.0.1 at a free port; `tls` makes it an https server.
  explicit LoopbackHttpServer(Handler handler, std::optional<TlsIdentity> tls = std::nullopt);
  ~LoopbackHttpServer();

  uint16_t port() const { return port_; }
  // "http://127.0.0.1:PORT" (or https).
  std::string url() const;

  int requests() const { return request_count_.load(); }
  int connections_accepted() const { return accepted_.load(); }
  int connections_open() const { return open_.load(); }
  // Waits up to `ms` for the open connection count to drop to `count`.
  bool WaitForOpenConnections(int count, int ms) const;

  // Stops accepting, shuts every connection, joins the threads.
  void Stop();

 private:
  friend class Exchange;
  void AcceptLoop();
  void Serve(int fd);
  template <class Stream>
  void ServeStream(Stream& stream, int fd);

  Handler handler_;
  std::optional<TlsIdentity> tls_;
  struct TlsState;
  std::unique_ptr<TlsState> tls_state_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::condition_variable stopped_cv_;
  bool stopping_ = false;
  std::set<int> fds_;
  std::vector<std::thread> workers_;
  std::atomic<int> request_count_{0};
  std::atomic<int> accepted_{0};
  std::atomic<int> open_{0};
};

// Response pieces as servers write them.
std::string SseEvent(const std::string& data, const std::string& event = "");

// Counts of this process's threads and open file descriptors (Linux /proc).
int ThreadCount();
int OpenFdCount();

}  // namespace llive::testing
