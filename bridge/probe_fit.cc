// Ridge probes in the dual, cross-validated over groups, Platt-calibrated; held-out metrics
// and the permutation test.
#include "bridge/probe_fit.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>

#include "absl/strings/str_cat.h"

namespace llive::bridge {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A small deterministic generator (SplitMix64), so that splits and shuffles are the same on
// every platform and standard library.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  template <typename T>
  void Shuffle(std::vector<T>& items) {
    for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[Next() % i]);
  }

 private:
  uint64_t state_;
};

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// The kernel restricted to a set of training rows T, centred on T's feature mean, and its
// eigen-decomposition: ridge fits for any target and strength are then two products.
class CenteredKernel {
 public:
  static absl::StatusOr<CenteredKernel> Build(const DenseMatrix& kernel,
                                              std::vector<int64_t> rows) {
    CenteredKernel result;
    result.kernel_ = &kernel;
    result.rows_ = std::move(rows);
    const int64_t m = static_cast<int64_t>(result.rows_.size());
    result.row_mean_.assign(kernel.rows, 0.0);
    for (int64_t i = 0; i < kernel.rows; ++i) {
      double sum = 0;
      for (int64_t t : result.rows_) sum += kernel.at(i, t);
      result.row_mean_[i] = sum / m;
    }
    double grand = 0, diagonal = 0;
    for (int64_t t : result.rows_) {
      grand += result.row_mean_[t];
      diagonal += kernel.at(t, t);
    }
    result.grand_mean_ = grand / m;
    result.mean_diagonal_ = diagonal / m;
    DenseMatrix centered(m, m);
    for (int64_t a = 0; a < m; ++a) {
      for (int64_t b = 0; b < m; ++b) centered.at(a, b) = result.Centered(result.rows_[a], b);
    }
    absl::StatusOr<SymmetricEigen> eigen = DecomposeSymmetric(centered);
    if (!eigen.ok()) return eigen.status();
    result.eigen_ = *std::move(eigen);
    return result;
  }

  const std::vector<int64_t>& rows() const { return rows_; }
  double mean_diagonal() const { return mean_diagonal_; }

  // Dual coefficients of the ridge fit of centred targets `y_centered` (one per row of T).
  std::vector<double> Solve(const std::vector<double>& y_centered, double lambda) const {
    const int64_t m = static_cast<int64_t>(rows_.size());
    std::vector<double> projected(m, 0.0);
    for (int64_t a = 0; a < m; ++a) {
      const double* q = eigen_.vectors.row(a);
      for (int64_t k = 0; k < m; ++k) projected[k] += q[k] * y_centered[a];
    }
    for (int64_t k = 0; k < m; ++k) projected[k] /= std::max(eigen_.values[k], 0.0) + lambda;
    std::vector<double> alpha(m, 0.0);
    for (int64_t a = 0; a < m; ++a) {
      const double* q = eigen_.vectors.row(a);
      double sum = 0;
      for (int64_t k = 0; k < m; ++k) sum += q[k] * projected[k];
      alpha[a] = sum;
    }
    return alpha;
  }

  // The centred prediction (without the target mean) for any row i of the full kernel.
  double Predict(int64_t i, const std::vector<double>& alpha) const {
    double sum = 0;
    for (size_t b = 0; b < rows_.size(); ++b) sum += alpha[b] * Centered(i, b);
    return sum;
  }

 private:
  // Centred kernel value between full row i and the b-th row of T.
  double Centered(int64_t i, size_t b) const {
    const int64_t t = rows_[b];
    return kernel_->at(i, t) - row_mean_[i] - row_mean_[t] + grand_mean_;
  }

  const DenseMatrix* kernel_ = nullptr;
  std::vector<int64_t> rows_;
  std::vector<double> row_mean_;  // per full row: mean kernel value against T
  double grand_mean_ = 0;
  double mean_diagonal_ = 0;
  SymmetricEigen eigen_;
};

// Platt scaling: a, c minimising the cross-entropy of sigmoid(a s + c) against soft targets y,
// by Newton's method with step halving.
std::pair<double, double> FitPlatt(const std::vector<double>& s, const std::vector<double>& y) {
  double a = 1.0, c = 0.0;
  auto loss = [&](double a_try, double c_try) {
    double total = 0;
    for (size_t i = 0; i < s.size(); ++i) {
      const double z = a_try * s[i] + c_try;
      // log(1 + exp(z)) - y z, computed without overflow.
      total += (z > 0 ? z + std::log1p(std::exp(-z)) : std::log1p(std::exp(z))) - y[i] * z;
    }
    return total;
  };
  double current = loss(a, c);
  for (int iteration = 0; iteration < 100; ++iteration) {
    double ga = 0, gc = 0, haa = 1e-9, hac = 0, hcc = 1e-9;
    for (size_t i = 0; i < s.size(); ++i) {
      const double p = Sigmoid(a * s[i] + c);
      const double r = p - y[i];
      const double w = p * (1 - p);
      ga += r * s[i];
      gc += r;
      haa += w * s[i] * s[i];
      hac += w * s[i];
      hcc += w;
    }
    const double det = haa * hcc - hac * hac;
    if (!(std::abs(det) > 0)) break;
    double da = (hcc * ga - hac * gc) / det;
    double dc = (haa * gc - hac * ga) / det;
    double step = 1.0;
    bool improved = false;
    for (int halving = 0; halving < 30; ++halving) {
      const double trial = loss(a - step * da, c - step * dc);
      if (trial <= current) {
        a -= step * da;
        c -= step * dc;
        improved = current - trial > 1e-12 * (1 + std::abs(current));
        current = trial;
        break;
      }
      step /= 2;
    }
    if (!improved) break;
  }
  return {a, c};
}

ProbeQuality Quality(const std::vector<double>& predictions, const std::vector<double>& scores,
                     double threshold) {
  ProbeQuality quality;
  std::vector<bool> labels;
  for (double score : scores) {
    labels.push_back(score >= threshold);
    (score >= threshold ? quality.present : quality.absent)++;
  }
  quality.auc = AreaUnderRoc(predictions, labels);
  quality.r2 = CoefficientOfDetermination(predictions, scores);
  return quality;
}

}  // namespace

absl::string_view ProbeMethodName(ProbeMethod method) {
  return method == ProbeMethod::kRidge ? "ridge" : "difference_of_means";
}

double AreaUnderRoc(const std::vector<double>& predictions, const std::vector<bool>& labels) {
  std::vector<size_t> order(predictions.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return predictions[a] < predictions[b]; });
  double rank_sum = 0;
  int64_t positives = 0;
  for (size_t i = 0; i < order.size();) {
    size_t j = i;
    while (j < order.size() && predictions[order[j]] == predictions[order[i]]) ++j;
    const double mid_rank = (i + 1 + j) / 2.0;  // average of ranks i+1 .. j
    for (size_t k = i; k < j; ++k) {
      if (labels[order[k]]) {
        rank_sum += mid_rank;
        ++positives;
      }
    }
    i = j;
  }
  const int64_t negatives = static_cast<int64_t>(order.size()) - positives;
  if (positives == 0 || negatives == 0) return kNaN;
  return (rank_sum - positives * (positives + 1) / 2.0) /
         (static_cast<double>(positives) * negatives);
}

double CoefficientOfDetermination(const std::vector<double>& predictions,
                                  const std::vector<double>& targets) {
  if (targets.empty()) return kNaN;
  const double mean = std::accumulate(targets.begin(), targets.end(), 0.0) / targets.size();
  double sse = 0, sst = 0;
  for (size_t i = 0; i < targets.size(); ++i) {
    sse += (predictions[i] - targets[i]) * (predictions[i] - targets[i]);
    sst += (targets[i] - mean) * (targets[i] - mean);
  }
  return sst > 0 ? 1.0 - sse / sst : kNaN;
}

absl::StatusOr<GroupSplit> SplitByGroup(const std::vector<Exemplar>& corpus,
                                        const ProbeOptions& options) {
  std::map<std::string, int> group_index;
  std::vector<int> group_of(corpus.size());
  for (size_t i = 0; i < corpus.size(); ++i) {
    group_of[i] =
        group_index.emplace(corpus[i].group, static_cast<int>(group_index.size())).first->second;
  }
  const int groups = static_cast<int>(group_index.size());
  std::vector<int> group_order(groups);
  std::iota(group_order.begin(), group_order.end(), 0);
  SplitMix64 random(options.seed);
  random.Shuffle(group_order);
  const int held_out_groups = static_cast<int>(std::lround(options.held_out_fraction * groups));
  const int folds = std::max(options.cv_folds, 2);
  if (held_out_groups < 2 || groups - held_out_groups < folds) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the corpus has ", groups, " groups; a held-out fraction of ", options.held_out_fraction,
        " leaves too few on one side (need 2 held out and ", folds, " in training)"));
  }
  std::vector<int> role(groups);  // -1 held out, else the cross-validation fold
  for (int k = 0; k < groups; ++k) {
    role[group_order[k]] = k < held_out_groups ? -1 : (k - held_out_groups) % folds;
  }
  GroupSplit split;
  for (size_t i = 0; i < corpus.size(); ++i) {
    const int64_t index = static_cast<int64_t>(i);
    (role[group_of[i]] < 0 ? split.held_out : split.train).push_back(index);
    split.fold.push_back(role[group_of[i]]);
  }
  return split;
}

absl::StatusOr<ProbeFit> FitProbes(const DenseMatrix& features, const std::vector<Exemplar>& corpus,
                                   const ProbeOptions& options) {
  const int64_t n = features.rows;
  const int64_t d = features.cols;
  if (n != static_cast<int64_t>(corpus.size()) || d == 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "feature matrix is ", n, "x", d, " but the corpus has ", corpus.size(), " texts"));
  }
  absl::StatusOr<GroupSplit> split = SplitByGroup(corpus, options);
  if (!split.ok()) return split.status();
  const std::vector<int64_t>& train = split->train;
  const std::vector<int64_t>& test = split->held_out;
  const std::vector<int>& fold_of = split->fold;

  ProbeFit fit;
  fit.train_texts = static_cast<int>(train.size());
  fit.held_out_texts = static_cast<int>(test.size());

  // Standardise on the training texts.
  fit.standardizer.mean.assign(d, 0.0);
  fit.standardizer.scale.assign(d, 1.0);
  for (int64_t i : train) {
    for (int64_t j = 0; j < d; ++j) fit.standardizer.mean[j] += features.at(i, j);
  }
  for (double& value : fit.standardizer.mean) value /= train.size();
  std::vector<double> variance(d, 0.0);
  for (int64_t i : train) {
    for (int64_t j = 0; j < d; ++j) {
      const double centred = features.at(i, j) - fit.standardizer.mean[j];
      variance[j] += centred * centred;
    }
  }
  for (int64_t j = 0; j < d; ++j) {
    const double deviation = std::sqrt(variance[j] / train.size());
    if (!std::isfinite(deviation)) {
      return absl::InternalError(absl::StrCat("state feature ", j, " is not finite"));
    }
    if (deviation > 1e-12 * (1.0 + std::abs(fit.standardizer.mean[j]))) {
      fit.standardizer.scale[j] = deviation;
    }
  }
  DenseMatrix z(n, d);
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < d; ++j) {
      z.at(i, j) = (features.at(i, j) - fit.standardizer.mean[j]) / fit.standardizer.scale[j];
    }
  }
  const DenseMatrix kernel = Gram(z);

  std::vector<std::vector<double>> scores(kFactorCount, std::vector<double>(n));
  for (int64_t i = 0; i < n; ++i) {
    for (int f = 0; f < kFactorCount; ++f) scores[f][i] = corpus[i].scores[f];
  }
  auto present = [&](int f, int64_t i) { return scores[f][i] >= options.present_threshold; };

  // Cross-validation: out-of-fold predictions for every factor and strength.
  const size_t lambdas = options.lambda_grid.size();
  std::vector<std::vector<std::vector<double>>> out_of_fold(
      kFactorCount, std::vector<std::vector<double>>(lambdas, std::vector<double>(n, 0.0)));
  for (int fold = 0; fold < std::max(options.cv_folds, 2); ++fold) {
    std::vector<int64_t> fold_train, fold_valid;
    for (int64_t i : train) (fold_of[i] == fold ? fold_valid : fold_train).push_back(i);
    absl::StatusOr<CenteredKernel> fold_kernel = CenteredKernel::Build(kernel, fold_train);
    if (!fold_kernel.ok()) return fold_kernel.status();
    for (int f = 0; f < kFactorCount; ++f) {
      double mean = 0;
      for (int64_t i : fold_train) mean += scores[f][i];
      mean /= fold_train.size();
      std::vector<double> centred;
      for (int64_t i : fold_train) centred.push_back(scores[f][i] - mean);
      for (size_t l = 0; l < lambdas; ++l) {
        const std::vector<double> alpha =
            fold_kernel->Solve(centred, options.lambda_grid[l] * fold_kernel->mean_diagonal());
        for (int64_t i : fold_valid) out_of_fold[f][l][i] = mean + fold_kernel->Predict(i, alpha);
      }
    }
  }

  absl::StatusOr<CenteredKernel> train_kernel = CenteredKernel::Build(kernel, train);
  if (!train_kernel.ok()) return train_kernel.status();
  SplitMix64 shuffles(options.seed ^ 0x5eed5eedull);

  for (int f = 0; f < kFactorCount; ++f) {
    FactorProbe probe;
    FactorFitReport report;
    int train_present = 0;
    for (int64_t i : train) train_present += present(f, i);
    const int train_absent = static_cast<int>(train.size()) - train_present;
    probe.method = std::min(train_present, train_absent) < options.min_per_class
                       ? ProbeMethod::kDifferenceOfMeans
                       : ProbeMethod::kRidge;
    std::vector<double> direction(d, 0.0);  // raw score s(z) = direction·z + offset
    double offset = 0;
    std::vector<double> calibration_inputs, calibration_targets;
    double train_mean = 0;
    for (int64_t i : train) train_mean += scores[f][i];
    train_mean /= train.size();
    std::vector<double> alpha;
    if (probe.method == ProbeMethod::kRidge) {
      size_t best = 0;
      double best_sse = std::numeric_limits<double>::infinity();
      for (size_t l = 0; l < lambdas; ++l) {
        double sse = 0;
        for (int64_t i : train) sse += std::pow(out_of_fold[f][l][i] - scores[f][i], 2);
        if (sse < best_sse) best_sse = sse, best = l;
      }
      probe.lambda = options.lambda_grid[best];
      for (int64_t i : train) {
        calibration_inputs.push_back(out_of_fold[f][best][i]);
        calibration_targets.push_back(scores[f][i]);
      }
      std::vector<double> centred;
      for (int64_t i : train) centred.push_back(scores[f][i] - train_mean);
      alpha = train_kernel->Solve(centred, probe.lambda * train_kernel->mean_diagonal());
      // direction = Σ α_t (z_t - μ), μ the training mean of z (0 up to rounding).
      std::vector<double> mu(d, 0.0);
      for (int64_t t : train) {
        for (int64_t j = 0; j < d; ++j) mu[j] += z.at(t, j) / train.size();
      }
      for (size_t b = 0; b < train.size(); ++b) {
        const double* row = z.row(train[b]);
        for (int64_t j = 0; j < d; ++j) direction[j] += alpha[b] * (row[j] - mu[j]);
      }
      offset = train_mean;
      for (int64_t j = 0; j < d; ++j) offset -= direction[j] * mu[j];
    } else {
      std::vector<double> mean_present(d, 0.0), mean_absent(d, 0.0);
      for (int64_t i : train) {
        std::vector<double>& target = present(f, i) ? mean_present : mean_absent;
        for (int64_t j = 0; j < d; ++j) target[j] += z.at(i, j);
      }
      for (int64_t j = 0; j < d; ++j) {
        direction[j] = mean_present[j] / std::max(train_present, 1) -
                       mean_absent[j] / std::max(train_absent, 1);
      }
      for (int64_t i : train) {
        double s = 0;
        for (int64_t j = 0; j < d; ++j) s += direction[j] * z.at(i, j);
        calibration_inputs.push_back(s);
        calibration_targets.push_back(scores[f][i]);
      }
    }
    const auto [a, c] = FitPlatt(calibration_inputs, calibration_targets);
    probe.weights.resize(d);
    for (int64_t j = 0; j < d; ++j) probe.weights[j] = a * direction[j];
    probe.bias = a * offset + c;
    report.method = probe.method;
    report.lambda = probe.lambda;

    // Held-out quality, overall and per language.
    std::vector<double> raw_test, predicted, targets;
    std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> by_language;
    for (int64_t i : test) {
      double s = offset;
      for (int64_t j = 0; j < d; ++j) s += direction[j] * z.at(i, j);
      raw_test.push_back(s);
      predicted.push_back(Sigmoid(a * s + c));
      targets.push_back(scores[f][i]);
      by_language[corpus[i].lang].first.push_back(predicted.back());
      by_language[corpus[i].lang].second.push_back(scores[f][i]);
    }
    report.held_out = Quality(predicted, targets, options.present_threshold);
    for (auto& [language, slice] : by_language) {
      ProbeQuality quality = Quality(slice.first, slice.second, options.present_threshold);
      if (language == "en") report.held_out_en = quality;
      if (language == "ja") report.held_out_ja = quality;
    }

    // Permutation test on the raw scores (the calibration is monotone when it does not flip).
    std::vector<bool> test_labels;
    for (int64_t i : test) test_labels.push_back(present(f, i));
    const double real_auc = AreaUnderRoc(raw_test, test_labels);
    // The AUC of `values` over the held-out texts of one language.
    auto language_auc = [&](const std::vector<double>& values, absl::string_view language) {
      std::vector<double> slice;
      std::vector<bool> labels;
      for (size_t k = 0; k < test.size(); ++k) {
        if (corpus[test[k]].lang != language) continue;
        slice.push_back(values[k]);
        labels.push_back(test_labels[k]);
      }
      return AreaUnderRoc(slice, labels);
    };
    int at_least = 0;
    double auc_sum = 0;
    for (int p = 0; p < options.permutations; ++p) {
      std::vector<int64_t> shuffled = train;
      shuffles.Shuffle(shuffled);  // training row b takes the score of shuffled[b]
      std::vector<double> shuffled_scores;
      for (int64_t i : shuffled) shuffled_scores.push_back(scores[f][i]);
      std::vector<double> permuted_test;
      if (probe.method == ProbeMethod::kRidge) {
        double mean = 0;
        for (double s : shuffled_scores) mean += s / shuffled_scores.size();
        std::vector<double> centred;
        for (double s : shuffled_scores) centred.push_back(s - mean);
        const std::vector<double> permuted_alpha =
            train_kernel->Solve(centred, probe.lambda * train_kernel->mean_diagonal());
        for (int64_t i : test) permuted_test.push_back(train_kernel->Predict(i, permuted_alpha));
      } else {
        // direction·z_i = mean over present of K(i, t) - mean over absent of K(i, t).
        int count_present = 0;
        for (double s : shuffled_scores) count_present += s >= options.present_threshold;
        const int count_absent = static_cast<int>(shuffled_scores.size()) - count_present;
        for (int64_t i : test) {
          double s = 0;
          for (size_t b = 0; b < train.size(); ++b) {
            s += shuffled_scores[b] >= options.present_threshold
                     ? kernel.at(i, train[b]) / std::max(count_present, 1)
                     : -kernel.at(i, train[b]) / std::max(count_absent, 1);
          }
          permuted_test.push_back(s);
        }
      }
      const double auc = AreaUnderRoc(permuted_test, test_labels);
      auc_sum += auc;
      if (auc >= real_auc) ++at_least;
      report.permutation_aucs.push_back(auc);
      report.permutation_aucs_en.push_back(language_auc(permuted_test, "en"));
      report.permutation_aucs_ja.push_back(language_auc(permuted_test, "ja"));
    }
    report.permutation_mean_auc = options.permutations > 0 ? auc_sum / options.permutations : kNaN;
    report.permutation_p =
        options.permutations > 0 ? (1.0 + at_least) / (1.0 + options.permutations) : kNaN;
    fit.probes.push_back(std::move(probe));
    fit.reports.push_back(report);
  }
  return fit;
}

}  // namespace llive::bridge
