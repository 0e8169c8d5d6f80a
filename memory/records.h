// The records of llive's four memory layers and what every record carries: the agent it
// belongs to, a privacy class and provenance.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llive::memory {

// Who may see a record beyond its agent. Public records are never erased by ageing.
enum class PrivacyClass { kPrivate, kShared, kPublic };

// The life of a record by time since last access (DESIGN.md: 7/30/90/180 days). Erased
// records are deleted, so kErased is never stored; it is what the phase manager decides.
enum class Phase { kHot, kWarm, kCold, kArchived, kErased };

// The memory layers, as recall filters name them.
enum class Layer { kEpisodic, kSemantic, kStructural, kParameter };

// The six kinds of edges between concept pages.
enum class EdgeType {
  kDerivedFrom,
  kContradicts,
  kGeneralizes,
  kTemporalAfter,
  kCoOccursWith,
  kLinkedConcept
};

absl::string_view PrivacyName(PrivacyClass privacy);
absl::StatusOr<PrivacyClass> ParsePrivacy(absl::string_view name);
absl::string_view PhaseName(Phase phase);
absl::StatusOr<Phase> ParsePhase(absl::string_view name);
absl::string_view LayerName(Layer layer);
absl::StatusOr<Layer> ParseLayer(absl::string_view name);
absl::string_view EdgeTypeName(EdgeType type);
absl::StatusOr<EdgeType> ParseEdgeType(absl::string_view name);

// Where a record came from and how far to trust it.
struct Provenance {
  std::string source_type;                // e.g. "user", "agent", "tool", "consolidation"
  std::string source_id;                  // e.g. a session or tool call id
  std::string signed_by;                  // key id of a signer; empty when unsigned
  std::string signature;                  // signature bytes; empty when unsigned
  std::vector<std::string> derived_from;  // uids of the records this one was made from
  double confidence = 1.0;                // in [0, 1]
  int64_t created_at_ms = 0;              // Unix ms; 0 means "when stored"
};

// What a caller supplies to append one episodic event.
struct EventInput {
  std::string kind = "message";  // kind or role: "user", "assistant", "tool", "observation"
  std::string content;           // valid UTF-8, non-empty, at most max_content_bytes
  std::string metadata = "{}";   // a JSON object
  int64_t ts_ms = 0;             // event time, Unix ms; 0 means now
  double importance = 0.5;       // in [0, 1]
  PrivacyClass privacy = PrivacyClass::kPrivate;
  Provenance provenance;
};

// An episodic event as stored.
struct Event {
  int64_t id = 0;   // append order within the database
  std::string uid;  // globally unique, stable across export and import
  std::string agent_id;
  int64_t ts_ms = 0;
  std::string kind;
  std::string content;
  std::string metadata;
  PrivacyClass privacy = PrivacyClass::kPrivate;
  Provenance provenance;
  double surprise = 0;  // 1 - max cosine to recent memory when appended
  double importance = 0;
  std::vector<float> factors;  // thought factors, empty until consolidation sets them
  Phase phase = Phase::kHot;
  int64_t last_access_ms = 0;
  int64_t access_count = 0;
  std::string embedder;  // "id/version" of the embedder that made its vector
};

// A distilled semantic entry (concept summary, fact).
struct SemanticEntryInput {
  std::string kind = "fact";
  std::string content;
  std::string metadata = "{}";
  double importance = 0.5;
  PrivacyClass privacy = PrivacyClass::kPrivate;
  Provenance provenance;
};

struct SemanticEntry {
  int64_t id = 0;
  std::string uid;
  std::string agent_id;
  std::string kind;
  std::string content;
  std::string metadata;
  PrivacyClass privacy = PrivacyClass::kPrivate;
  Provenance provenance;
  double importance = 0;
  double surprise = 0;
  Phase phase = Phase::kHot;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t last_access_ms = 0;
  int64_t access_count = 0;
  std::string embedder;
};

// A concept page of the structural layer.
struct PageInput {
  std::string title;  // unique per agent
  std::string summary;
  std::string fields = "{}";           // a JSON object of named fields
  std::vector<int64_t> linked_events;  // episodic event ids of the same agent
  PrivacyClass privacy = PrivacyClass::kPrivate;
  Provenance provenance;
};

struct Page {
  int64_t id = 0;
  std::string uid;
  std::string agent_id;
  std::string title;
  std::string summary;
  std::string fields;
  std::vector<int64_t> linked_events;
  PrivacyClass privacy = PrivacyClass::kPrivate;
  Provenance provenance;
  Phase phase = Phase::kHot;
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  int64_t last_access_ms = 0;
  int64_t visits = 0;     // times chosen, for UCB1
  double reward_sum = 0;  // total reward of those visits, for UCB1
};

// A typed weighted edge between two pages of one agent.
struct Edge {
  int64_t source = 0;
  int64_t target = 0;
  EdgeType type = EdgeType::kLinkedConcept;
  double weight = 0;
  bool dormant = false;  // weight below the dormancy floor
  int64_t updated_ms = 0;
};

// A parameter-layer artifact: opaque bytes with a version and a checksum.
struct ArtifactInput {
  std::string kind;  // "state_snapshot", "bridge_params", "adapter"
  std::string name;
  std::string bytes;
  int64_t format_version = 1;
  PrivacyClass privacy = PrivacyClass::kPrivate;
  Provenance provenance;
};

struct Artifact {
  int64_t id = 0;
  std::string uid;
  std::string agent_id;
  std::string kind;
  std::string name;
  std::string bytes;
  int64_t format_version = 1;
  std::string sha256_hex;
  PrivacyClass privacy = PrivacyClass::kPrivate;
  Provenance provenance;
  int64_t created_ms = 0;
};

}  // namespace llive::memory
