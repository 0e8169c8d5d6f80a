// When consolidation cycles run: a schedule a user writes as one short string.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace llive::consolidation {

// One of:
//   "manual"            only on demand (`llive consolidate`)
//   "daily@HH:MM"       once a day at that local time, e.g. "daily@02:30"
//   "every:DURATION"    at a fixed interval, e.g. "every:6h", "every:90m" (at least 1m)
struct Schedule {
  enum class Kind { kManual, kDaily, kInterval };
  Kind kind = Kind::kManual;
  int minute_of_day = 0;                           // kDaily: minutes after local midnight
  absl::Duration interval = absl::ZeroDuration();  // kInterval

  std::string ToString() const;

  // The first time strictly after `after` at which a cycle is due, or nullopt for a
  // manual schedule. `zone` is the local time zone for daily schedules.
  std::optional<absl::Time> NextAfter(absl::Time after, absl::TimeZone zone) const;
};

// Parses a schedule string. Returns InvalidArgument naming the text and the three
// accepted forms when it is none of them.
absl::StatusOr<Schedule> ParseSchedule(absl::string_view text);

}  // namespace llive::consolidation
