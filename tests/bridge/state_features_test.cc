// Tests of the feature selection over StateViews.
#include "bridge/state_features.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/bridge/synthetic_state.h"

namespace llive::bridge {
namespace {

TEST(StateFeaturesTest, DefaultReadsEverySsmTensorWhole) {
  testing::SyntheticState state(3, 8, 4, 1);
  absl::StatusOr<FeatureLayout> layout = ResolveFeatureLayout(FeatureSpec{}, state.View());
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->segments.size(), 3u);
  EXPECT_EQ(layout->size(), 3 * 8 * 4);
  EXPECT_EQ(layout->segments[1].tensor, "layers.1.ssm");
  std::vector<double> features;
  ASSERT_TRUE(ExtractFeatures(*layout, state.View(), features).ok());
  EXPECT_EQ(features[32], state.storage[2][0]);  // first element of layers.1.ssm
}

TEST(StateFeaturesTest, LayersKindsAndCapThinByOneStride) {
  testing::SyntheticState state(4, 10, 5, 2);
  FeatureSpec spec;
  spec.layers = {1, 3};
  spec.kinds = {"ssm", "conv"};
  spec.max_features = 40;  // 2 * (50 + 30) = 160 selected -> every 4th
  absl::StatusOr<FeatureLayout> layout = ResolveFeatureLayout(spec, state.View());
  ASSERT_TRUE(layout.ok()) << layout.status();
  EXPECT_EQ(layout->size(), 40);
  for (const FeatureSegment& segment : layout->segments) {
    EXPECT_EQ(segment.step, 4);
    EXPECT_THAT(segment.tensor, ::testing::AnyOf(::testing::HasSubstr("layers.1."),
                                                 ::testing::HasSubstr("layers.3.")));
  }
  // The stride runs across tensor boundaries: ssm of layer 1 has 50 elements, so the conv
  // tensor that follows starts at offset 2 (global index 52).
  EXPECT_EQ(layout->segments[1].begin, 2);
}

TEST(StateFeaturesTest, AddWritesOnlySelectedElements) {
  testing::SyntheticState state(2, 6, 4, 3);
  FeatureSpec spec;
  spec.max_features = 12;  // 48 ssm values -> every 4th
  FeatureLayout layout = *ResolveFeatureLayout(spec, state.View());
  const auto before = state.storage;
  std::vector<double> delta(layout.size(), 0.5);
  ASSERT_TRUE(AddToFeatures(layout, delta, state.View()).ok());
  for (size_t t = 0; t < before.size(); ++t) {
    for (size_t i = 0; i < before[t].size(); ++i) {
      const bool selected = state.kinds[t] == "ssm" && i % 4 == 0;
      EXPECT_FLOAT_EQ(state.storage[t][i], before[t][i] + (selected ? 0.5f : 0.0f))
          << t << " " << i;
    }
  }
}

TEST(StateFeaturesTest, ErrorsNameTheProblem) {
  testing::SyntheticState state(2, 6, 4, 4);
  FeatureSpec spec;
  spec.kinds = {"wkv"};
  absl::StatusOr<FeatureLayout> none = ResolveFeatureLayout(spec, state.View());
  EXPECT_EQ(none.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(none.status().message(), ::testing::HasSubstr("layers.0.ssm (ssm)"));
  spec.kinds = {"ssm"};
  spec.max_features = 0;
  EXPECT_EQ(ResolveFeatureLayout(spec, state.View()).status().code(),
            absl::StatusCode::kInvalidArgument);

  FeatureLayout layout = *ResolveFeatureLayout(FeatureSpec{}, state.View());
  testing::SyntheticState smaller(2, 5, 4, 4);
  std::vector<double> features;
  EXPECT_EQ(ExtractFeatures(layout, smaller.View(), features).code(),
            absl::StatusCode::kFailedPrecondition);
  testing::SyntheticState fewer(1, 6, 4, 4);
  EXPECT_EQ(ExtractFeatures(layout, fewer.View(), features).code(),
            absl::StatusCode::kFailedPrecondition);
  std::vector<double> wrong_size(3, 0.0);
  EXPECT_EQ(AddToFeatures(layout, wrong_size, state.View()).code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llive::bridge
