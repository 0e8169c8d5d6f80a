// Idle keep-alive connections, by destination, for reuse by later requests.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "backends/http/connection.h"

namespace llive::backends::http {

// Thread-safe. A connection is either in the pool (idle) or held by exactly one request.
class ConnectionPool {
 public:
  // Keeps at most `max_idle_per_key` idle connections per destination and drops those
  // idle for longer than `idle_timeout` (servers close them around then anyway).
  ConnectionPool(int max_idle_per_key, std::chrono::milliseconds idle_timeout);

  // The most recently used idle connection to `key` that still looks alive, or null.
  std::shared_ptr<Connection> Take(const std::string& key);

  // Returns a connection whose last response was complete and keep-alive.
  void Put(const std::string& key, std::shared_ptr<Connection> connection);

  int IdleCount() const;

  // Closes every idle connection.
  void Clear();

 private:
  const size_t max_idle_per_key_;
  const std::chrono::milliseconds idle_timeout_;
  mutable absl::Mutex mu_;
  std::map<std::string, std::vector<std::shared_ptr<Connection>>> idle_ ABSL_GUARDED_BY(mu_);
};

}  // namespace llive::backends::http
