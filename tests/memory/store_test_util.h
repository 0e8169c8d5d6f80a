// Opening a MemoryStore in a test's temporary folder.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "memory/memory_store.h"
#include "tests/testing/temp_dir.h"

namespace llive::memory {

inline StoreOptions TestOptions(const testing::TempDir& dir) {
  StoreOptions options;
  options.database_path = dir.File("memory.db");
  options.index_dir = dir.File("indexes");
  return options;
}

inline std::unique_ptr<MemoryStore> OpenOrDie(StoreOptions options) {
  absl::StatusOr<std::unique_ptr<MemoryStore>> store = MemoryStore::Open(std::move(options));
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

inline EventInput Message(std::string content, int64_t ts_ms = 0) {
  EventInput event;
  event.kind = "user";
  event.content = std::move(content);
  event.ts_ms = ts_ms;
  return event;
}

inline PageInput Titled(std::string title, std::vector<int64_t> linked_events = {}) {
  PageInput page;
  page.title = std::move(title);
  page.linked_events = std::move(linked_events);
  return page;
}

inline RecallQuery Query(std::string agent_id, std::string text) {
  RecallQuery query;
  query.agent_id = std::move(agent_id);
  query.text = std::move(text);
  return query;
}

// The hits of `query`, or none (with a test failure) when recall fails.
inline std::vector<RecallHit> RecallOrFail(MemoryStore& store, const RecallQuery& query) {
  absl::StatusOr<std::vector<RecallHit>> hits = store.Recall(query);
  EXPECT_TRUE(hits.ok()) << hits.status();
  return hits.ok() ? *std::move(hits) : std::vector<RecallHit>{};
}

inline std::string ReadBytes(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream buffer;
  buffer << file.rdbuf();
  return buffer.str();
}

}  // namespace llive::memory
