// End-to-end bridge fitting and the fit report.
#include "bridge/bridge_fit.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bridge/bag_of_words_baseline.h"
#include "nlohmann/json.hpp"

namespace llive::bridge {
namespace {

std::string Number(double value, int decimals = 3) {
  return std::isnan(value) ? "n/a" : absl::StrFormat("%.*f", decimals, value);
}

nlohmann::json QualityJson(const ProbeQuality& quality) {
  auto number = [](double value) {
    return std::isnan(value) ? nlohmann::json() : nlohmann::json(value);
  };
  return {{"auc", number(quality.auc)},
          {"r2", number(quality.r2)},
          {"present", quality.present},
          {"absent", quality.absent}};
}

nlohmann::json SectionJson(const FitReportSection& section) {
  nlohmann::json factors = nlohmann::json::object();
  for (int f = 0; f < kFactorCount && f < static_cast<int>(section.reports.size()); ++f) {
    const FactorFitReport& report = section.reports[f];
    factors[std::string(Factors()[f].id)] = {
        {"method", std::string(ProbeMethodName(report.method))},
        {"lambda", report.lambda},
        {"held_out", QualityJson(report.held_out)},
        {"held_out_en", QualityJson(report.held_out_en)},
        {"held_out_ja", QualityJson(report.held_out_ja)},
        {"permutation_mean_auc", std::isnan(report.permutation_mean_auc)
                                     ? nlohmann::json()
                                     : nlohmann::json(report.permutation_mean_auc)},
        {"permutation_p", std::isnan(report.permutation_p) ? nlohmann::json()
                                                           : nlohmann::json(report.permutation_p)}};
  }
  return {{"name", section.name}, {"factors", factors}};
}

}  // namespace

absl::StatusOr<FeatureLayout> ResolveLayoutFor(backends::StatefulBackend& backend,
                                               const FeatureSpec& spec) {
  absl::StatusOr<std::unique_ptr<backends::ModelState>> state = backend.NewState();
  if (!state.ok()) return state.status();
  absl::StatusOr<backends::StateView> view = backend.View(**state);
  if (!view.ok()) return view.status();
  return ResolveFeatureLayout(spec, *view);
}

absl::StatusOr<std::vector<std::vector<int32_t>>> TokenizeCorpus(
    const backends::StatefulBackend& backend, const std::vector<Exemplar>& corpus) {
  std::vector<std::vector<int32_t>> tokens;
  for (const Exemplar& exemplar : corpus) {
    absl::StatusOr<std::vector<int32_t>> ids = backend.Tokenize(exemplar.text);
    if (!ids.ok()) {
      return absl::Status(ids.status().code(),
                          absl::StrCat("exemplar \"", exemplar.id, "\": ", ids.status().message()));
    }
    if (ids->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("exemplar \"", exemplar.id, "\" tokenizes to nothing"));
    }
    tokens.push_back(*std::move(ids));
  }
  return tokens;
}

absl::StatusOr<DenseMatrix> CorpusStateFeatures(
    backends::StatefulBackend& backend, const std::vector<std::vector<int32_t>>& corpus_tokens,
    const FeatureLayout& layout, const FitProgress& progress) {
  DenseMatrix features(static_cast<int64_t>(corpus_tokens.size()), layout.size());
  std::vector<double> row;
  for (size_t i = 0; i < corpus_tokens.size(); ++i) {
    absl::StatusOr<std::unique_ptr<backends::ModelState>> state = backend.NewState();
    if (!state.ok()) return state.status();
    absl::StatusOr<std::vector<float>> logits = backend.Feed(**state, corpus_tokens[i]);
    if (!logits.ok()) return logits.status();
    absl::StatusOr<backends::StateView> view = backend.View(**state);
    if (!view.ok()) return view.status();
    if (absl::Status status = ExtractFeatures(layout, *view, row); !status.ok()) return status;
    std::copy(row.begin(), row.end(), features.row(static_cast<int64_t>(i)));
    if (progress) {
      progress(static_cast<int64_t>(i + 1), static_cast<int64_t>(corpus_tokens.size()));
    }
  }
  return features;
}

absl::StatusOr<BridgeFitResult> FitBridge(backends::StatefulBackend& backend,
                                          const std::vector<Exemplar>& corpus,
                                          const BridgeFitOptions& options,
                                          backends::StatefulBackend* random_twin,
                                          const FitProgress& progress) {
  absl::StatusOr<FeatureLayout> layout = ResolveLayoutFor(backend, options.features);
  if (!layout.ok()) return layout.status();
  absl::StatusOr<std::vector<std::vector<int32_t>>> tokens = TokenizeCorpus(backend, corpus);
  if (!tokens.ok()) return tokens.status();
  absl::StatusOr<DenseMatrix> features = CorpusStateFeatures(backend, *tokens, *layout, progress);
  if (!features.ok()) return features.status();
  absl::StatusOr<ProbeFit> fit = FitProbes(*features, corpus, options.probes);
  if (!fit.ok()) return fit.status();

  BridgeFitResult result;
  result.params.architecture = backend.Info().architecture;
  result.params.model_fingerprint = backend.Info().fingerprint;
  result.params.spec = options.features;
  result.params.layout = *layout;
  result.params.standardizer = fit->standardizer;
  result.params.probes = fit->probes;

  BridgeFitReport& report = result.report;
  report.backend = backend.Name();
  report.architecture = backend.Info().architecture;
  report.feature_count = layout->size();
  report.train_texts = fit->train_texts;
  report.held_out_texts = fit->held_out_texts;
  report.permutations = options.probes.permutations;
  report.state = {"state", fit->reports};

  // Baselines fit the same probe on other features; the permutation test belongs to the
  // state probe only.
  ProbeOptions baseline_options = options.probes;
  baseline_options.permutations = 0;
  if (random_twin != nullptr) {
    absl::StatusOr<FeatureLayout> twin_layout = ResolveLayoutFor(*random_twin, options.features);
    if (!twin_layout.ok()) return twin_layout.status();
    absl::StatusOr<DenseMatrix> twin_features =
        CorpusStateFeatures(*random_twin, *tokens, *twin_layout, progress);
    if (!twin_features.ok()) return twin_features.status();
    absl::StatusOr<ProbeFit> twin_fit = FitProbes(*twin_features, corpus, baseline_options);
    if (!twin_fit.ok()) return twin_fit.status();
    report.baselines.push_back({"random weights", twin_fit->reports});
  }
  absl::StatusOr<ProbeFit> words_fit =
      FitProbes(BagOfWordsFeatures(corpus), corpus, baseline_options);
  if (!words_fit.ok()) return words_fit.status();
  report.baselines.push_back({"bag of words", words_fit->reports});
  return result;
}

std::vector<SliceSummary> SummarizeBySlice(const BridgeFitReport& report) {
  const ProbeQuality FactorFitReport::*slices[] = {
      &FactorFitReport::held_out, &FactorFitReport::held_out_en, &FactorFitReport::held_out_ja};
  const std::vector<double> FactorFitReport::*shuffled[] = {&FactorFitReport::permutation_aucs,
                                                            &FactorFitReport::permutation_aucs_en,
                                                            &FactorFitReport::permutation_aucs_ja};
  const char* names[] = {"all", "en", "ja"};
  auto mean_of = [](const std::vector<double>& values) {
    double sum = 0;
    int count = 0;
    for (double v : values) {
      if (std::isnan(v)) continue;
      sum += v;
      ++count;
    }
    return count > 0 ? sum / count : std::numeric_limits<double>::quiet_NaN();
  };
  std::vector<SliceSummary> out;
  for (int s = 0; s < 3; ++s) {
    SliceSummary summary;
    summary.slice = names[s];
    std::vector<double> aucs;
    for (const FactorFitReport& r : report.state.reports) aucs.push_back((r.*slices[s]).auc);
    summary.mean_auc = mean_of(aucs);
    size_t shuffles = report.state.reports.empty() ? 0 : SIZE_MAX;
    for (const FactorFitReport& r : report.state.reports) {
      shuffles = std::min(shuffles, (r.*shuffled[s]).size());
    }
    int at_least = 0;
    std::vector<double> shuffled_means;
    for (size_t k = 0; k < shuffles; ++k) {
      std::vector<double> values;
      for (size_t f = 0; f < report.state.reports.size(); ++f) {
        // A factor counts only where its real AUC is defined on the slice.
        if (std::isnan(aucs[f])) continue;
        values.push_back((report.state.reports[f].*shuffled[s])[k]);
      }
      const double mean = mean_of(values);
      shuffled_means.push_back(mean);
      if (mean >= summary.mean_auc) ++at_least;
    }
    summary.mean_shuffled_auc = mean_of(shuffled_means);
    summary.p = shuffles > 0 ? (1.0 + at_least) / (1.0 + shuffles)
                             : std::numeric_limits<double>::quiet_NaN();
    for (const FitReportSection& baseline : report.baselines) {
      std::vector<double> values;
      for (const FactorFitReport& r : baseline.reports) values.push_back((r.*slices[s]).auc);
      summary.baselines.emplace_back(baseline.name, mean_of(values));
    }
    out.push_back(std::move(summary));
  }
  return out;
}

std::string FormatFitReport(const BridgeFitReport& report) {
  std::string out = absl::StrCat("Bridge fit: ", report.backend, " (", report.architecture, "), ",
                                 report.feature_count, " state features, ", report.train_texts,
                                 " training texts, ", report.held_out_texts,
                                 " held-out texts (split by pair)\n\n");
  absl::StrAppend(
      &out, "| factor | method | AUC | R² | AUC en | AUC ja | R² en | R² ja | shuffled AUC | p (",
      report.permutations, " shuffles) |");
  for (const FitReportSection& baseline : report.baselines) {
    absl::StrAppend(&out, " AUC ", baseline.name, " |");
  }
  absl::StrAppend(&out, "\n|---|---|---|---|---|---|---|---|---|---|");
  for (size_t b = 0; b < report.baselines.size(); ++b) absl::StrAppend(&out, "---|");
  absl::StrAppend(&out, "\n");
  for (int f = 0; f < kFactorCount && f < static_cast<int>(report.state.reports.size()); ++f) {
    const FactorFitReport& r = report.state.reports[f];
    absl::StrAppend(&out, "| ", Factors()[f].id, " | ", ProbeMethodName(r.method), " | ",
                    Number(r.held_out.auc), " | ", Number(r.held_out.r2), " | ",
                    Number(r.held_out_en.auc), " | ", Number(r.held_out_ja.auc), " | ",
                    Number(r.held_out_en.r2), " | ", Number(r.held_out_ja.r2), " | ",
                    Number(r.permutation_mean_auc), " | ", Number(r.permutation_p, 4), " |");
    for (const FitReportSection& baseline : report.baselines) {
      absl::StrAppend(&out, " ", Number(baseline.reports[f].held_out.auc), " |");
    }
    absl::StrAppend(&out, "\n");
  }
  const std::vector<SliceSummary> summaries = SummarizeBySlice(report);
  absl::StrAppend(&out, "\nMean held-out AUC across the factors, by language of the text:\n\n",
                  "| texts | probes | shuffled labels | p (mean, ", report.permutations,
                  " shuffles) |");
  for (const FitReportSection& baseline : report.baselines) {
    absl::StrAppend(&out, " ", baseline.name, " |");
  }
  absl::StrAppend(&out, "\n|---|---|---|---|");
  for (size_t b = 0; b < report.baselines.size(); ++b) absl::StrAppend(&out, "---|");
  absl::StrAppend(&out, "\n");
  std::string verdicts;
  for (const SliceSummary& s : summaries) {
    absl::StrAppend(&out, "| ", s.slice, " | ", Number(s.mean_auc), " | ",
                    Number(s.mean_shuffled_auc), " | ", Number(s.p, 4), " |");
    for (const auto& [name, auc] : s.baselines) {
      absl::StrAppend(&out, " ", Number(auc), " |");
      if (!std::isnan(auc) && !std::isnan(s.mean_auc) && auc >= s.mean_auc) {
        absl::StrAppend(&verdicts, "On ", s.slice == "all" ? "all" : s.slice,
                        " held-out texts the ", name,
                        " baseline is ahead of the state probes: ", Number(auc), " against ",
                        Number(s.mean_auc), " (by ", Number(auc - s.mean_auc), ").\n");
      }
    }
    absl::StrAppend(&out, "\n");
  }
  if (!verdicts.empty()) absl::StrAppend(&out, "\n", verdicts);
  return out;
}

std::string FitReportJson(const BridgeFitReport& report) {
  nlohmann::json json = {{"backend", report.backend},
                         {"architecture", report.architecture},
                         {"feature_count", report.feature_count},
                         {"train_texts", report.train_texts},
                         {"held_out_texts", report.held_out_texts},
                         {"permutations", report.permutations},
                         {"state", SectionJson(report.state)}};
  json["baselines"] = nlohmann::json::array();
  for (const FitReportSection& baseline : report.baselines) {
    json["baselines"].push_back(SectionJson(baseline));
  }
  auto number = [](double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); };
  json["by_language"] = nlohmann::json::array();
  for (const SliceSummary& s : SummarizeBySlice(report)) {
    nlohmann::json baselines = nlohmann::json::object();
    for (const auto& [name, auc] : s.baselines) baselines[name] = number(auc);
    json["by_language"].push_back({{"texts", s.slice},
                                   {"mean_auc", number(s.mean_auc)},
                                   {"mean_shuffled_auc", number(s.mean_shuffled_auc)},
                                   {"p", number(s.p)},
                                   {"baselines", baselines}});
  }
  return json.dump(2);
}

}  // namespace llive::bridge
