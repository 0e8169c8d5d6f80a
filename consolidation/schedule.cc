// Parsing schedule strings and computing the next due time.
#include "consolidation/schedule.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace llive::consolidation {
namespace {

absl::Status BadSchedule(absl::string_view text, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid schedule \"", text, "\" (", why,
                   "); use \"manual\", \"daily@HH:MM\" or \"every:DURATION\" such as every:6h"));
}

}  // namespace

std::string Schedule::ToString() const {
  switch (kind) {
    case Kind::kManual:
      return "manual";
    case Kind::kDaily:
      return absl::StrFormat("daily@%02d:%02d", minute_of_day / 60, minute_of_day % 60);
    case Kind::kInterval:
      return absl::StrCat("every:", absl::FormatDuration(interval));
  }
  return "manual";
}

std::optional<absl::Time> Schedule::NextAfter(absl::Time after, absl::TimeZone zone) const {
  switch (kind) {
    case Kind::kManual:
      return std::nullopt;
    case Kind::kInterval:
      return after + interval;
    case Kind::kDaily: {
      absl::CivilDay day = absl::ToCivilDay(after, zone);
      for (int days_ahead = 0; days_ahead < 3; ++days_ahead) {
        absl::CivilDay date = day + days_ahead;
        absl::CivilMinute at(date.year(), date.month(), date.day(), minute_of_day / 60,
                             minute_of_day % 60);
        absl::Time t = absl::FromCivil(at, zone);
        if (t > after) return t;
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

absl::StatusOr<Schedule> ParseSchedule(absl::string_view text) {
  if (text == "manual") return Schedule{};
  constexpr absl::string_view kDaily = "daily@";
  constexpr absl::string_view kEvery = "every:";
  if (text.substr(0, kDaily.size()) == kDaily) {
    absl::string_view clock = text.substr(kDaily.size());
    int hours = -1, minutes = -1;
    if (clock.size() != 5 || clock[2] != ':' || !absl::SimpleAtoi(clock.substr(0, 2), &hours) ||
        !absl::SimpleAtoi(clock.substr(3, 2), &minutes) || hours < 0 || hours > 23 || minutes < 0 ||
        minutes > 59) {
      return BadSchedule(text, "the time must be HH:MM between 00:00 and 23:59");
    }
    Schedule schedule;
    schedule.kind = Schedule::Kind::kDaily;
    schedule.minute_of_day = hours * 60 + minutes;
    return schedule;
  }
  if (text.substr(0, kEvery.size()) == kEvery) {
    absl::Duration interval;
    if (!absl::ParseDuration(std::string(text.substr(kEvery.size())), &interval)) {
      return BadSchedule(text, "the duration must look like 30m, 6h or 1h30m");
    }
    if (interval < absl::Minutes(1)) {
      return BadSchedule(text, "the interval must be at least 1m");
    }
    Schedule schedule;
    schedule.kind = Schedule::Kind::kInterval;
    schedule.interval = interval;
    return schedule;
  }
  return BadSchedule(text, "unknown form");
}

}  // namespace llive::consolidation
