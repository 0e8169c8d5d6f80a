// Fitting a bridge for one stateful model end to end: the corpus through the model, the
// probes, the baselines, and the fit report.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "backends/stateful_backend.h"
#include "bridge/bridge_params.h"
#include "bridge/exemplar_corpus.h"
#include "bridge/probe_fit.h"
#include "bridge/state_features.h"

namespace llive::bridge {

// Called after each text fed: (texts done, texts in all).
using FitProgress = std::function<void(int64_t done, int64_t total)>;

// The layout of `spec` on `backend`'s states (resolved on an empty state). Errors of NewState,
// View and ResolveFeatureLayout.
absl::StatusOr<FeatureLayout> ResolveLayoutFor(backends::StatefulBackend& backend,
                                               const FeatureSpec& spec);

// Every exemplar's text as `backend`'s token ids. Errors of Tokenize, naming the exemplar id;
// InvalidArgument for a text that tokenizes to nothing.
absl::StatusOr<std::vector<std::vector<int32_t>>> TokenizeCorpus(
    const backends::StatefulBackend& backend, const std::vector<Exemplar>& corpus);

// Feeds each token sequence into a fresh state of `backend` and returns the raw features of
// the final state, one row per sequence. Errors of NewState, Feed, View and ExtractFeatures.
absl::StatusOr<DenseMatrix> CorpusStateFeatures(
    backends::StatefulBackend& backend, const std::vector<std::vector<int32_t>>& corpus_tokens,
    const FeatureLayout& layout, const FitProgress& progress = nullptr);

struct BridgeFitOptions {
  FeatureSpec features;
  ProbeOptions probes;
};

// One fit's per-factor reports under a name ("state", "shuffled labels", "random weights",
// "bag of words").
struct FitReportSection {
  std::string name;
  std::vector<FactorFitReport> reports;
};

struct BridgeFitReport {
  std::string backend;       // LLMBackend::Name()
  std::string architecture;  // ModelInfo::architecture
  int64_t feature_count = 0;
  int train_texts = 0;
  int held_out_texts = 0;
  int permutations = 0;
  FitReportSection state;                   // the probes themselves (with permutation p-values)
  std::vector<FitReportSection> baselines;  // random weights, bag of words (where given)
};

struct BridgeFitResult {
  BridgeParams params;
  BridgeFitReport report;
};

// Fits the bridge of `backend` on `corpus`. `random_twin`, when not null, is the same
// architecture with random weights: the same probe is fitted on its states as a baseline. The
// bag-of-words baseline is always fitted. Errors of the steps above and of FitProbes.
absl::StatusOr<BridgeFitResult> FitBridge(backends::StatefulBackend& backend,
                                          const std::vector<Exemplar>& corpus,
                                          const BridgeFitOptions& options,
                                          backends::StatefulBackend* random_twin = nullptr,
                                          const FitProgress& progress = nullptr);

// The mean held-out AUC across the factors on one slice of the held-out texts ("all", "en",
// "ja"), for the probes and for each baseline, with a permutation test of the mean: shuffle k
// of every factor together gives one shuffled mean (factors without a defined AUC on the slice
// are left out of every mean).
struct SliceSummary {
  std::string slice;
  double mean_auc = 0;
  double mean_shuffled_auc = 0;  // NaN without shuffles
  double p = 0;                  // (1 + #{shuffled mean >= mean}) / (1 + shuffles); NaN without
  std::vector<std::pair<std::string, double>> baselines;  // name, mean AUC
};
std::vector<SliceSummary> SummarizeBySlice(const BridgeFitReport& report);

// The report as Markdown (held-out AUC and R² per factor, overall and per language, the
// permutation test, the baselines' AUCs; then the per-language means with their test, and a
// plain sentence wherever a baseline is ahead of the probes) and as JSON text.
std::string FormatFitReport(const BridgeFitReport& report);
std::string FitReportJson(const BridgeFitReport& report);

}  // namespace llive::bridge
