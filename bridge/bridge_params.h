// Fitted bridge parameters for one model (feature layout, standardisation, the ten probes,
// persona targets) and their byte format: magic, version, payload, SHA-256.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "bridge/factors.h"
#include "bridge/probe_fit.h"
#include "bridge/state_features.h"

namespace llive::bridge {

struct BridgeParams {
  std::string architecture;         // ModelInfo::architecture of the model fitted on
  std::string model_fingerprint;    // ModelInfo::fingerprint; states of other models are refused
  FeatureSpec spec;                 // what was asked for
  FeatureLayout layout;             // what it resolved to
  Standardizer standardizer;        // layout.size() means and scales
  std::vector<FactorProbe> probes;  // kFactorCount, Factors() order
  // Persona targets: named vectors that a write-back can aim at.
  std::map<std::string, ThoughtVector> personas;
};

// Checks the internal consistency of `params` (ten probes, every vector layout.size() long,
// finite numbers, positive scales, persona scores in [0, 1]). InvalidArgument naming the
// first problem.
absl::Status ValidateBridgeParams(const BridgeParams& params);

// The byte form: "LLBRIDGE", format version (uint32), payload length (uint64), payload, and the
// SHA-256 of everything before it. Little-endian throughout.
inline constexpr uint32_t kBridgeParamsVersion = 1;
std::string SerializeBridgeParams(const BridgeParams& params);

// Parses the byte form. DataLoss for a wrong magic, a checksum mismatch, a truncated or
// inconsistent payload; FailedPrecondition for a format version this build does not read.
absl::StatusOr<BridgeParams> ParseBridgeParams(absl::string_view bytes);

}  // namespace llive::bridge
