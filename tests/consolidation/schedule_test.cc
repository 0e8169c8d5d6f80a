// Tests of consolidation schedule strings and due times.
#include "consolidation/schedule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace llive::consolidation {
namespace {

TEST(ScheduleTest, ParsesAndPrintsEachForm) {
  EXPECT_EQ(ParseSchedule("manual")->kind, Schedule::Kind::kManual);
  EXPECT_EQ(ParseSchedule("daily@02:30")->minute_of_day, 150);
  EXPECT_EQ(ParseSchedule("daily@02:30")->ToString(), "daily@02:30");
  EXPECT_EQ(ParseSchedule("every:90m")->interval, absl::Minutes(90));
  EXPECT_EQ(ParseSchedule("every:6h")->ToString(), "every:6h");
}

TEST(ScheduleTest, RefusesBadText) {
  for (const char* bad : {"", "nightly", "daily@24:00", "daily@2:30", "daily@02:60",
                          "every:", "every:10s", "every:-1h", "every:soon"}) {
    absl::StatusOr<Schedule> schedule = ParseSchedule(bad);
    ASSERT_FALSE(schedule.ok()) << bad;
    EXPECT_THAT(schedule.status().message(), ::testing::HasSubstr("daily@HH:MM")) << bad;
  }
}

TEST(ScheduleTest, NextDueTime) {
  absl::TimeZone utc = absl::UTCTimeZone();
  absl::Time noon = absl::FromCivil(absl::CivilSecond(2026, 3, 1, 12, 0, 0), utc);
  Schedule daily = *ParseSchedule("daily@02:30");
  EXPECT_EQ(*daily.NextAfter(noon, utc),
            absl::FromCivil(absl::CivilSecond(2026, 3, 2, 2, 30, 0), utc));
  absl::Time early = absl::FromCivil(absl::CivilSecond(2026, 3, 1, 1, 0, 0), utc);
  EXPECT_EQ(*daily.NextAfter(early, utc),
            absl::FromCivil(absl::CivilSecond(2026, 3, 1, 2, 30, 0), utc));
  EXPECT_EQ(*ParseSchedule("every:6h")->NextAfter(noon, utc), noon + absl::Hours(6));
  EXPECT_FALSE(ParseSchedule("manual")->NextAfter(noon, utc).has_value());
}

}  // namespace
}  // namespace llive::consolidation
