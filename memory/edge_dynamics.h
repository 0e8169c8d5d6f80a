// How concept-graph edge weights move: reinforcement, contradiction, surprise, decay, pruning.
#pragma once

#include <cstdint>

#include "memory/records.h"

namespace llive::memory {

// DESIGN.md's constants.
inline constexpr double kReadHitBoost = 0.02;         // a read through a linked_concept edge
inline constexpr double kContradictionPenalty = 0.1;  // evidence against the edge
inline constexpr double kSurpriseBoost = 0.15;        // times the surprise of the event
inline constexpr double kPruneBelow = 0.02;           // edges lighter than this are deleted
inline constexpr double kDormantBelow = 0.05;         // lighter than this: kept, not followed

// The decay time constant of an edge type in days: linked_concept 30, co_occurs_with 7,
// temporal_after 14; other types do not decay (0).
double DecayTauDays(EdgeType type);

// Weight clipped to [0, 1].
double ClipWeight(double weight);
// After a read hit (only linked_concept edges gain; others are unchanged).
double AfterReadHit(EdgeType type, double weight);
double AfterContradiction(double weight);
double AfterSurprise(double weight, double surprise);
// w * exp(-age/tau) for an edge last updated `age_ms` ago; unchanged when the type does not
// decay.
double AfterDecay(EdgeType type, double weight, int64_t age_ms);

}  // namespace llive::memory
