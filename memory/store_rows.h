// Row layouts shared by the MemoryStore's layer files: the column lists they select and the
// functions that turn a row into a record. Internal to memory/.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "memory/records.h"
#include "memory/statement.h"

namespace llive::memory {

// A new record uid: 32 lowercase hex digits, 48 bits of milliseconds since the epoch then 80
// random bits, so uids sort (roughly) by creation time.
std::string NewUid();

// The agent as one FTS5 token ("ag" + hex of the id): the prefix of each of the agent's
// indexed terms (FtsDocument in fts_tokenizer.h).
std::string AgentToken(absl::string_view agent_id);

// SELECT lists, in the order the Read* functions expect.
inline constexpr char kEventColumns[] =
    "e.id, e.uid, e.agent_id, e.ts_ms, e.kind, e.content, e.metadata, e.privacy, e.provenance, "
    "e.surprise, e.importance, e.factors, e.phase, e.last_access_ms, e.access_count, m.name";
inline constexpr char kEntryColumns[] =
    "e.id, e.uid, e.agent_id, e.kind, e.content, e.metadata, e.privacy, e.provenance, "
    "e.importance, e.surprise, e.phase, e.created_ms, e.updated_ms, e.last_access_ms, "
    "e.access_count, m.name";
inline constexpr char kPageColumns[] =
    "id, uid, agent_id, title, summary, fields, privacy, provenance, phase, created_ms, "
    "updated_ms, last_access_ms, visits, reward_sum";
inline constexpr char kArtifactColumns[] =
    "id, uid, agent_id, kind, name, format_version, bytes, sha256, privacy, provenance, "
    "created_ms";

// DataLoss when a stored value cannot be read back (bad privacy, phase or provenance).
absl::StatusOr<Event> ReadEvent(const Statement& row);
absl::StatusOr<SemanticEntry> ReadEntry(const Statement& row);
absl::StatusOr<Page> ReadPage(const Statement& row);
absl::StatusOr<Artifact> ReadArtifact(const Statement& row);

}  // namespace llive::memory
