// The bridge at run time: reads a state as a ThoughtVector and writes a target vector back.
#pragma once

#include <array>
#include <vector>

#include "absl/status/statusor.h"
#include "backends/stateful_backend.h"
#include "bridge/bridge_params.h"
#include "bridge/factors.h"

namespace llive::bridge {

// Logits of the ten factors (before the sigmoid), Factors() order.
using FactorLogits = std::array<double, kFactorCount>;

struct WriteRequest {
  ThoughtVector target{};    // wanted scores, each in [0, 1] (clamped to [1e-6, 1 - 1e-6])
  double strength = 1.0;     // in [0, 1]: the fraction of the minimal change that is applied
  std::vector<int> factors;  // factor indices to move; empty moves all ten
  // Tikhonov term of the minimal-norm solve, relative to the mean diagonal of W Wᵀ; keeps the
  // solve stable when two probes point almost the same way.
  double relative_epsilon = 1e-10;
};

struct WriteResult {
  FactorLogits before{};                // readout logits before the change
  FactorLogits planned{};               // logits the change aims at (before + strength * residual)
  double standardized_change_norm = 0;  // |dz| in standardised feature space
  double state_change_norm = 0;         // |dx| in raw state units
};

// Immutable after Create; Read and Write may run on several threads for different states.
class ThoughtBridge {
 public:
  // Validates `params` (ValidateBridgeParams).
  static absl::StatusOr<ThoughtBridge> Create(BridgeParams params);

  const BridgeParams& params() const { return params_; }

  // The standardised features of `view`. FailedPrecondition when the view does not match the
  // parameters' layout (another model).
  absl::StatusOr<std::vector<double>> Standardized(const backends::StateView& view) const;

  // Readout: logits W z + b and the ThoughtVector sigmoid(W z + b).
  FactorLogits LogitsOf(const std::vector<double>& standardized) const;
  absl::StatusOr<FactorLogits> ReadLogits(const backends::StateView& view) const;
  absl::StatusOr<ThoughtVector> Read(const backends::StateView& view) const;

  // The minimal-norm change dz (standardised space) that moves the chosen factors' logits from
  // their values at `standardized` to logit(target) and keeps the other factors' logits where
  // they are: dz = Wᵀ (W Wᵀ + εI)⁻¹ r with r = logit(target) - (W z + b) on chosen factors and
  // 0 on the others, scaled by strength. InvalidArgument for a target or strength outside
  // [0, 1] or an unknown factor index.
  absl::StatusOr<std::vector<double>> PlanChange(const std::vector<double>& standardized,
                                                 const WriteRequest& request) const;

  // Adds a standardised change to the state's selected features (dx = dz * scale).
  absl::Status ApplyChange(const std::vector<double>& standardized_change,
                           const backends::StateView& view) const;

  // PlanChange on the current state, then ApplyChange. The change takes effect at the state's
  // next Feed or Step (StateView contract). Errors of both.
  absl::StatusOr<WriteResult> Write(const backends::StateView& view,
                                    const WriteRequest& request) const;

 private:
  explicit ThoughtBridge(BridgeParams params) : params_(std::move(params)) {}
  BridgeParams params_;
};

}  // namespace llive::bridge
