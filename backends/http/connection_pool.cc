// The keep-alive pool: LIFO per destination, so that a burst reuses warm connections
// and the oldest ones age out.
#include "backends/http/connection_pool.h"

namespace llive::backends::http {

ConnectionPool::ConnectionPool(int max_idle_per_key, std::chrono::milliseconds idle_timeout)
    : max_idle_per_key_(static_cast<size_t>(std::max(0, max_idle_per_key))),
      idle_timeout_(idle_timeout) {}

std::shared_ptr<Connection> ConnectionPool::Take(const std::string& key) {
  std::vector<std::shared_ptr<Connection>> stale;  // closed outside the lock
  std::shared_ptr<Connection> found;
  {
    absl::MutexLock lock(&mu_);
    auto it = idle_.find(key);
    if (it == idle_.end()) return nullptr;
    auto now = std::chrono::steady_clock::now();
    while (!it->second.empty() && found == nullptr) {
      std::shared_ptr<Connection> candidate = std::move(it->second.back());
      it->second.pop_back();
      if (now - candidate->idle_since <= idle_timeout_ && candidate->IsReusable()) {
        found = std::move(candidate);
      } else {
        stale.push_back(std::move(candidate));
      }
    }
    if (it->second.empty()) idle_.erase(it);
  }
  return found;
}

void ConnectionPool::Put(const std::string& key, std::shared_ptr<Connection> connection) {
  std::shared_ptr<Connection> evicted;
  connection->idle_since = std::chrono::steady_clock::now();
  absl::MutexLock lock(&mu_);
  if (max_idle_per_key_ == 0) return;
  std::vector<std::shared_ptr<Connection>>& list = idle_[key];
  if (list.size() >= max_idle_per_key_) {
    evicted = std::move(list.front());
    list.erase(list.begin());
  }
  list.push_back(std::move(connection));
}

int ConnectionPool::IdleCount() const {
  absl::MutexLock lock(&mu_);
  size_t count = 0;
  for (const auto& [key, list] : idle_) count += list.size();
  return static_cast<int>(count);
}

void ConnectionPool::Clear() {
  std::map<std::string, std::vector<std::shared_ptr<Connection>>> idle;
  {
    absl::MutexLock lock(&mu_);
    idle.swap(idle_);
  }
}

}  // namespace llive::backends::http
