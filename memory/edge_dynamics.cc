// Edge weight updates; the store applies them inside its transactions.
#include "memory/edge_dynamics.h"

#include <algorithm>
#include <cmath>

namespace llive::memory {

double DecayTauDays(EdgeType type) {
  switch (type) {
    case EdgeType::kLinkedConcept:
      return 30;
    case EdgeType::kCoOccursWith:
      return 7;
    case EdgeType::kTemporalAfter:
      return 14;
    default:
      return 0;
  }
}

double ClipWeight(double weight) { return std::clamp(weight, 0.0, 1.0); }

double AfterReadHit(EdgeType type, double weight) {
  return type == EdgeType::kLinkedConcept ? ClipWeight(weight + kReadHitBoost) : weight;
}

double AfterContradiction(double weight) { return ClipWeight(weight - kContradictionPenalty); }

double AfterSurprise(double weight, double surprise) {
  return ClipWeight(weight + kSurpriseBoost * std::clamp(surprise, 0.0, 1.0));
}

double AfterDecay(EdgeType type, double weight, int64_t age_ms) {
  const double tau_days = DecayTauDays(type);
  if (tau_days <= 0 || age_ms <= 0) return weight;
  const double age_days = static_cast<double>(age_ms) / 86400000.0;
  return ClipWeight(weight * std::exp(-age_days / tau_days));
}

}  // namespace llive::memory
