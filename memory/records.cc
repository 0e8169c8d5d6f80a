// Names of the enumerations in records.h as they appear in SQL, JSON and the CLI.
#include "memory/records.h"

#include <array>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace llive::memory {
namespace {

constexpr std::array<absl::string_view, 3> kPrivacyNames = {"private", "shared", "public"};
constexpr std::array<absl::string_view, 5> kPhaseNames = {"hot", "warm", "cold", "archived",
                                                          "erased"};
constexpr std::array<absl::string_view, 4> kLayerNames = {"episodic", "semantic", "structural",
                                                          "parameter"};
constexpr std::array<absl::string_view, 6> kEdgeTypeNames = {"derived_from",   "contradicts",
                                                             "generalizes",    "temporal_after",
                                                             "co_occurs_with", "linked_concept"};

template <typename Enum, size_t N>
absl::StatusOr<Enum> Parse(const std::array<absl::string_view, N>& names, absl::string_view name,
                           absl::string_view what) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == name) return static_cast<Enum>(i);
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown ", what, " \"", name, "\"; use one of ", absl::StrJoin(names, ", ")));
}

}  // namespace

absl::string_view PrivacyName(PrivacyClass privacy) {
  return kPrivacyNames[static_cast<size_t>(privacy)];
}
absl::StatusOr<PrivacyClass> ParsePrivacy(absl::string_view name) {
  return Parse<PrivacyClass>(kPrivacyNames, name, "privacy class");
}
absl::string_view PhaseName(Phase phase) { return kPhaseNames[static_cast<size_t>(phase)]; }
absl::StatusOr<Phase> ParsePhase(absl::string_view name) {
  return Parse<Phase>(kPhaseNames, name, "phase");
}
absl::string_view LayerName(Layer layer) { return kLayerNames[static_cast<size_t>(layer)]; }
absl::StatusOr<Layer> ParseLayer(absl::string_view name) {
  return Parse<Layer>(kLayerNames, name, "layer");
}
absl::string_view EdgeTypeName(EdgeType type) { return kEdgeTypeNames[static_cast<size_t>(type)]; }
absl::StatusOr<EdgeType> ParseEdgeType(absl::string_view name) {
  return Parse<EdgeType>(kEdgeTypeNames, name, "edge type");
}

}  // namespace llive::memory
