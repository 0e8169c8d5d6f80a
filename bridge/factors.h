// The ten thought factors that the bridge reads from and writes into a model's state.
#pragma once

#include <array>
#include <span>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace llive::bridge {

inline constexpr int kFactorCount = 10;

struct Factor {
  int index;                      // 0-based position in a ThoughtVector
  absl::string_view id;           // stable identifier, e.g. "closed_loop"
  absl::string_view name_en;      // English display name
  absl::string_view name_ja;      // Japanese display name
  absl::string_view description;  // the thinking the factor marks
};

// The factors in their fixed order; the order is part of every stored format.
std::span<const Factor, kFactorCount> Factors();

// Looks a factor up by id. Returns NotFound listing the valid ids otherwise.
absl::StatusOr<Factor> FindFactor(absl::string_view id);

// Ten scores in [0, 1], one per factor, in Factors() order.
using ThoughtVector = std::array<float, kFactorCount>;

}  // namespace llive::bridge
