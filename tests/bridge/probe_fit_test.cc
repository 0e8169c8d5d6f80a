// Tests of probe fitting: the split, the metrics, recovery of planted factors, the fallback and
// the permutation test.
#include "bridge/probe_fit.h"

#include <cblas.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <set>

#include "absl/strings/str_cat.h"
#include "bridge/bridge_fit.h"

namespace llive::bridge {
namespace {

// ctest runs test cases as parallel processes; OpenBLAS threads on top of that oversubscribe
// the cores many times over (seen: 20x slower on 2 shared cores).
class SingleThreadedBlas : public ::testing::Environment {
 public:
  void SetUp() override { openblas_set_num_threads(1); }
};
const ::testing::Environment* const kSingleThreadedBlas =
    ::testing::AddGlobalTestEnvironment(new SingleThreadedBlas);

// 2 * pairs texts in minimal pairs: pair g is about factor g % 10, present on one side. Its
// features are a fixed random mix of the scores plus noise (signal_scale 0: noise only).
struct PlantedCorpus {
  std::vector<Exemplar> corpus;
  DenseMatrix features;
};

PlantedCorpus MakePlanted(int pairs, int dimension, double signal_scale, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::normal_distribution<double> normal(0.0, 1.0);
  DenseMatrix mix(kFactorCount, dimension);
  for (double& value : mix.values) value = normal(random);
  PlantedCorpus planted;
  planted.features = DenseMatrix(2 * pairs, dimension);
  for (int g = 0; g < pairs; ++g) {
    for (int side = 0; side < 2; ++side) {
      Exemplar exemplar;
      exemplar.id = absl::StrCat("pair", g, side == 0 ? "-p" : "-n");
      exemplar.group = absl::StrCat("pair", g);
      exemplar.lang = (g / 10) % 2 == 0 ? "en" : "ja";
      exemplar.text = exemplar.id;
      exemplar.scores.fill(0.05f);
      if (side == 0) exemplar.scores[g % kFactorCount] = 0.9f;
      const int64_t row = static_cast<int64_t>(planted.corpus.size());
      for (int j = 0; j < dimension; ++j) {
        double value = 0.5 * normal(random) + 3.0;  // an offset the standardiser removes
        for (int f = 0; f < kFactorCount; ++f)
          value += signal_scale * mix.at(f, j) * exemplar.scores[f];
        planted.features.at(row, j) = value;
      }
      planted.corpus.push_back(exemplar);
    }
  }
  return planted;
}

TEST(ProbeFitTest, AreaUnderRocAndRSquared) {
  EXPECT_DOUBLE_EQ(AreaUnderRoc({0.1, 0.4, 0.35, 0.8}, {false, false, true, true}), 0.75);
  EXPECT_DOUBLE_EQ(AreaUnderRoc({0.5, 0.5, 0.5, 0.5}, {false, true, false, true}), 0.5);
  EXPECT_TRUE(std::isnan(AreaUnderRoc({0.1, 0.2}, {true, true})));
  EXPECT_DOUBLE_EQ(CoefficientOfDetermination({1, 2, 3}, {1, 2, 3}), 1.0);
  EXPECT_DOUBLE_EQ(CoefficientOfDetermination({2, 2, 2}, {1, 2, 3}), 0.0);
  EXPECT_TRUE(std::isnan(CoefficientOfDetermination({1, 2}, {3, 3})));
}

TEST(ProbeFitTest, SplitNeverSeparatesAPair) {
  PlantedCorpus planted = MakePlanted(100, 4, 1.0, 1);
  ProbeOptions options;
  absl::StatusOr<GroupSplit> split = SplitByGroup(planted.corpus, options);
  ASSERT_TRUE(split.ok()) << split.status();
  EXPECT_EQ(split->held_out.size(), 40u);  // 20 of 100 groups
  EXPECT_EQ(split->train.size() + split->held_out.size(), 200u);
  std::set<std::string> held_groups;
  for (int64_t i : split->held_out) held_groups.insert(planted.corpus[i].group);
  for (int64_t i : split->train) {
    EXPECT_EQ(held_groups.count(planted.corpus[i].group), 0u) << planted.corpus[i].id;
    EXPECT_EQ(split->fold[i], split->fold[i % 2 == 0 ? i + 1 : i - 1]) << "pair split across folds";
  }
  // The same seed gives the same split; another seed another.
  EXPECT_EQ(SplitByGroup(planted.corpus, options)->held_out, split->held_out);
  options.seed = 7;
  EXPECT_NE(SplitByGroup(planted.corpus, options)->held_out, split->held_out);

  PlantedCorpus tiny = MakePlanted(4, 4, 1.0, 1);
  EXPECT_EQ(SplitByGroup(tiny.corpus, ProbeOptions{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ProbeFitTest, RecoversPlantedFactorsAndBeatsShuffledLabels) {
  PlantedCorpus planted = MakePlanted(300, 60, 1.0, 2);
  ProbeOptions options;
  options.permutations = 30;
  absl::StatusOr<ProbeFit> fit = FitProbes(planted.features, planted.corpus, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  ASSERT_EQ(fit->probes.size(), static_cast<size_t>(kFactorCount));
  for (int f = 0; f < kFactorCount; ++f) {
    const FactorFitReport& report = fit->reports[f];
    EXPECT_EQ(report.method, ProbeMethod::kRidge);
    EXPECT_GT(report.held_out.auc, 0.95) << Factors()[f].id;
    EXPECT_GT(report.held_out.r2, 0.5) << Factors()[f].id;
    EXPECT_GT(report.held_out_en.present + report.held_out_ja.present, 0);
    EXPECT_NEAR(report.permutation_p, 1.0 / 31.0, 1e-12) << Factors()[f].id;
    EXPECT_LT(report.permutation_mean_auc, 0.75);
    EXPECT_EQ(fit->probes[f].weights.size(), 60u);
  }
}

TEST(ProbeFitTest, NoiseGivesChanceLevel) {
  PlantedCorpus planted = MakePlanted(300, 60, 0.0, 3);
  ProbeOptions options;
  options.permutations = 20;
  absl::StatusOr<ProbeFit> fit = FitProbes(planted.features, planted.corpus, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  double mean_auc = 0, mean_p = 0;
  for (const FactorFitReport& report : fit->reports) {
    mean_auc += report.held_out.auc / kFactorCount;
    mean_p += report.permutation_p / kFactorCount;
  }
  EXPECT_NEAR(mean_auc, 0.5, 0.12);
  EXPECT_GT(mean_p, 0.2);
}

TEST(ProbeFitTest, DifferenceOfMeansWhenAClassIsScarce) {
  PlantedCorpus planted = MakePlanted(300, 60, 1.0, 4);
  ProbeOptions options;
  options.permutations = 10;
  options.min_per_class = 1000;  // no factor has that many: every probe falls back
  absl::StatusOr<ProbeFit> fit = FitProbes(planted.features, planted.corpus, options);
  ASSERT_TRUE(fit.ok()) << fit.status();
  for (int f = 0; f < kFactorCount; ++f) {
    EXPECT_EQ(fit->reports[f].method, ProbeMethod::kDifferenceOfMeans);
    EXPECT_GT(fit->reports[f].held_out.auc, 0.9) << Factors()[f].id;
    EXPECT_EQ(fit->probes[f].lambda, 0.0);
  }
}

TEST(ProbeFitTest, RejectsMismatchedSizes) {
  PlantedCorpus planted = MakePlanted(50, 8, 1.0, 5);
  planted.corpus.pop_back();
  EXPECT_EQ(FitProbes(planted.features, planted.corpus, ProbeOptions{}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace llive::bridge

namespace llive::bridge {
namespace {

// Per-language means and their paired permutation test, computed by hand for two factors
// (values with exact binary fractions, so equalities are exact).
TEST(SliceSummaryTest, MeansPairedShufflesAndBaselineVerdicts) {
  BridgeFitReport report;
  report.permutations = 3;
  FactorFitReport a, b;
  a.held_out.auc = 0.875;
  a.held_out_en.auc = 0.75;
  a.held_out_ja.auc = 1.0;
  a.permutation_aucs = {0.5, 0.9375, 0.375};
  a.permutation_aucs_en = {0.5, 0.625, 0.375};
  a.permutation_aucs_ja = {0.5, 0.625, 0.375};
  b.held_out.auc = 0.625;
  b.held_out_en.auc = std::numeric_limits<double>::quiet_NaN();  // one class only in en
  b.held_out_ja.auc = 0.5;
  b.permutation_aucs = {0.5, 0.875, 0.625};
  b.permutation_aucs_en = {0.125, 0.125, 0.125};  // left out: the real en AUC is undefined
  b.permutation_aucs_ja = {0.5, 0.875, 0.625};
  report.state.reports = {a, b};
  FitReportSection words{"bag of words", {a, b}};
  words.reports[0].held_out.auc = 0.8125;
  words.reports[1].held_out.auc = 0.6875;  // mean 0.75, equal to the probes': counts as ahead
  words.reports[0].held_out_ja.auc = 0.5;
  report.baselines = {words};

  const std::vector<SliceSummary> summary = SummarizeBySlice(report);
  ASSERT_EQ(summary.size(), 3u);
  EXPECT_EQ(summary[0].slice, "all");
  EXPECT_EQ(summary[0].mean_auc, 0.75);
  // Shuffled means 0.5, 0.90625, 0.5: one of three reaches 0.75.
  EXPECT_DOUBLE_EQ(summary[0].mean_shuffled_auc, (0.5 + 0.90625 + 0.5) / 3);
  EXPECT_EQ(summary[0].p, 2.0 / 4.0);
  EXPECT_EQ(summary[1].mean_auc, 0.75);  // en: factor b left out
  EXPECT_EQ(summary[1].mean_shuffled_auc, 0.5);
  EXPECT_EQ(summary[1].p, 1.0 / 4.0);
  EXPECT_EQ(summary[2].mean_auc, 0.75);  // ja: shuffled means 0.5, 0.75, 0.5
  EXPECT_EQ(summary[2].p, 2.0 / 4.0);
  ASSERT_EQ(summary[0].baselines.size(), 1u);
  EXPECT_EQ(summary[0].baselines[0].second, 0.75);
  EXPECT_EQ(summary[2].baselines[0].second, 0.5);
  const std::string text = FormatFitReport(report);
  EXPECT_THAT(text, ::testing::HasSubstr("| en | 0.750 | 0.500 | 0.2500 | 0.750 |"));
  EXPECT_THAT(text, ::testing::HasSubstr(
                        "On all held-out texts the bag of words baseline is ahead of the state "
                        "probes: 0.750 against 0.750 (by 0.000)."));
  EXPECT_THAT(text, ::testing::HasSubstr("On en held-out texts"));
  EXPECT_THAT(text, ::testing::Not(::testing::HasSubstr("On ja held-out texts")));
  EXPECT_THAT(FitReportJson(report), ::testing::HasSubstr("\"by_language\""));
}

}  // namespace
}  // namespace llive::bridge
