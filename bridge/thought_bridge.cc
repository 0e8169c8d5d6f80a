// Readout and minimal-norm write-back.
#include "bridge/thought_bridge.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "bridge/dense_matrix.h"

namespace llive::bridge {
namespace {

double Logit(double p) {
  p = std::clamp(p, 1e-6, 1.0 - 1e-6);
  return std::log(p / (1.0 - p));
}

}  // namespace

absl::StatusOr<ThoughtBridge> ThoughtBridge::Create(BridgeParams params) {
  if (absl::Status valid = ValidateBridgeParams(params); !valid.ok()) return valid;
  return ThoughtBridge(std::move(params));
}

absl::StatusOr<std::vector<double>> ThoughtBridge::Standardized(
    const backends::StateView& view) const {
  std::vector<double> features;
  if (absl::Status status = ExtractFeatures(params_.layout, view, features); !status.ok()) {
    return status;
  }
  for (size_t j = 0; j < features.size(); ++j) {
    features[j] = (features[j] - params_.standardizer.mean[j]) / params_.standardizer.scale[j];
  }
  return features;
}

FactorLogits ThoughtBridge::LogitsOf(const std::vector<double>& standardized) const {
  FactorLogits logits{};
  for (int f = 0; f < kFactorCount; ++f) {
    const std::vector<double>& weights = params_.probes[f].weights;
    double sum = params_.probes[f].bias;
    for (size_t j = 0; j < weights.size(); ++j) sum += weights[j] * standardized[j];
    logits[f] = sum;
  }
  return logits;
}

absl::StatusOr<FactorLogits> ThoughtBridge::ReadLogits(const backends::StateView& view) const {
  absl::StatusOr<std::vector<double>> z = Standardized(view);
  if (!z.ok()) return z.status();
  return LogitsOf(*z);
}

absl::StatusOr<ThoughtVector> ThoughtBridge::Read(const backends::StateView& view) const {
  absl::StatusOr<FactorLogits> logits = ReadLogits(view);
  if (!logits.ok()) return logits.status();
  ThoughtVector vector{};
  for (int f = 0; f < kFactorCount; ++f) {
    vector[f] = static_cast<float>(1.0 / (1.0 + std::exp(-(*logits)[f])));
  }
  return vector;
}

absl::StatusOr<std::vector<double>> ThoughtBridge::PlanChange(
    const std::vector<double>& standardized, const WriteRequest& request) const {
  if (!(request.strength >= 0.0 && request.strength <= 1.0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("write strength must lie in [0, 1], got ", request.strength));
  }
  std::array<bool, kFactorCount> chosen{};
  if (request.factors.empty()) chosen.fill(true);
  for (int f : request.factors) {
    if (f < 0 || f >= kFactorCount) {
      return absl::InvalidArgumentError(
          absl::StrCat("factor index ", f, " is outside 0..", kFactorCount - 1));
    }
    chosen[f] = true;
  }
  for (int f = 0; f < kFactorCount; ++f) {
    if (chosen[f] && !(request.target[f] >= 0.0f && request.target[f] <= 1.0f)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "target of \"", Factors()[f].id, "\" must lie in [0, 1], got ", request.target[f]));
    }
  }
  const size_t d = standardized.size();
  const FactorLogits current = LogitsOf(standardized);
  std::vector<double> residual(kFactorCount, 0.0);
  for (int f = 0; f < kFactorCount; ++f) {
    if (chosen[f]) residual[f] = Logit(request.target[f]) - current[f];
  }
  // Every factor is a constraint: the chosen ones move by their residual, the others by 0.
  DenseMatrix gram(kFactorCount, kFactorCount);
  double trace = 0;
  for (int a = 0; a < kFactorCount; ++a) {
    for (int b = 0; b <= a; ++b) {
      double sum = 0;
      const std::vector<double>& wa = params_.probes[a].weights;
      const std::vector<double>& wb = params_.probes[b].weights;
      for (size_t j = 0; j < d; ++j) sum += wa[j] * wb[j];
      gram.at(a, b) = gram.at(b, a) = sum;
    }
    trace += gram.at(a, a);
  }
  const double epsilon = request.relative_epsilon * std::max(trace / kFactorCount, 1e-300);
  for (int a = 0; a < kFactorCount; ++a) gram.at(a, a) += epsilon;
  absl::StatusOr<std::vector<double>> multipliers =
      SolveSymmetricPositiveDefinite(std::move(gram), residual);
  if (!multipliers.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the factor probes are degenerate (", multipliers.status().message(),
                     "); refit the bridge or raise relative_epsilon"));
  }
  std::vector<double> change(d, 0.0);
  for (int f = 0; f < kFactorCount; ++f) {
    const double scale = request.strength * (*multipliers)[f];
    const std::vector<double>& weights = params_.probes[f].weights;
    for (size_t j = 0; j < d; ++j) change[j] += scale * weights[j];
  }
  return change;
}

absl::Status ThoughtBridge::ApplyChange(const std::vector<double>& standardized_change,
                                        const backends::StateView& view) const {
  if (standardized_change.size() != params_.standardizer.scale.size()) {
    return absl::InvalidArgumentError(absl::StrCat("a change of ", standardized_change.size(),
                                                   " features for a bridge of ",
                                                   params_.standardizer.scale.size()));
  }
  std::vector<double> raw(standardized_change.size());
  for (size_t j = 0; j < raw.size(); ++j) {
    raw[j] = standardized_change[j] * params_.standardizer.scale[j];
  }
  return AddToFeatures(params_.layout, raw, view);
}

absl::StatusOr<WriteResult> ThoughtBridge::Write(const backends::StateView& view,
                                                 const WriteRequest& request) const {
  absl::StatusOr<std::vector<double>> z = Standardized(view);
  if (!z.ok()) return z.status();
  absl::StatusOr<std::vector<double>> change = PlanChange(*z, request);
  if (!change.ok()) return change.status();
  WriteResult result;
  result.before = LogitsOf(*z);
  for (size_t j = 0; j < z->size(); ++j) (*z)[j] += (*change)[j];
  result.planned = LogitsOf(*z);
  double standardized_norm = 0, raw_norm = 0;
  for (size_t j = 0; j < change->size(); ++j) {
    standardized_norm += (*change)[j] * (*change)[j];
    const double raw = (*change)[j] * params_.standardizer.scale[j];
    raw_norm += raw * raw;
  }
  result.standardized_change_norm = std::sqrt(standardized_norm);
  result.state_change_norm = std::sqrt(raw_norm);
  if (absl::Status status = ApplyChange(*change, view); !status.ok()) return status;
  return result;
}

}  // namespace llive::bridge
