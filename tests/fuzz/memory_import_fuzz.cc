// Fuzzes `MemoryStore::Import` (JSON Lines from users) against an in-memory-sized store: any
// bytes give a report or an error, and a failed import stores nothing.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>

#include "memory/memory_store.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/llive-fuzz-import-" + std::to_string(getpid()) + ".db";
  static std::unique_ptr<llive::memory::MemoryStore> store = [] {
    unlink(path.c_str());
    llive::memory::StoreOptions options;
    options.database_path = path;
    return *llive::memory::MemoryStore::Open(options);
  }();
  std::istringstream in(std::string(reinterpret_cast<const char*>(data), size));
  const int64_t before = store->RecentEvents("fuzz", 1000000)->size();
  absl::StatusOr<llive::memory::ImportReport> report = store->Import("fuzz", in);
  const int64_t after = store->RecentEvents("fuzz", 1000000)->size();
  if (!report.ok() && after != before) __builtin_trap();
  if (report.ok() && after != before + report->events) __builtin_trap();
  return 0;
}
