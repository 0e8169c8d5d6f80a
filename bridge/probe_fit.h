// Fitting the ten factor probes on state features, and measuring them on held-out texts.
//
// Per factor, a ridge regression of the factor score on the standardised features (solved in
// the dual, through an eigen-decomposition of the training kernel, so the feature count can
// exceed the text count), with the regularisation chosen by cross-validation over groups, and
// then a sigmoid (Platt) calibration fitted on the out-of-fold predictions:
// p = sigmoid(w·z + b). Where the training texts hold fewer than `min_per_class` present or
// absent examples of a factor, the direction is the difference of the class means instead.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bridge/dense_matrix.h"
#include "bridge/exemplar_corpus.h"
#include "bridge/factors.h"

namespace llive::bridge {

enum class ProbeMethod { kRidge, kDifferenceOfMeans };
absl::string_view ProbeMethodName(ProbeMethod method);  // "ridge", "difference_of_means"

struct ProbeOptions {
  // Ridge strengths tried, as multiples of the mean diagonal of the training kernel (so the
  // grid does not depend on the feature count).
  std::vector<double> lambda_grid = {1e-3, 1e-2, 0.1, 1.0, 10.0, 100.0, 1000.0};
  int cv_folds = 5;                // folds over training groups
  int min_per_class = 10;          // fewer present or absent training texts: difference of means
  double present_threshold = 0.5;  // a score >= this counts as present
  double held_out_fraction = 0.2;  // share of groups kept out of training
  int permutations = 100;          // shuffled-label refits per factor (0 skips the test)
  uint64_t seed = 20261128;        // the split, the folds and the shuffles
};

// z = (x - mean) / scale, per feature; scale is 1 where a feature does not vary in training.
struct Standardizer {
  std::vector<double> mean;
  std::vector<double> scale;
};

// One factor's probe in standardised feature space: logit = weights·z + bias.
struct FactorProbe {
  ProbeMethod method = ProbeMethod::kRidge;
  double lambda = 0;  // chosen ridge strength (multiple of the mean kernel diagonal); 0 otherwise
  std::vector<double> weights;
  double bias = 0;
};

// Held-out quality of one factor on one slice of the texts. NaN where undefined (AUC needs
// both classes; R² needs varying scores).
struct ProbeQuality {
  double auc = 0;
  double r2 = 0;
  int present = 0;
  int absent = 0;
};

struct FactorFitReport {
  ProbeMethod method = ProbeMethod::kRidge;
  double lambda = 0;
  ProbeQuality held_out;     // all held-out texts
  ProbeQuality held_out_en;  // held-out texts with lang "en"
  ProbeQuality held_out_ja;  // held-out texts with lang "ja"
  // Permutation test: held-out AUC of the same fit on shuffled training scores.
  double permutation_mean_auc = 0;
  double permutation_p = 0;  // (1 + #{shuffled AUC >= real AUC}) / (1 + permutations)
  // Each shuffle's held-out AUC, overall and per language (NaN where a slice lacks a class),
  // so that tests across factors (the mean AUC per language) can pair the shuffles.
  std::vector<double> permutation_aucs;
  std::vector<double> permutation_aucs_en;
  std::vector<double> permutation_aucs_ja;
};

struct ProbeFit {
  Standardizer standardizer;
  std::vector<FactorProbe> probes;  // kFactorCount, Factors() order
  std::vector<FactorFitReport> reports;
  int train_texts = 0;
  int held_out_texts = 0;
};

// The train/held-out split of `corpus` by group, and each training text's cross-validation
// fold: held_out_fraction of the groups (rounded) are held out, chosen by options.seed.
struct GroupSplit {
  std::vector<int64_t> train;     // exemplar indices, ascending
  std::vector<int64_t> held_out;  // exemplar indices, ascending
  std::vector<int> fold;          // per exemplar: its fold in [0, cv_folds), -1 when held out
};
// InvalidArgument when a side would get fewer than 2 groups (fewer than cv_folds in training).
absl::StatusOr<GroupSplit> SplitByGroup(const std::vector<Exemplar>& corpus,
                                        const ProbeOptions& options);

// Fits and evaluates the probes. `features` holds one row of raw state features per exemplar
// of `corpus` (same order). The split keeps every group whole and depends only on the groups
// and options.seed, so fits on different features of the same corpus share it. InvalidArgument
// when the sizes disagree or the split leaves fewer than 2 groups on a side; Internal when the
// features hold NaN or infinity.
absl::StatusOr<ProbeFit> FitProbes(const DenseMatrix& features, const std::vector<Exemplar>& corpus,
                                   const ProbeOptions& options);

// Area under the ROC curve of `predictions` against `labels` (ties count half); NaN when a
// class is empty.
double AreaUnderRoc(const std::vector<double>& predictions, const std::vector<bool>& labels);

// 1 - SSE/SST of `predictions` against `targets`; NaN when the targets do not vary.
double CoefficientOfDetermination(const std::vector<double>& predictions,
                                  const std::vector<double>& targets);

}  // namespace llive::bridge
