// The phase decision; the store applies it to every layer (MemoryStore::ApplyPhases).
#include "memory/phases.h"

namespace llive::memory {

Phase DecidePhase(const PhaseDays& days, int64_t last_access_ms, int64_t now_ms, double surprise,
                  PrivacyClass privacy) {
  constexpr int64_t kDayMs = 86400000;
  const int64_t age_ms = now_ms - last_access_ms;
  Phase phase = Phase::kHot;
  if (age_ms >= days.erased * kDayMs) {
    phase = Phase::kErased;
  } else if (age_ms >= days.archived * kDayMs) {
    phase = Phase::kArchived;
  } else if (age_ms >= days.cold * kDayMs) {
    phase = Phase::kCold;
  } else if (age_ms >= days.warm * kDayMs) {
    phase = Phase::kWarm;
  }
  if (surprise >= kHighSurprise && phase > Phase::kCold) phase = Phase::kCold;
  if (privacy == PrivacyClass::kPublic && phase == Phase::kErased) phase = Phase::kArchived;
  return phase;
}

}  // namespace llive::memory
