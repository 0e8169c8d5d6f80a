// Bridge parameters and persona targets kept in an agent's parameter layer (memory/): a model's
// fitted parameters are one "bridge_params" artifact per model, each persona target one
// "bridge_persona" artifact named after the persona. The store checks every artifact's sha256
// on read; the parameters' bytes carry their own version and checksum as well.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bridge/bridge_params.h"
#include "bridge/factors.h"
#include "memory/memory_store.h"

namespace llive::bridge {

inline constexpr char kBridgeParamsArtifactKind[] = "bridge_params";
inline constexpr char kPersonaArtifactKind[] = "bridge_persona";
inline constexpr int64_t kPersonaFormatVersion = 1;

// The artifact name of one model's bridge parameters: "<architecture>:<fingerprint>", so that
// the parameters of every model an agent uses are kept side by side.
std::string BridgeParamsArtifactName(absl::string_view architecture, absl::string_view fingerprint);

// Stores `params` (SerializeBridgeParams) as a new bridge_params artifact of `agent_id`, named
// after its model; later reads get the newest. Returns the artifact id. InvalidArgument from
// ValidateBridgeParams (nothing stored); errors of MemoryStore::PutArtifact.
absl::StatusOr<int64_t> StoreBridgeParams(memory::MemoryStore& store, absl::string_view agent_id,
                                          const BridgeParams& params);

// The newest bridge parameters of the model `architecture` + `fingerprint` stored for
// `agent_id`. NotFound when there are none (the message names the agent and the model and says
// to run `llive bridge fit`); DataLoss when the artifact fails its sha256, the bytes their own
// checksum, or they hold another model's parameters; FailedPrecondition for a format version
// this build does not read.
absl::StatusOr<BridgeParams> LoadBridgeParams(memory::MemoryStore& store,
                                              absl::string_view agent_id,
                                              absl::string_view architecture,
                                              absl::string_view fingerprint);

// A persona name is 1 to 64 bytes of letters, digits, '-', '_' and '.'. InvalidArgument
// naming the name otherwise.
absl::Status ValidatePersonaName(absl::string_view name);

// A persona target's bytes: a JSON object with each of the ten factor ids and its score.
std::string SerializePersona(const ThoughtVector& target);
// DataLoss for bytes that are not such an object (a factor missing, unknown, or not a number
// in [0, 1]).
absl::StatusOr<ThoughtVector> ParsePersona(absl::string_view bytes);

// Stores `target` as the persona `name` of `agent_id` (a new version; the newest is read).
// InvalidArgument for a bad name or a score outside [0, 1]; errors of PutArtifact.
absl::StatusOr<int64_t> StorePersona(memory::MemoryStore& store, absl::string_view agent_id,
                                     absl::string_view name, const ThoughtVector& target);

// The newest target of persona `name`. NotFound when the agent has no such persona; DataLoss
// and FailedPrecondition as for LoadBridgeParams.
absl::StatusOr<ThoughtVector> LoadPersona(memory::MemoryStore& store, absl::string_view agent_id,
                                          absl::string_view name);

// Every persona of `agent_id` (newest version of each), by name. Errors as LoadPersona, for the
// first persona that cannot be read.
absl::StatusOr<std::map<std::string, ThoughtVector>> LoadPersonas(memory::MemoryStore& store,
                                                                  absl::string_view agent_id);

}  // namespace llive::bridge
