// Bridge parameters and personas as parameter-layer artifacts.
#include "bridge/bridge_store.h"

#include <cmath>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"

namespace llive::bridge {
namespace {

absl::Status CheckFormatVersion(const memory::Artifact& artifact, int64_t readable) {
  if (artifact.format_version > readable) {
    return absl::FailedPreconditionError(absl::StrCat(
        artifact.kind, " artifact ", artifact.id, " (\"", artifact.name, "\") has format version ",
        artifact.format_version, "; this build reads up to ", readable, "; upgrade llive"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ThoughtVector> PersonaOf(const memory::Artifact& artifact) {
  if (absl::Status s = CheckFormatVersion(artifact, kPersonaFormatVersion); !s.ok()) return s;
  absl::StatusOr<ThoughtVector> target = ParsePersona(artifact.bytes);
  if (!target.ok()) {
    return absl::Status(target.status().code(),
                        absl::StrCat("persona \"", artifact.name, "\" (artifact ", artifact.id,
                                     "): ", target.status().message()));
  }
  return target;
}

}  // namespace

std::string BridgeParamsArtifactName(absl::string_view architecture,
                                     absl::string_view fingerprint) {
  return absl::StrCat(architecture, ":", fingerprint);
}

absl::StatusOr<int64_t> StoreBridgeParams(memory::MemoryStore& store, absl::string_view agent_id,
                                          const BridgeParams& params) {
  if (absl::Status s = ValidateBridgeParams(params); !s.ok()) return s;
  memory::ArtifactInput artifact;
  artifact.kind = kBridgeParamsArtifactKind;
  artifact.name = BridgeParamsArtifactName(params.architecture, params.model_fingerprint);
  artifact.bytes = SerializeBridgeParams(params);
  artifact.format_version = kBridgeParamsVersion;
  artifact.provenance.source_type = "bridge_fit";
  artifact.provenance.source_id = params.architecture;
  return store.PutArtifact(agent_id, artifact);
}

absl::StatusOr<BridgeParams> LoadBridgeParams(memory::MemoryStore& store,
                                              absl::string_view agent_id,
                                              absl::string_view architecture,
                                              absl::string_view fingerprint) {
  const std::string name = BridgeParamsArtifactName(architecture, fingerprint);
  absl::StatusOr<memory::Artifact> artifact =
      store.LatestArtifact(agent_id, kBridgeParamsArtifactKind, name);
  if (absl::IsNotFound(artifact.status())) {
    return absl::NotFoundError(absl::StrCat(
        "agent \"", agent_id, "\" has no bridge parameters for this ", architecture,
        " model (fingerprint ", fingerprint.substr(0, 16), "); fit them with `llive bridge fit`"));
  }
  if (!artifact.ok()) return artifact.status();
  if (absl::Status s = CheckFormatVersion(*artifact, kBridgeParamsVersion); !s.ok()) return s;
  absl::StatusOr<BridgeParams> params = ParseBridgeParams(artifact->bytes);
  if (!params.ok()) {
    return absl::Status(params.status().code(),
                        absl::StrCat("bridge parameters (artifact ", artifact->id, " of agent \"",
                                     agent_id, "\"): ", params.status().message()));
  }
  if (params->architecture != architecture || params->model_fingerprint != fingerprint) {
    return absl::DataLossError(absl::StrCat(
        "bridge parameters artifact ", artifact->id, " is named \"", name,
        "\" but holds the parameters of ", params->architecture, " model ",
        params->model_fingerprint.substr(0, 16), "; fit them again with `llive bridge fit`"));
  }
  return params;
}

absl::Status ValidatePersonaName(absl::string_view name) {
  bool valid = !name.empty() && name.size() <= 64;
  for (char c : name) {
    valid = valid && (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                      c == '.');
  }
  if (!valid) {
    return absl::InvalidArgumentError(
        absl::StrCat("persona name \"", name,
                     "\": use 1 to 64 letters, digits, '-', '_' or '.' (e.g. careful)"));
  }
  return absl::OkStatus();
}

std::string SerializePersona(const ThoughtVector& target) {
  nlohmann::ordered_json out = nlohmann::ordered_json::object();
  for (const Factor& factor : Factors()) out[std::string(factor.id)] = target[factor.index];
  return out.dump();
}

absl::StatusOr<ThoughtVector> ParsePersona(absl::string_view bytes) {
  nlohmann::json parsed = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr,
                                                /*allow_exceptions=*/false);
  if (!parsed.is_object()) {
    return absl::DataLossError("persona bytes are not a JSON object of factor scores");
  }
  ThoughtVector target{};
  for (const Factor& factor : Factors()) {
    auto it = parsed.find(std::string(factor.id));
    if (it == parsed.end() || !it->is_number() || !(it->get<double>() >= 0.0) ||
        !(it->get<double>() <= 1.0)) {
      return absl::DataLossError(
          absl::StrCat("persona bytes lack a score in [0, 1] for factor ", factor.id));
    }
    target[factor.index] = it->get<float>();
  }
  if (parsed.size() != static_cast<size_t>(kFactorCount)) {
    return absl::DataLossError("persona bytes hold keys that are not factor ids");
  }
  return target;
}

absl::StatusOr<int64_t> StorePersona(memory::MemoryStore& store, absl::string_view agent_id,
                                     absl::string_view name, const ThoughtVector& target) {
  if (absl::Status s = ValidatePersonaName(name); !s.ok()) return s;
  for (const Factor& factor : Factors()) {
    const float score = target[factor.index];
    if (!(score >= 0.0f && score <= 1.0f)) {
      return absl::InvalidArgumentError(
          absl::StrCat("persona \"", name, "\": ", factor.id, " = ", score, " is outside [0, 1]"));
    }
  }
  memory::ArtifactInput artifact;
  artifact.kind = kPersonaArtifactKind;
  artifact.name = std::string(name);
  artifact.bytes = SerializePersona(target);
  artifact.format_version = kPersonaFormatVersion;
  artifact.provenance.source_type = "bridge_persona";
  return store.PutArtifact(agent_id, artifact);
}

absl::StatusOr<ThoughtVector> LoadPersona(memory::MemoryStore& store, absl::string_view agent_id,
                                          absl::string_view name) {
  absl::StatusOr<memory::Artifact> artifact =
      store.LatestArtifact(agent_id, kPersonaArtifactKind, name);
  if (absl::IsNotFound(artifact.status())) {
    return absl::NotFoundError(absl::StrCat("agent \"", agent_id, "\" has no persona \"", name,
                                            "\"; add one with `llive bridge persona set ", name,
                                            " --target ...`"));
  }
  if (!artifact.ok()) return artifact.status();
  return PersonaOf(*artifact);
}

absl::StatusOr<std::map<std::string, ThoughtVector>> LoadPersonas(memory::MemoryStore& store,
                                                                  absl::string_view agent_id) {
  absl::StatusOr<std::vector<memory::Artifact>> artifacts =
      store.LatestArtifacts(agent_id, kPersonaArtifactKind);
  if (!artifacts.ok()) return artifacts.status();
  std::map<std::string, ThoughtVector> personas;
  for (const memory::Artifact& artifact : *artifacts) {
    absl::StatusOr<ThoughtVector> target = PersonaOf(artifact);
    if (!target.ok()) return target.status();
    personas.emplace(artifact.name, *target);
  }
  return personas;
}

}  // namespace llive::bridge
