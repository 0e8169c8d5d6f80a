// The factor table: the single place that names the ten thought factors.
#include "bridge/factors.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace llive::bridge {
namespace {

constexpr std::array<Factor, kFactorCount> kFactors = {{
    {0, "structure", "Structure", "構造化", "decomposing a problem into parts"},
    {1, "recomposition", "Recomposition", "再構成", "generating alternatives"},
    {2, "closed_loop", "Closed loop", "閉ループ", "carrying a verification plan"},
    {3, "self_extension", "Self-extension", "自己拡張", "using external resources (memory, tools)"},
    {4, "uncertainty", "Uncertainty", "不確実性", "separating hypothesis from fact"},
    {5, "exploration", "Exploration", "探索", "trying unexplored options"},
    {6, "alignment", "Alignment", "整合", "re-checking against global constraints"},
    {7, "provenance", "Provenance", "来歴", "keeping the decision history"},
    {8, "multi_perspective", "Multi-perspective", "多視点", "separating evaluation viewpoints"},
    {9, "grounding", "Grounding", "現実接続", "handling real-world constraints"},
}};

}  // namespace

std::span<const Factor, kFactorCount> Factors() { return kFactors; }

absl::StatusOr<Factor> FindFactor(absl::string_view id) {
  for (const Factor& factor : kFactors) {
    if (factor.id == id) return factor;
  }
  std::vector<absl::string_view> ids;
  for (const Factor& factor : kFactors) ids.push_back(factor.id);
  return absl::NotFoundError(
      absl::StrCat("unknown factor \"", id, "\"; the factors are: ", absl::StrJoin(ids, ", ")));
}

}  // namespace llive::bridge
