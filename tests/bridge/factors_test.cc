// Tests of the factor table.
#include "bridge/factors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

namespace llive::bridge {
namespace {

TEST(FactorsTest, TenUniqueFactorsInOrder) {
  std::set<absl::string_view> ids;
  for (int i = 0; i < kFactorCount; ++i) {
    const Factor& factor = Factors()[i];
    EXPECT_EQ(factor.index, i);
    EXPECT_FALSE(factor.name_ja.empty());
    EXPECT_FALSE(factor.description.empty());
    ids.insert(factor.id);
  }
  EXPECT_EQ(ids.size(), 10u);
  EXPECT_EQ(Factors()[0].id, "structure");
  EXPECT_EQ(Factors()[9].id, "grounding");
}

TEST(FactorsTest, FindById) {
  EXPECT_EQ(FindFactor("closed_loop")->index, 2);
  EXPECT_EQ(FindFactor("closed_loop")->name_ja, "閉ループ");
  absl::StatusOr<Factor> missing = FindFactor("creativity");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(missing.status().message(), ::testing::HasSubstr("multi_perspective"));
}

}  // namespace
}  // namespace llive::bridge
