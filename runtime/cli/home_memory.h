// The memory store of a home, configured from its llive.json, for the commands that keep
// something in an agent's memory (`memory`, `bridge`).
#pragma once

#include <memory>

#include "absl/status/statusor.h"
#include "memory/memory_store.h"
#include "runtime/home.h"

namespace llive::cli {

// Opens `home`'s database with the embedder and the recall, gate and phase settings of its
// configuration. FailedPrecondition when memory.embedder names an embedder this CLI lacks
// (saying which setting to change); errors of MemoryStore::Open.
absl::StatusOr<std::unique_ptr<memory::MemoryStore>> OpenHomeMemory(const runtime::Home& home);

}  // namespace llive::cli
