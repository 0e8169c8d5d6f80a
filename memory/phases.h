// Phase transitions of records by time since last access, with the guards of DESIGN.md.
#pragma once

#include <cstdint>

#include "memory/records.h"

namespace llive::memory {

// Days since last access after which a record enters each phase (memory.phase_days.*).
struct PhaseDays {
  int warm = 7;
  int cold = 30;
  int archived = 90;
  int erased = 180;
};

// A record at least this surprising is never archived (it stays cold): rare events are the
// ones worth keeping at hand.
inline constexpr double kHighSurprise = 0.7;

// The phase a record should be in at `now_ms`. Guards: a record with surprise >= kHighSurprise
// stops at cold; a public record stops at archived (never erased).
Phase DecidePhase(const PhaseDays& days, int64_t last_access_ms, int64_t now_ms, double surprise,
                  PrivacyClass privacy);

}  // namespace llive::memory
